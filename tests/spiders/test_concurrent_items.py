"""The project's own spiders lower ``CONCURRENT_ITEMS`` to 10, at an add-on's priority:
the project's settings, ``-s`` and a spider's ``custom_settings`` still decide."""

from __future__ import annotations

from typing import Any

import pytest
import scrapy
from scrapy.utils.test import get_crawler

from kwiff_scrapy import defaults
from kwiff_scrapy.simulator import SimulatedData
from kwiff_scrapy.spiders.base import KwiffSpider
from kwiff_scrapy.spiders.basketball import KwiffBasketballSpider
from kwiff_scrapy.spiders.betbuilder import KwiffBetBuilderSpider
from kwiff_scrapy.spiders.event import KwiffEventSpider
from kwiff_scrapy.spiders.events import KwiffEventsSpider
from kwiff_scrapy.spiders.football import KwiffFootballSpider
from kwiff_scrapy.spiders.watch import KwiffWatchSpider

from ..support.crawl_process import assert_clean_run, run_crawl

PROJECT_SPIDERS = [
    KwiffEventSpider,
    KwiffFootballSpider,
    KwiffBasketballSpider,
    KwiffEventsSpider,
    KwiffBetBuilderSpider,
    KwiffWatchSpider,
]
ADDON = {"ADDONS": {"kwiff_scrapy.Addon": 300}}
SCRAPY_DEFAULT = 100


def concurrent_items(spider: type[scrapy.Spider], **settings: Any) -> int:
    return get_crawler(spider, {**ADDON, **settings}).settings.getint("CONCURRENT_ITEMS")


@pytest.mark.parametrize("spider", PROJECT_SPIDERS, ids=lambda spider: spider.name)
def test_the_project_spiders_take_ten(spider: type[scrapy.Spider]) -> None:
    assert concurrent_items(spider) == defaults.SPIDER_CONCURRENT_ITEMS == 10


@pytest.mark.parametrize("spider", PROJECT_SPIDERS, ids=lambda spider: spider.name)
def test_the_project_settings_win(spider: type[scrapy.Spider]) -> None:
    # get_crawler's settings are the project's (settings.py, CrawlerProcess({...})).
    assert concurrent_items(spider, CONCURRENT_ITEMS=50) == 50


def test_a_subclass_custom_settings_win() -> None:
    class Mine(KwiffFootballSpider):
        name = "mine"
        custom_settings = {"CONCURRENT_ITEMS": 3}

    assert concurrent_items(Mine) == 3
    assert concurrent_items(Mine, CONCURRENT_ITEMS=50) == 3  # as Scrapy ranks them


def test_a_subclass_may_keep_scrapy_default() -> None:
    class Mine(KwiffSpider):
        name = "mine"
        concurrent_items = None

    assert concurrent_items(Mine) == SCRAPY_DEFAULT


def test_the_addon_leaves_other_spiders_alone() -> None:
    class TheirOwn(scrapy.Spider):
        name = "their_own"

    assert concurrent_items(TheirOwn) == SCRAPY_DEFAULT


@pytest.mark.slow
def test_scrapy_crawl_runs_with_ten_unless_told_otherwise() -> None:
    ids = ",".join(str(event["id"]) for event in SimulatedData().events(11)[:3])
    ours = run_crawl("-a", f"ids={ids}", spider="kwiff_event")
    told = run_crawl("-a", f"ids={ids}", "-s", "CONCURRENT_ITEMS=50", spider="kwiff_event")
    for result, expected in ((ours, 10), (told, "50")):  # -s gives a string
        assert_clean_run(result)
        overridden = result.stderr.partition("Overridden settings:")[2].partition("}")[0]
        assert f"'CONCURRENT_ITEMS': {expected!r}" in overridden
        assert "'item_scraped_count': 3" in result.stderr
