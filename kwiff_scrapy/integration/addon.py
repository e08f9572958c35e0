"""``ADDONS = {"kwiff_scrapy.Addon": 300}`` wires the Kwiff handler into any Scrapy project."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .http import SCHEME
from .log import quiet_dependency_loggers
from .middleware import ORDER as RESPONSE_MIDDLEWARE_ORDER
from .middleware import KwiffResponseMiddleware

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

HANDLER_PATH = "kwiff_scrapy.integration.handler.KwiffDownloadHandler"


class Addon:
    """Registers the ``kwiff://`` download handler at ``addon`` priority.

    It also enables :class:`~kwiff_scrapy.integration.middleware.KwiffResponseMiddleware`
    (answers replayed from Scrapy's HTTP cache are ``KwiffResponse`` objects too) and
    keeps the ``websockets`` loggers at ``INFO`` (see :mod:`kwiff_scrapy.integration.log`).
    What the project already set is kept: its own handler for the scheme, the
    middleware at another order or disabled with ``None``, a level for ``websockets``.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        handlers = settings["DOWNLOAD_HANDLERS"]
        if handlers is None or isinstance(handlers, dict):
            settings.set("DOWNLOAD_HANDLERS", {**(handlers or {}), SCHEME: HANDLER_PATH}, "addon")
        else:
            handlers.set(SCHEME, HANDLER_PATH, "addon")
        settings.setdefault_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", KwiffResponseMiddleware, RESPONSE_MIDDLEWARE_ORDER
        )
        quiet_dependency_loggers()
