"""``ADDONS = {"kwiff_scrapy.Addon": 300}`` wires the Kwiff handler into any Scrapy project."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.utils.misc import load_object

from .. import defaults
from .http import SCHEME
from .log import quiet_dependency_loggers

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

HANDLER_PATH = "kwiff_scrapy.integration.handler.KwiffDownloadHandler"
ANSWERS_MIDDLEWARE_PATH = "kwiff_scrapy.integration.outcome.KwiffAnswersMiddleware"
#: The exporter of CSV feeds: times as a spreadsheet reads them.
CSV_EXPORTER_PATH = "kwiff_scrapy.integration.feeds.KwiffCsvItemExporter"
#: Loaded only when alerts are on (``pipelines/`` is a layer below this one).
ALERTS_PIPELINE_PATH = "kwiff_scrapy.pipelines.alerts.KwiffAlertsPipeline"
#: Loaded only when the odds history is on.
HISTORY_PIPELINE_PATH = "kwiff_scrapy.pipelines.history.KwiffHistoryPipeline"


class Addon:
    """Registers the ``kwiff://`` download handler at ``addon`` priority.

    It enables :class:`~kwiff_scrapy.integration.outcome.KwiffAnswersMiddleware`
    (one ERROR line, and the ``kwiff/no_answer`` stat, when no command was answered).
    It also keeps the ``websockets`` loggers at ``INFO`` (see
    :mod:`kwiff_scrapy.integration.log`). What the project already set is kept: its own
    handler for the scheme, a level for ``websockets``.

    When ``KWIFF_ALERT_WEBHOOK``, ``KWIFF_ALERT_LOG`` or ``KWIFF_ALERT_ROUTES`` is set, it
    enables the alerts
    pipeline (:mod:`kwiff_scrapy.pipelines.alerts`) in ``ITEM_PIPELINES``, unless the
    project lists it already (at another order, or disabled with ``None``). Likewise,
    when ``KWIFF_HISTORY_URI`` is set, the odds history pipeline
    (:mod:`kwiff_scrapy.pipelines.history`).

    CSV feeds are written by :class:`~kwiff_scrapy.integration.feeds.KwiffCsvItemExporter`
    (times as ``2026-12-08 17:45:00`` UTC), unless the project has its own for ``csv``.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        handlers = settings["DOWNLOAD_HANDLERS"]
        if handlers is None or isinstance(handlers, dict):
            settings.set("DOWNLOAD_HANDLERS", {**(handlers or {}), SCHEME: HANDLER_PATH}, "addon")
        else:
            handlers.set(SCHEME, HANDLER_PATH, "addon")
        settings.setdefault_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES",
            load_object(ANSWERS_MIDDLEWARE_PATH),
            defaults.ANSWERS_MIDDLEWARE_ORDER,
        )
        _set_in_dict_setting(settings, "FEED_EXPORTERS", "csv", CSV_EXPORTER_PATH)
        if _alerts_requested(settings):
            settings.setdefault_in_component_priority_dict(
                "ITEM_PIPELINES", load_object(ALERTS_PIPELINE_PATH), defaults.ALERT_PIPELINE_ORDER
            )
        if _is_set(settings.get("KWIFF_HISTORY_URI")):
            settings.setdefault_in_component_priority_dict(
                "ITEM_PIPELINES",
                load_object(HISTORY_PIPELINE_PATH),
                defaults.HISTORY_PIPELINE_ORDER,
            )
        quiet_dependency_loggers()


def _set_in_dict_setting(settings: BaseSettings, name: str, key: str, value: str) -> None:
    """*key* of the dict setting *name* at ``addon`` priority: a project's own key wins."""
    current = settings[name]
    if current is None or isinstance(current, dict):
        if key not in (current or {}):
            settings.set(name, {**(current or {}), key: value}, "addon")
    else:
        current.set(key, value, "addon")


def _alerts_requested(settings: BaseSettings) -> bool:
    """A webhook, ``KWIFF_ALERT_LOG`` or routes are set to something. The pipeline itself
    checks the values (and disables itself for ``KWIFF_ALERT_LOG = False`` without a
    webhook or a route)."""
    names = ("KWIFF_ALERT_WEBHOOK", "KWIFF_ALERT_LOG", "KWIFF_ALERT_ROUTES")
    return any(_is_set(settings.get(name)) for name in names)


def _is_set(value: Any) -> bool:
    return value is not None and value is not False and not (isinstance(value, str) and not value)
