"""``ADDONS = {"kwiff_scrapy.Addon": 300}`` wires the Kwiff handler into any Scrapy project."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .http import SCHEME

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

HANDLER_PATH = "kwiff_scrapy.integration.handler.KwiffDownloadHandler"


class Addon:
    """Registers the ``kwiff://`` download handler at ``addon`` priority.

    A handler the project already set for the scheme is kept; nothing else changes.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        handlers = settings["DOWNLOAD_HANDLERS"]
        if handlers is None or isinstance(handlers, dict):
            settings.set("DOWNLOAD_HANDLERS", {**(handlers or {}), SCHEME: HANDLER_PATH}, "addon")
        else:
            handlers.set(SCHEME, HANDLER_PATH, "addon")
