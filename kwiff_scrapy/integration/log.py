"""Log levels of the libraries kwiff_scrapy brings into a crawl.

Scrapy's own log is at ``DEBUG`` by default, and Scrapy keeps its noisy dependencies
quieter (``scrapy.utils.log.DEFAULT_LOGGING`` puts ``twisted`` at ``ERROR``, ``httpx``
at ``WARNING``...). ``websockets`` logs every frame, header and state change at
``DEBUG``: dozens of lines for one command. The add-on keeps it at ``INFO``, unlike
Scrapy only if nobody chose a level for it before the crawl started, e.g.
``logging.getLogger("websockets").setLevel(logging.DEBUG)`` in ``settings.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType

#: Loggers of dependencies, and the level each is kept at unless one was set for it.
QUIET_LOGGERS: Mapping[str, int] = MappingProxyType({"websockets": logging.INFO})


def quiet_dependency_loggers(levels: Mapping[str, int] = QUIET_LOGGERS) -> None:
    """Give each logger of *levels* its level, unless it has a level already.

    Only the named logger is touched: a level set for one of its children
    (``websockets.client``) applies to that child as usual.
    """
    for name, level in levels.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
