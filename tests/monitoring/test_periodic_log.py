"""The add-on turns on Scrapy's PeriodicLog for the watch, unless the project configured it."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from scrapy.extensions.periodic_log import PeriodicLog
from scrapy.utils.test import get_crawler

from kwiff_scrapy.integration.addon import PERIODIC_LOG_DELTA
from kwiff_scrapy.spiders.football import KwiffFootballSpider
from kwiff_scrapy.spiders.watch import KwiffWatchSpider

from ..conftest import BASE_SETTINGS, StartSimulator
from ..support.watching import watch


def periodic_log(crawler: Any) -> PeriodicLog | None:
    found = [e for e in crawler.extensions.middlewares if isinstance(e, PeriodicLog)]
    return found[0] if found else None


def test_the_watch_logs_its_main_stats_every_minute() -> None:
    crawler = get_crawler(KwiffWatchSpider, {**BASE_SETTINGS})
    extension = periodic_log(crawler)
    assert extension is not None
    assert extension.interval == 60.0
    assert extension.ext_delta_include == PERIODIC_LOG_DELTA["include"]
    assert not extension.ext_stats_enabled
    assert not extension.ext_timing_enabled
    assert "kwiff/watch/polls" in extension.ext_delta_include


def test_other_spiders_do_not() -> None:
    assert periodic_log(get_crawler(KwiffFootballSpider, {**BASE_SETTINGS})) is None


def test_the_projects_own_configuration_is_kept() -> None:
    own = {"PERIODIC_LOG_STATS": {"include": ["item_scraped_count"]}, "LOGSTATS_INTERVAL": 5.0}
    crawler = get_crawler(KwiffWatchSpider, {**BASE_SETTINGS, **own})
    extension = periodic_log(crawler)
    assert extension is not None
    assert extension.interval == 5.0
    assert extension.ext_stats_include == ["item_scraped_count"]
    assert not extension.ext_delta_enabled  # the add-on added nothing to it


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
    caplog.set_level(logging.INFO, logger="scrapy.extensions.periodic_log")
    blocks: list[dict[str, Any]] = []

    def logged() -> list[dict[str, Any]]:
        found = [
            json.loads(record.getMessage())
            for record in caplog.records
            if record.name == "scrapy.extensions.periodic_log"
        ]
        blocks[:] = found
        return found

    # A short interval of the project's own: kept, with the watch's deltas.
    run = await watch(simulator, polls=6, settings={"LOGSTATS_INTERVAL": 0.2})
    assert run.polls
    assert logged(), "no periodic stats were logged"
    assert all(set(block) == {"delta"} for block in blocks)
    keys = set().union(*(block["delta"] for block in blocks))
    assert "kwiff/watch/polls" in keys
    assert any(key.startswith("kwiff/watch/changes/") for key in keys)
    assert all(any(part in key for part in PERIODIC_LOG_DELTA["include"]) for key in keys)
    assert sum(block["delta"].get("kwiff/watch/polls", 0) for block in blocks) >= 1
