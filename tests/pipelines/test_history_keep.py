"""KWIFF_HISTORY_KEEP in a crawl: the history pipeline deletes what is older than the
setting (in the writer's thread, between its batches) while the crawl stores its prices;
bad values are refused naming the setting."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from scrapy.settings import Settings
from sqlalchemy import create_engine, select

from kwiff_scrapy.history.config import HistorySettings
from kwiff_scrapy.history.records import EventHeader, MarketRecord, Observation, PriceRecord
from kwiff_scrapy.history.schema import database_url, events
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.integration import stats
from kwiff_scrapy.simulator import SimulatedData
from kwiff_scrapy.spiders.football import KwiffFootballSpider

from ..conftest import crawl
from ..support.databases import count_rows, sqlite_uri  # fixtures, used by name

DAY_MS = 86_400_000
FOOTBALL = SimulatedData().events(11)
FOOTBALL_PRICES = sum(len(m["outcomes"]) for e in FOOTBALL for m in e["details"]["offers"])
OLD_EVENT = 99


def old_observation(at: int, odds: float) -> Observation:
    """An event that kicked off 200 days ago: two outcomes priced at *at*."""
    now = int(time.time() * 1000)
    prices = [
        PriceRecord(OLD_EVENT, "m", f"o{n}", n, f"Outcome {n}", at, odds + n, None, None)
        for n in range(2)
    ]
    header = EventHeader(OLD_EVENT, home_team="Old", away_team="Match", start_ms=now - 200 * DAY_MS)
    return Observation(header, [MarketRecord(OLD_EVENT, "m", 1, "Result")], prices)


@pytest.mark.parametrize(
    ("value", "keep"),
    [("90d", timedelta(days=90)), ("12w", timedelta(weeks=12)), (" 36h ", timedelta(hours=36)),
     ("1d12h", timedelta(hours=36)), ("", None), (None, None)],
)  # fmt: skip
def test_the_setting_is_a_duration(value: Any, keep: timedelta | None) -> None:
    settings = Settings({"KWIFF_HISTORY_URI": "sqlite:///odds.sqlite", "KWIFF_HISTORY_KEEP": value})
    assert HistorySettings.from_settings(settings).limits.keep == keep


@pytest.mark.parametrize("value", ["90", "ninety days", "0d", "-3d", 90, "90 d x"])
def test_a_bad_setting_is_refused_naming_it(value: Any) -> None:
    settings = Settings({"KWIFF_HISTORY_URI": "sqlite:///odds.sqlite", "KWIFF_HISTORY_KEEP": value})
    with pytest.raises(ValueError, match="KWIFF_HISTORY_KEEP must be a duration such as 90d"):
        HistorySettings.from_settings(settings)


async def test_a_crawl_deletes_what_is_older_than_the_setting(sqlite_uri: str) -> None:
    now = int(time.time() * 1000)
    store = HistoryStore(database_url(sqlite_uri))
    store.open()
    for days, odds in ((210, 2.0), (205, 2.5), (201, 3.0)):
        assert store.write([old_observation(now - days * DAY_MS, odds)]).written == 2
    store.close()
    assert count_rows(sqlite_uri) == 6

    settings = {
        "KWIFF_HISTORY_URI": sqlite_uri,
        "KWIFF_HISTORY_KEEP": "90d",
        "KWIFF_ENDPOINT": "simulator",
        "KWIFF_SIMULATOR_OPTIONS": {"speed": None},
    }
    result = await crawl(KwiffFootballSpider, settings)
    assert result.errors == []
    assert result.stat(stats.HISTORY_PRICES_WRITTEN) == FOOTBALL_PRICES
    # The old event went whole; the crawl's prices (fetched now) all stay.
    assert result.stat(stats.HISTORY_PRICES_DELETED) == 6
    assert result.stat(stats.HISTORY_EVENTS_DELETED) == 1
    assert count_rows(sqlite_uri) == FOOTBALL_PRICES
    engine = create_engine(database_url(sqlite_uri))
    try:
        with engine.connect() as connection:
            stored = set(connection.execute(select(events.c.event_id)).scalars())
    finally:
        engine.dispose()
    assert OLD_EVENT not in stored
    assert stored == {event["id"] for event in FOOTBALL}

    # Without the setting nothing is deleted.
    again = await crawl(KwiffFootballSpider, {**settings, "KWIFF_HISTORY_KEEP": None})
    assert again.stat(stats.HISTORY_PRICES_DELETED) == 0
