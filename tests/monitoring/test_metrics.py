"""The Prometheus endpoint: scraped over HTTP while a watch runs against the simulator."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from kwiff_scrapy.integration.signals import poll_finished
from kwiff_scrapy.monitoring import names
from kwiff_scrapy.monitoring.config import MetricsSettings

from ..conftest import BASE_SETTINGS, StartSimulator
from ..support.extras import require
from ..support.waiting import guarded, until
from ..support.watching import QuickWatchSpider

require("prometheus_client", "metrics", "the metrics endpoint")

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from kwiff_scrapy.monitoring.metrics import KwiffMetrics  # noqa: E402

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> tuple[Samples, set[str], str]:
    """Every sample (name, labels) -> value, the names a query may use (a family's, and
    its ``_total``, ``_bucket``... even without samples yet), and the raw text."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    samples: Samples = {}
    families: set[str] = set()
    for family in text_string_to_metric_families(text):
        families |= {family.name, *(family.name + end for end in SUFFIXES.get(family.type, ()))}
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples, families, text


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of *name* whose labels include *labels*."""
    return sum(
        found
        for (sample, sample_labels), found in samples.items()
        if sample == name and labels.items() <= dict(sample_labels).items()
    )


def metrics_of(crawler: Any) -> KwiffMetrics:
    found = [e for e in crawler.extensions.middlewares if isinstance(e, KwiffMetrics)]
    assert len(found) == 1, crawler.extensions.middlewares
    return found[0]


async def test_the_endpoint_shows_a_running_watch_and_its_values_move(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(moving=True)
    settings = {
        **BASE_SETTINGS,
        "KWIFF_ENDPOINT": simulator.url,
        "KWIFF_METRICS_PORT": 0,
        "KWIFF_WORKER_ID": "worker-a",
    }
    runner = AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(QuickWatchSpider)
    polls: list[int] = []

    def finished(poll: int, changes: int, failed: bool) -> None:
        polls.append(poll)

    crawler.signals.connect(finished, poll_finished)  # (a weak reference: kept above)
    crawl = asyncio.ensure_future(runner.crawl(crawler, interval=0.2))
    try:
        await until(lambda: len(polls) >= 2, "two polls of the watch")
        extension = metrics_of(crawler)
        url = extension.url
        assert url.startswith("http://127.0.0.1:")
        assert extension.bound_to == ("127.0.0.1", extension.port)  # loopback only
        first, families, text = await asyncio.to_thread(scrape, url)
        mine = {"spider": "kwiff_watch", "worker": "worker-a"}
        polled = value(first, "kwiff_watch_polls_total", **mine)
        assert polled >= 2
        assert value(first, "kwiff_watch_changes_total", kind="new", **mine) > 0
        assert value(first, "kwiff_sessions_open", **mine) == 1
        assert value(first, "kwiff_command_seconds_count", command="event:list", **mine) >= 2
        assert value(first, "scrapy_items_scraped_total", **mine) > 0
        assert value(first, "kwiff_alerts_sent_total", **mine) == 0  # there from the start
        assert 'kwiff_watch_failed_polls_total{spider="kwiff_watch",worker="worker-a"}' in text
        assert {"kwiff_watch_signals", "scrapy_retries_by_reason"} <= families

        await until(lambda: len(polls) >= polled + 3, "three more polls")
        second, _, _ = await asyncio.to_thread(scrape, url)
        assert value(second, "kwiff_watch_polls_total", **mine) >= polled + 3
        assert value(second, "kwiff_command_seconds_count", command="event:list") > value(
            first, "kwiff_command_seconds_count", command="event:list"
        )
        assert value(second, "kwiff_watch_changes_total", kind="moved") > 0
        assert value(second, "scrapy_uptime_seconds") > value(first, "scrapy_uptime_seconds")
        referenced = dashboard_metrics()
        exposed = set(families) | {name for name, _ in second}
        assert referenced - exposed == set(), "the dashboard queries metrics that do not exist"
    finally:
        assert crawler.engine is not None
        await crawler.engine.close_spider_async(reason="done")
        await guarded(crawl, "the watch closing")
    with pytest.raises(urllib.error.URLError):  # the endpoint closed with the crawl
        await asyncio.to_thread(scrape, url)


def dashboard_metrics() -> set[str]:
    """The metric names the Grafana dashboard's queries use."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert queries, "the dashboard has no query"
    found = set()
    for query in queries:
        found |= set(re.findall(r"\b((?:kwiff|scrapy)_[a-z0-9_]+)\b", query))
    return found


def test_the_dashboard_is_importable_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["title"]
    assert dashboard["schemaVersion"] >= 36
    assert dashboard.get("id") is None  # Grafana assigns it on import
    assert {panel["id"] for panel in dashboard["panels"]} == set(
        range(1, len(dashboard["panels"]) + 1)
    )
    datasources = {
        json.dumps(target.get("datasource"))
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }
    assert datasources == {json.dumps({"type": "prometheus", "uid": "${datasource}"})}
    assert dashboard_metrics()


def test_without_a_port_there_is_no_endpoint() -> None:
    crawler = get_crawler(QuickWatchSpider, {**BASE_SETTINGS})
    assert not [e for e in crawler.extensions.middlewares if isinstance(e, KwiffMetrics)]


def test_a_port_in_use_stops_the_crawl_saying_so(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            get_crawler(QuickWatchSpider, {**BASE_SETTINGS, "KWIFF_METRICS_PORT": port})
    assert "choose another KWIFF_METRICS_PORT" in caplog.text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, None), ("", None), ("9410", 9410), (0, 0), (65535, 65535)],
)
def test_the_port_setting(raw: Any, expected: int | None) -> None:
    settings = {"KWIFF_METRICS_PORT": raw}
    config = MetricsSettings.from_settings(Settings(settings))
    assert config == MetricsSettings(expected, "127.0.0.1")


@pytest.mark.parametrize("raw", ["http", -1, 65536, True, "9.5"])
def test_a_bad_port_is_refused_naming_the_setting(raw: Any) -> None:
    with pytest.raises(ValueError, match="KWIFF_METRICS_PORT must be a TCP port number"):
        MetricsSettings.from_settings(Settings({"KWIFF_METRICS_PORT": raw}))


@pytest.mark.parametrize(
    ("key", "name", "label"),
    [
        ("kwiff/watch/changes/moved", "kwiff_watch_changes", "moved"),
        ("kwiff/watch/signals/steam", "kwiff_watch_signals", "steam"),
        ("kwiff/handshakes_refused/403", "kwiff_handshakes_refused", "403"),
        ("kwiff/watch/polls", "kwiff_watch_polls", None),
        ("kwiff/redis/outages", "kwiff_redis_outages", None),
        ("log_count/WARNING", "scrapy_log_messages", "WARNING"),
        ("item_scraped_count", "scrapy_items_scraped", None),
    ],
)
def test_stats_keys_become_metrics(key: str, name: str, label: str | None) -> None:
    sample = names.sample_of(key)
    assert sample is not None
    assert (sample.family.name, sample.label_value) == (name, label)


def test_keys_not_exported() -> None:
    assert names.sample_of("start_time") is None
    assert names.sample_of("httpcompression/response_count") is None
    assert names.sample_of("kwiff/no_answer") == names.Sample(
        names.Family("kwiff_no_answer", "gauge", "The stat kwiff/no_answer")
    )
