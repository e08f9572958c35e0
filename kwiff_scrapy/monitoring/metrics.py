"""The crawl's numbers for Prometheus: ``KWIFF_METRICS_PORT`` (the ``metrics`` extra).

:class:`KwiffMetrics` is a Scrapy extension (the add-on enables it when the port is
set). Each crawler gets a registry of its own with two collectors:

- :class:`StatsMetrics` reads the crawl's stats collector at each scrape and turns every
  ``kwiff/*`` key and Scrapy's main stats into counters and gauges
  (:mod:`.names` says which), plus ``kwiff_sessions_open`` and ``scrapy_uptime_seconds``;
- a histogram of command round trips (``kwiff_command_seconds``, by command name),
  observed on each answer.

Every metric has the labels ``spider`` and ``worker`` (``KWIFF_WORKER_ID``, or the
worker id a shared crawl uses). prometheus-client serves ``/metrics`` from a thread of
its own on ``KWIFF_METRICS_HOST`` (127.0.0.1 unless told otherwise).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from scrapy import signals
from scrapy.exceptions import NotConfigured

from .. import defaults
from ..distributed.config import DistributedSettings
from ..integration import stats
from ..integration.http import SCHEME, message_of
from ..integration.startup import report_start_error
from . import names
from .config import MetricsSettings

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterator
    from wsgiref.simple_server import WSGIServer

    from prometheus_client.metrics_core import Metric
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

_Families = dict[str, tuple[names.Family, CounterMetricFamily | GaugeMetricFamily]]


class StatsMetrics(Collector):
    """The stats of one crawl as Prometheus metrics, read when scraped."""

    def __init__(self, collector: StatsCollector, spider: str, worker: str) -> None:
        self._stats = collector
        self._labels = [spider, worker]

    def collect(self) -> Iterator[Metric]:
        # A copy: the crawl goes on changing its stats while this thread reads them.
        values: dict[str, Any] = {
            **dict.fromkeys(names.ZERO_KEYS, 0),
            **dict(self._stats.get_stats()),
        }
        families: _Families = {}
        for family in (*names.TAIL_FAMILIES.values(), *names.SCRAPY_METRICS.values()):
            self._family(families, family)
        for key, value in sorted(values.items()):
            if not isinstance(value, int | float):
                continue
            sample = names.sample_of(key)
            if sample is not None:
                self._add(families, sample, float(value))
        opened = values.get(stats.CONNECTIONS_OPENED, 0)
        closed = values.get(stats.CONNECTIONS_CLOSED, 0)
        self._add(families, names.Sample(names.SESSIONS_OPEN), float(opened - closed))
        started = values.get("start_time")
        if isinstance(started, datetime):
            uptime = (datetime.now(UTC) - started).total_seconds()
            self._add(families, names.Sample(names.UPTIME), uptime)
        for _, metric in families.values():
            yield metric

    @staticmethod
    def _family(
        families: _Families, family: names.Family
    ) -> tuple[names.Family, CounterMetricFamily | GaugeMetricFamily]:
        found = families.get(family.name)
        if found is None:
            labels = [*names.COMMON_LABELS, *([family.label] if family.label else [])]
            kind = CounterMetricFamily if family.kind == "counter" else GaugeMetricFamily
            found = families[family.name] = (family, kind(family.name, family.help, labels=labels))
        return found

    def _add(self, families: _Families, sample: names.Sample, value: float) -> None:
        family = sample.family
        found = self._family(families, family)
        if found[0].label != family.label:  # a key that would mix two label sets: left out
            return
        extra = [sample.label_value] if family.label and sample.label_value is not None else []
        found[1].add_metric([*self._labels, *extra], value)


class KwiffMetrics:
    """Serves the crawl's metrics at ``http://KWIFF_METRICS_HOST:KWIFF_METRICS_PORT/metrics``."""

    def __init__(self, crawler: Crawler, config: MetricsSettings) -> None:
        assert crawler.stats is not None
        assert config.port is not None
        self.config = config
        self.spider = crawler.spidercls.name
        self.worker = DistributedSettings.of(crawler).worker_id
        self.registry = CollectorRegistry()
        self.registry.register(StatsMetrics(crawler.stats, self.spider, self.worker))
        self.commands = Histogram(
            names.COMMAND_SECONDS,
            "Round trips of Kwiff commands (sent to answered), by command",
            labelnames=(*names.COMMON_LABELS, names.COMMAND_LABEL),
            buckets=defaults.METRICS_COMMAND_BUCKETS,
            registry=self.registry,
        )
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = config.port
        crawler.signals.connect(self._observe, signal=signals.response_received)
        crawler.signals.connect(self._stop, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KwiffMetrics:
        try:
            config = MetricsSettings.from_settings(crawler.settings)
        except ValueError as exc:
            report_start_error(__name__, exc)
            raise
        if config.port is None:
            raise NotConfigured
        extension = cls(crawler, config)
        extension.start()
        return extension

    @property
    def bound_to(self) -> tuple[str, int] | None:
        """The address the server listens on (None once closed)."""
        if self._server is None:
            return None
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}/metrics"

    def start(self) -> None:
        """Listen now, so that a port in use stops the crawl at its start."""
        try:
            self._server, self._thread = start_http_server(
                self.config.port or 0, addr=self.config.host, registry=self.registry
            )
        except OSError as exc:
            error = OSError(
                f"the metrics endpoint cannot listen on {self.config.host}:{self.config.port} "
                f"({exc.strerror or exc}): choose another KWIFF_METRICS_PORT, or 0 for any free one"
            )
            report_start_error(__name__, error)
            raise error from None
        self.port = int(self._server.server_port)
        logger.info("Metrics for Prometheus at %s", self.url)

    def _observe(self, response: Response, request: Request) -> None:
        latency = request.meta.get("download_latency")
        if latency is None or not request.url.startswith(f"{SCHEME}://"):
            return
        self.commands.labels(self.spider, self.worker, message_of(request.url)).observe(latency)

    async def _stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.shutdown)  # waits for its loop: not on this one
            server.server_close()
