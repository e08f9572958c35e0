"""The add-on turns on Scrapy's PeriodicLog (on one line) for the watch, in place of
LogStats, unless the project configured them."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from scrapy.extensions.logstats import LogStats
from scrapy.extensions.periodic_log import PeriodicLog
from scrapy.utils.test import get_crawler

from kwiff_scrapy.integration.addon import PERIODIC_LOG_DELTA
from kwiff_scrapy.monitoring.periodic_log import KwiffPeriodicLog
from kwiff_scrapy.spiders.football import KwiffFootballSpider
from kwiff_scrapy.spiders.watch import KwiffWatchSpider

from ..conftest import BASE_SETTINGS, StartSimulator
from ..support.watching import watch


def periodic_log(crawler: Any) -> PeriodicLog | None:
    found = [e for e in crawler.extensions.middlewares if isinstance(e, PeriodicLog)]
    return found[0] if found else None


def has_logstats(crawler: Any) -> bool:
    return any(isinstance(e, LogStats) for e in crawler.extensions.middlewares)


def test_the_watch_logs_its_main_stats_every_minute() -> None:
    crawler = get_crawler(KwiffWatchSpider, {**BASE_SETTINGS})
    extension = periodic_log(crawler)
    assert isinstance(extension, KwiffPeriodicLog)
    assert not has_logstats(crawler), "the periodic block replaces LogStats' line"
    assert extension.interval == 60.0
    assert extension.ext_delta_include == PERIODIC_LOG_DELTA["include"]
    assert not extension.ext_stats_enabled
    assert not extension.ext_timing_enabled
    assert "kwiff/watch/polls" in extension.ext_delta_include


def test_other_spiders_do_not() -> None:
    crawler = get_crawler(KwiffFootballSpider, {**BASE_SETTINGS})
    assert periodic_log(crawler) is None
    assert has_logstats(crawler)


def test_a_project_that_asks_for_logstats_keeps_it() -> None:
    own = {"EXTENSIONS": {"scrapy.extensions.logstats.LogStats": 10}}
    crawler = get_crawler(KwiffWatchSpider, {**BASE_SETTINGS, **own})
    assert has_logstats(crawler)
    assert isinstance(periodic_log(crawler), KwiffPeriodicLog)


def test_a_projects_own_periodic_log_entry_stands() -> None:
    scrapys = {"EXTENSIONS": {"scrapy.extensions.periodic_log.PeriodicLog": 0}}
    crawler = get_crawler(KwiffWatchSpider, {**BASE_SETTINGS, **scrapys})
    extension = periodic_log(crawler)
    assert type(extension) is PeriodicLog
    assert extension.ext_delta_include == PERIODIC_LOG_DELTA["include"]
    off = {"EXTENSIONS": {"scrapy.extensions.periodic_log.PeriodicLog": None}}
    crawler = get_crawler(KwiffWatchSpider, {**BASE_SETTINGS, **off})
    assert periodic_log(crawler) is None
    assert has_logstats(crawler), "without a periodic block, LogStats' line stays"


def test_the_projects_own_configuration_is_kept() -> None:
    own = {"PERIODIC_LOG_STATS": {"include": ["item_scraped_count"]}, "LOGSTATS_INTERVAL": 5.0}
    crawler = get_crawler(KwiffWatchSpider, {**BASE_SETTINGS, **own})
    extension = periodic_log(crawler)
    assert extension is not None
    assert extension.interval == 5.0
    assert extension.ext_stats_include == ["item_scraped_count"]
    assert not extension.ext_delta_enabled  # the add-on added nothing to it
    assert has_logstats(crawler)


def test_a_project_interval_is_kept_with_the_watchs_deltas() -> None:
    crawler = get_crawler(KwiffWatchSpider, {**BASE_SETTINGS, "LOGSTATS_INTERVAL": 300.0})
    extension = periodic_log(crawler)
    assert extension is not None
    assert extension.interval == 300.0
    assert extension.ext_delta_include == PERIODIC_LOG_DELTA["include"]


def test_a_project_may_turn_it_off() -> None:
    settings = {**BASE_SETTINGS, "KWIFF_PERIODIC_LOG": False}
    assert periodic_log(get_crawler(KwiffWatchSpider, settings)) is None


async def test_a_running_watch_logs_its_deltas(
    start_simulator: StartSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    simulator = await start_simulator(moving=True)
    caplog.set_level(logging.INFO, logger="scrapy.extensions")

    # A short interval of the project's own: kept, with the watch's deltas.
    run = await watch(simulator, polls=6, settings={"LOGSTATS_INTERVAL": 0.2})
    assert run.polls
    messages = [
        record.getMessage()
        for record in caplog.records
        if record.name == "scrapy.extensions.periodic_log"
    ]
    assert messages, "no periodic stats were logged"
    assert all("\n" not in message for message in messages), messages[0]
    blocks = [json.loads(message) for message in messages]
    assert all(set(block) == {"delta"} for block in blocks)
    keys = set().union(*(block["delta"] for block in blocks))
    assert {"kwiff/watch/polls", "item_scraped_count"} <= keys
    assert all(any(part in key for part in PERIODIC_LOG_DELTA["include"]) for key in keys)
    assert sum(block["delta"].get("kwiff/watch/polls", 0) for block in blocks) >= 1
    assert sum(block["delta"].get("item_scraped_count", 0) for block in blocks) == len(run.items)
    assert not [r for r in caplog.records if r.name == "scrapy.extensions.logstats"]
