"""Scrapy plugin for Kwiff's real-time (Socket.IO / Engine.IO 3) API.

The package is layered; each entry below depends only on those listed before it,
and entries sharing a line are independent of each other (``tests/test_layers.py``
checks every import, ``TYPE_CHECKING`` ones included):

- ``defaults.py``: every default value (imports nothing).
- ``protocol/``: the sans-I/O codec (Engine.IO 3, Socket.IO revision 4, client state).
- ``model/``: items, the answer envelope, tolerant parsing of answers into items, the
  watch's comparison, the sport registry.
- ``simulator/``: the offline Kwiff impostor (only tests and the ``simulator``
  endpoint, which the connection layer starts in-process, run it).
- ``connection/``: sessions over ``websockets``, pools, the connector, proxies, errors.
- ``integration/``: Scrapy's side: download handler, requests and responses, add-on,
  settings, signals, stats; ``client.py``: the asyncio front end, without Scrapy.
- ``distributed/``: several workers through Redis; ``history/``: the odds history.
- ``spiders/``, ``pipelines/``: what a Scrapy project uses.
- ``commands/``: the ``scrapy kwiff`` command.
- this package's names, and ``settings.py`` (the Scrapy project's settings).
"""

import importlib
import sys

from .client import KwiffClient
from .integration.addon import Addon
from .integration.http import KwiffRequest, KwiffResponse

__all__ = ["Addon", "KwiffClient", "KwiffRequest", "KwiffResponse"]
__version__ = "0.1.0"

#: Modules that lived at the package root before the layers had folders. Their old
#: names (``kwiff_scrapy.items``, ``kwiff_scrapy.handler``...) keep importing.
_MOVED_MODULES = {
    "addon": "integration.addon",
    "config": "integration.config",
    "endpoint": "connection.endpoint",
    "errors": "connection.errors",
    "handler": "integration.handler",
    "http": "integration.http",
    "items": "model.items",
    "parsing": "model.parsing",
    "pool": "connection.pool",
    "proxy": "connection.proxy",
    "session": "connection.session",
    "signals": "integration.signals",
    "sports": "model.sports",
}
for _old, _new in _MOVED_MODULES.items():
    sys.modules[f"{__name__}.{_old}"] = importlib.import_module(f"{__name__}.{_new}")
