"""Scrapy plugin for Kwiff's real-time (Socket.IO / Engine.IO 3) API.

The package is layered; each folder is one layer, each depending only on those
listed before it:

- ``protocol/``: the sans-I/O codec (Engine.IO 3, Socket.IO revision 4, client state).
- ``model/``: items, tolerant parsing of answers into items, the sport registry.
- ``connection/``: sessions over ``websockets``, pools, the connector, proxies, errors.
- ``integration/``: Scrapy's side: download handler, requests and responses, add-on,
  settings, signals, stats.
- ``spiders/``, ``pipelines/``, ``commands/``: what a Scrapy project uses.
- ``simulator/``: the offline Kwiff impostor (apart: only tests and ``simulator``
  endpoints start it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import KwiffClient
    from .integration.addon import Addon
    from .integration.http import KwiffRequest, KwiffResponse

__all__ = ["Addon", "KwiffClient", "KwiffRequest", "KwiffResponse"]
__version__ = "0.1.0"

#: Where each public name is defined. They are imported on first use, so that importing
#: one layer (the simulator, the protocol codec) does not import Scrapy and the client.
_PUBLIC_NAMES = {
    "Addon": ".integration.addon",
    "KwiffClient": ".client",
    "KwiffRequest": ".integration.http",
    "KwiffResponse": ".integration.http",
}


def __getattr__(name: str) -> Any:
    module = _PUBLIC_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
