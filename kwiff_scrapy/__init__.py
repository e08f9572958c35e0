"""Scrapy plugin for Kwiff's real-time (Socket.IO / Engine.IO 3) API.

The package is layered; each entry below depends only on those listed before it,
and entries sharing a line are independent of each other (``tests/test_layers.py``
checks every import, ``TYPE_CHECKING`` ones included):

- ``defaults.py``: every default value (imports nothing); ``websockets_internals.py``:
  all this package takes from websockets' undocumented internals (imports nothing of it).
- ``protocol/``: the sans-I/O codec (Engine.IO 3, Socket.IO revision 4, client state).
- ``model/``: items, the answer envelope, tolerant parsing of answers into items, the
  watch's comparison, the sport registry.
- ``simulator/``: the offline Kwiff impostor (only tests and the ``simulator``
  endpoint, which the connection layer starts in-process, run it).
- ``connection/``: sessions over ``websockets``, pools, the connector, proxies, errors.
- ``integration/``: Scrapy's side: download handler, requests and responses, add-on,
  settings, signals, stats; ``client.py``: the asyncio front end, without Scrapy.
- ``distributed/``: several workers through Redis; ``history/``: the odds history.
- ``spiders/``, ``pipelines/``: what a Scrapy project uses; ``dashboard/``: the odds
  history in a browser (``scrapy kwiff dashboard``); ``monitoring/``: metrics for
  Prometheus.
- ``commands/``: the ``scrapy kwiff`` command and the project's ``scrapy crawl``;
  ``project.py``: the check that a clone reads its own settings file.
- this package's names, and ``settings.py`` (the Scrapy project's settings).
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
