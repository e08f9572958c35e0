"""``ADDONS = {"kwiff_scrapy.Addon": 300}`` wires the Kwiff handler into any Scrapy project."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.misc import load_object

from .. import defaults
from .http import SCHEME
from .log import quiet_dependency_loggers
from .setting_names import EndpointTypoError, check_setting_names
from .startup import report_start_error

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

HANDLER_PATH = "kwiff_scrapy.integration.handler.KwiffDownloadHandler"
ANSWERS_MIDDLEWARE_PATH = "kwiff_scrapy.integration.outcome.KwiffAnswersMiddleware"
#: The exporter of CSV feeds: times as a spreadsheet reads them.
CSV_EXPORTER_PATH = "kwiff_scrapy.integration.feeds.KwiffCsvItemExporter"
#: Loaded only when alerts are on (``pipelines/`` is a layer below this one).
ALERTS_PIPELINE_PATH = "kwiff_scrapy.pipelines.alerts.KwiffAlertsPipeline"
#: Loaded only when the odds history is on.
HISTORY_PIPELINE_PATH = "kwiff_scrapy.pipelines.history.KwiffHistoryPipeline"
#: Loaded only when ``KWIFF_METRICS_PORT`` is set (the ``metrics`` extra).
METRICS_EXTENSION_PATH = "kwiff_scrapy.monitoring.metrics.KwiffMetrics"
#: Scrapy's own extension that logs stats every ``LOGSTATS_INTERVAL``.
SCRAPY_PERIODIC_LOG_PATH = "scrapy.extensions.periodic_log.PeriodicLog"
#: The same on one line, which the add-on enables for the watch.
PERIODIC_LOG_PATH = "kwiff_scrapy.monitoring.periodic_log.KwiffPeriodicLog"
#: Scrapy's "Crawled 52 pages (at 30 pages/min), scraped ..." line every interval: the
#: watch's periodic block replaces it (its items are in the block, its pages mean nothing).
LOGSTATS_PATH = "scrapy.extensions.logstats.LogStats"
#: What a watch's periodic log shows (``PERIODIC_LOG_DELTA``): each key's change over the
#: last interval, for the keys containing one of these (Scrapy matches substrings). The
#: changes are the items (each change, event change and signal is one); the block is
#: short on purpose (a watch runs for days): the rest is in the final stats and metrics.
PERIODIC_LOG_DELTA = {
    "include": [
        "kwiff/watch/polls",
        "kwiff/watch/failed_polls",
        "kwiff/watch/signals/",
        "item_scraped_count",
        # Warnings, errors and critical messages logged. A key spelling out a level would
        # put the word ERROR in the log's "Overridden settings" line of every watch, which
        # log watchers grep for; the INFO count would grow with the block itself.
        "log_count/WARN",
        "log_count/ERR",
        "log_count/CRIT",
    ]
}


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

    When ``KWIFF_METRICS_PORT`` is set, it enables the Prometheus endpoint
    (:mod:`kwiff_scrapy.monitoring.metrics`). When ``KWIFF_PERIODIC_LOG`` is true (the
    watch spiders set it), it enables Scrapy's ``PeriodicLog`` on one line
    (:class:`~kwiff_scrapy.monitoring.periodic_log.KwiffPeriodicLog`) with the watch's
    main stats (:data:`PERIODIC_LOG_DELTA`) every ``LOGSTATS_INTERVAL`` (60 s), in place
    of ``LogStats``' line; see :func:`_enable_periodic_log` for what the project keeps.

    It warns of each ``KWIFF_*`` setting kwiff_scrapy does not know, and stops the crawl
    when one looks like a misspelt endpoint of a crawl bound for the live service
    (:mod:`kwiff_scrapy.integration.setting_names`).
    """

    def __init__(self, crawler: Crawler | None = None) -> None:
        self._crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Addon:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        if self._crawler is not None:
            try:
                check_setting_names(self._crawler, settings)
            except EndpointTypoError as exc:
                report_start_error(__name__, exc)
                raise
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
        if _is_set(settings.get("KWIFF_METRICS_PORT")):
            settings.setdefault_in_component_priority_dict("EXTENSIONS", _metrics_extension(), 0)
        if settings.getbool("KWIFF_PERIODIC_LOG"):
            _enable_periodic_log(settings)
        quiet_dependency_loggers()


def _metrics_extension() -> Any:
    try:
        return load_object(METRICS_EXTENSION_PATH)
    except ImportError as exc:
        error = ImportError(
            f"KWIFF_METRICS_PORT is set and the metrics need prometheus-client ({exc}): "
            "pip install 'kwiff-scrapy[metrics]'"
        )
        report_start_error(__name__, error)
        raise error from None


def _enable_periodic_log(settings: BaseSettings) -> None:
    """The watch's periodic block, and what the project keeps of its own.

    - ``EXTENSIONS`` naming Scrapy's ``PeriodicLog`` (or ours), ``None`` included: that
      entry stands, and ours is not added;
    - any ``PERIODIC_LOG_*`` setting of its own: the add-on configures nothing (Scrapy's
      ``LogStats`` line stays), it only enables the extension;
    - its own ``LOGSTATS_INTERVAL``, and an ``EXTENSIONS`` entry for ``LogStats``.
    """
    periodic_logs = {load_object(SCRAPY_PERIODIC_LOG_PATH), load_object(PERIODIC_LOG_PATH)}
    named = _entries(settings, "EXTENSIONS", periodic_logs)
    if not named:
        settings.setdefault_in_component_priority_dict(
            "EXTENSIONS", load_object(PERIODIC_LOG_PATH), 0
        )
    own = ("PERIODIC_LOG_DELTA", "PERIODIC_LOG_STATS", "PERIODIC_LOG_TIMING_ENABLED")
    if any(_configured(settings, name) for name in own):
        return
    settings.set("PERIODIC_LOG_DELTA", PERIODIC_LOG_DELTA, "addon")
    if not _configured(settings, "LOGSTATS_INTERVAL"):
        settings.set("LOGSTATS_INTERVAL", defaults.PERIODIC_LOG_INTERVAL, "addon")
    if all(order is not None for order in named):
        settings.setdefault_in_component_priority_dict(
            "EXTENSIONS", load_object(LOGSTATS_PATH), None
        )


def _entries(settings: BaseSettings, name: str, components: set[Any]) -> list[Any]:
    """The orders the component priority dict *name* gives any of *components*."""
    return [
        order for key, order in settings.getdict(name).items() if load_object(key) in components
    ]


def _configured(settings: BaseSettings, name: str) -> bool:
    """Whether *name* was set above Scrapy's defaults (by the project, a spider, -s)."""
    priority = settings.getpriority(name)
    return priority is not None and priority > SETTINGS_PRIORITIES["default"]


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
