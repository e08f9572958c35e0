"""The add-on turns on Scrapy's PeriodicLog for the watch, unless the project configured it."""

from __future__ import annotations

from typing import Any

from scrapy.extensions.periodic_log import PeriodicLog
from scrapy.utils.test import get_crawler

from kwiff_scrapy.integration.addon import PERIODIC_LOG_DELTA
from kwiff_scrapy.spiders.football import KwiffFootballSpider
from kwiff_scrapy.spiders.watch import KwiffWatchSpider

from ..conftest import BASE_SETTINGS


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
