"""The history writer (batches, retries, a bounded buffer) and the pipeline in crawls:
items flow whatever the database does, and every price is written or counted."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider

from kwiff_scrapy.history.config import HistorySettings
from kwiff_scrapy.history.errors import HistoryError
from kwiff_scrapy.history.records import Observation, observe
from kwiff_scrapy.history.schema import database_url
from kwiff_scrapy.history.store import HistoryStore, WriteResult
from kwiff_scrapy.history.writer import HistoryWriter, WriterLimits
from kwiff_scrapy.integration import stats
from kwiff_scrapy.model.parsing import outcome_rows, parse_events
from kwiff_scrapy.pipelines import history as history_pipeline
from kwiff_scrapy.simulator import SimulatedData
from kwiff_scrapy.spiders.betbuilder import KwiffBetBuilderSpider
from kwiff_scrapy.spiders.football import KwiffFootballSpider

from ..conftest import crawl
from ..support.databases import (  # fixtures, used by name
    connect,
    count_rows,
    postgres_server,
    postgres_uri,
    sqlite_uri,
)
from ..support.paused_writer import PausedWriter
from ..support.waiting import guarded

PIPELINE = {"kwiff_scrapy.pipelines.history.KwiffHistoryPipeline": 700}
DATA = SimulatedData()
FOOTBALL = DATA.events(11)
FOOTBALL_PRICES = sum(len(m["outcomes"]) for e in FOOTBALL for m in e["details"]["offers"])
#: The in-process simulator without its clock: its first answers are the data at rest.
AT_REST: dict[str, Any] = {"KWIFF_SIMULATOR_OPTIONS": {"speed": None}}


def history_settings(uri: str, **more: Any) -> dict[str, Any]:
    """A crawl with the history on: the URI is enough (the add-on enables the pipeline)."""
    return {"KWIFF_HISTORY_URI": uri, **more}


def football_events(fetched_at: str = "2026-12-01T10:00:00.000Z") -> list[Any]:
    return parse_events({"events": FOOTBALL}, fetched_at=fetched_at)


# -- the writer ---------------------------------------------------------------------------------


class Recorder:
    """The writer's events, with an asyncio.Event per kind to wait on."""

    def __init__(self) -> None:
        self.results: list[WriteResult] = []
        self.failures: list[BaseException] = []
        self.dropped_prices = 0
        self.written = asyncio.Event()
        self.failed = asyncio.Event()

    def batch_written(self, result: WriteResult) -> None:
        self.results.append(result)
        self.written.set()

    def write_failed(self, error: BaseException) -> None:
        self.failures.append(error)
        self.failed.set()

    def dropped(self, prices: int) -> None:
        self.dropped_prices += prices


class FlakyStore(HistoryStore):
    """A store whose writes fail while ``down`` is set (the database went away)."""

    def __init__(self, uri: str) -> None:
        super().__init__(database_url(uri))
        self.down = False
        self.batches: list[int] = []

    def write(self, batch: Any) -> WriteResult:
        if self.down:
            raise HistoryError("writing to the test database failed: it went away")
        self.batches.append(sum(len(seen.prices) for seen in batch))
        return super().write(batch)


def one_price_each(count: int, start: int = 0) -> list[Observation]:
    rows = [row for event in football_events() for row in outcome_rows(event)]
    found = [observe(row) for row in rows[start : start + count]]
    return [seen for seen in found if seen is not None]


async def test_a_full_batch_goes_out_without_waiting_for_the_interval(sqlite_uri: str) -> None:
    store, events = FlakyStore(sqlite_uri), Recorder()
    store.open()
    writer = HistoryWriter(store, events, WriterLimits(batch_size=3, flush_interval=3600))
    writer.start()
    for seen in one_price_each(3):
        writer.add(seen)
    await guarded(events.written.wait(), "a write")  # long before the hour is up
    assert store.batches == [3]
    await writer.close()
    assert count_rows(sqlite_uri) == 3


async def test_a_partial_batch_goes_out_after_the_interval(sqlite_uri: str) -> None:
    store, events = FlakyStore(sqlite_uri), Recorder()
    store.open()
    writer = HistoryWriter(store, events, WriterLimits(batch_size=1000, flush_interval=0.05))
    writer.start()
    for seen in one_price_each(5):
        writer.add(seen)
    await guarded(events.written.wait(), "a write")
    assert store.batches == [5]
    assert writer.buffered == 0
    await writer.close()


async def test_batches_hold_at_most_batch_size_prices(sqlite_uri: str) -> None:
    store, events = FlakyStore(sqlite_uri), Recorder()
    store.open()
    writer = HistoryWriter(store, events, WriterLimits(batch_size=4, flush_interval=3600))
    writer.start()
    for seen in one_price_each(10):
        writer.add(seen)
    await writer.close()  # everything is written at close
    assert store.batches == [4, 4, 2]
    assert sum(r.written for r in events.results) == 10
    assert count_rows(sqlite_uri) == 10


async def test_settle_writes_the_buffer_now_and_returns_once_it_is_written(
    sqlite_uri: str,
) -> None:
    """A watch waits for this before it counts a poll as reported in JOBDIR."""
    store, events = FlakyStore(sqlite_uri), Recorder()
    store.open()
    limits = WriterLimits(batch_size=1000, flush_interval=3600, retry_delay=0.01)
    writer = HistoryWriter(store, events, limits)
    writer.start()
    await guarded(writer.settle(), "an idle writer settled")  # nothing to write
    for seen in one_price_each(5):
        writer.add(seen)
    assert not writer.idle()
    await guarded(writer.settle(), "the buffer written long before its hour")
    assert store.batches == [5]
    assert writer.idle()
    # While the database is away, it does not settle; once it is back, it does.
    store.down = True
    writer.add(one_price_each(1, start=5)[0])
    settling = asyncio.ensure_future(writer.settle())
    await guarded(events.failed.wait(), "a failed write")
    assert not settling.done()
    store.down = False
    await guarded(settling, "the buffer written once the database was back")
    assert store.batches == [5, 1]
    await writer.close()


async def test_a_failed_batch_is_kept_and_written_when_the_database_is_back(
    sqlite_uri: str,
) -> None:
    store, events = FlakyStore(sqlite_uri), Recorder()
    store.open()
    limits = WriterLimits(batch_size=2, flush_interval=3600, retry_delay=0.01, max_retry_delay=0.02)
    writer = HistoryWriter(store, events, limits)
    writer.start()
    store.down = True
    for seen in one_price_each(6):
        writer.add(seen)
    await guarded(events.failed.wait(), "a failed write")
    assert writer.buffered == 6  # nothing lost
    store.down = False
    await writer.close()
    assert len(events.failures) >= 1
    assert events.dropped_prices == 0
    assert count_rows(sqlite_uri) == 6


async def test_what_overflows_the_buffer_or_outlasts_the_close_is_counted_as_dropped(
    sqlite_uri: str,
) -> None:
    store, events = FlakyStore(sqlite_uri), Recorder()
    store.open()
    limits = WriterLimits(
        batch_size=2,
        buffer_size=5,
        flush_interval=3600,
        retry_delay=0.01,
        max_retry_delay=0.02,
        close_timeout=0.1,
    )
    writer = HistoryWriter(store, events, limits)
    writer.start()
    store.down = True
    for seen in one_price_each(8):
        writer.add(seen)
    assert events.dropped_prices == 3  # the three oldest
    assert writer.buffered == 5
    await writer.close()  # still down: the rest cannot be written either
    assert events.dropped_prices == 8
    assert count_rows(sqlite_uri) == 0


async def test_a_store_that_writes_locks_out_a_second_sqlite_writer_briefly(
    sqlite_uri: str,
) -> None:
    """SQLite writers take turns: a second process waits for the lock, then writes."""
    first = HistoryStore(database_url(sqlite_uri))
    first.open()
    second = HistoryStore(database_url(sqlite_uri), timeout=0.05)
    second.open()
    import sqlite3

    holder = sqlite3.connect(sqlite_uri.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(HistoryError, match="database is locked"):
        second.write(one_price_each(1))
    holder.execute("ROLLBACK")
    holder.close()
    assert second.write(one_price_each(1)).written == 1
    first.close()
    second.close()


# -- the settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"KWIFF_HISTORY_URI": 5}, "KWIFF_HISTORY_URI must be a database URI"),
        ({"KWIFF_HISTORY_BATCH_SIZE": "0"}, "KWIFF_HISTORY_BATCH_SIZE must be a whole number"),
        ({"KWIFF_HISTORY_BATCH_SIZE": "2.5"}, "KWIFF_HISTORY_BATCH_SIZE must be a whole number"),
        ({"KWIFF_HISTORY_FLUSH_INTERVAL": "0"}, "KWIFF_HISTORY_FLUSH_INTERVAL must be a number"),
        (
            {"KWIFF_HISTORY_BUFFER_SIZE": 10, "KWIFF_HISTORY_BATCH_SIZE": 20},
            "KWIFF_HISTORY_BUFFER_SIZE \\(10\\) must be at least KWIFF_HISTORY_BATCH_SIZE",
        ),
        (
            {"KWIFF_HISTORY_RETRY_DELAY": 5, "KWIFF_HISTORY_MAX_RETRY_DELAY": 1},
            "KWIFF_HISTORY_MAX_RETRY_DELAY must be at least KWIFF_HISTORY_RETRY_DELAY",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(
    settings: dict[str, Any], message: str
) -> None:
    from scrapy.settings import Settings

    with pytest.raises(ValueError, match=message):
        HistorySettings.from_settings(Settings(settings))


def test_the_settings_default_to_off_with_the_documented_limits() -> None:
    from scrapy.settings import Settings

    assert not HistorySettings.from_settings(Settings()).enabled
    assert not HistorySettings.from_settings(Settings({"KWIFF_HISTORY_URI": " "})).enabled
    config = HistorySettings.from_settings(
        Settings({"KWIFF_HISTORY_URI": "sqlite:///odds.sqlite", "KWIFF_HISTORY_BATCH_SIZE": "5"})
    )
    assert config.uri == "sqlite:///odds.sqlite"
    assert config.limits == WriterLimits(batch_size=5)


# -- the pipeline in crawls ---------------------------------------------------------------------


async def test_a_crawl_stores_every_price_once_and_a_second_one_none(sqlite_uri: str) -> None:
    settings = history_settings(sqlite_uri, KWIFF_ENDPOINT="simulator", **AT_REST)
    first = await crawl(KwiffFootballSpider, settings)
    assert first.errors == []
    assert len(first.items) == len(FOOTBALL)
    assert first.stat(stats.HISTORY_PRICES_WRITTEN) == FOOTBALL_PRICES
    assert first.stat(stats.HISTORY_BATCHES) >= 1
    assert count_rows(sqlite_uri) == FOOTBALL_PRICES
    flat = await crawl(KwiffFootballSpider, settings, flat="1")
    assert len(flat.items) == FOOTBALL_PRICES
    assert flat.stat(stats.HISTORY_PRICES_WRITTEN) == 0
    assert flat.stat(stats.HISTORY_PRICES_UNCHANGED) == FOOTBALL_PRICES
    assert count_rows(sqlite_uri) == FOOTBALL_PRICES
    for key in (stats.HISTORY_ERRORS, stats.HISTORY_DROPPED, stats.HISTORY_PRICES_SKIPPED):
        assert flat.stat(key) == first.stat(key) == 0


async def test_the_add_on_enables_the_pipeline_unless_the_project_disabled_it(
    sqlite_uri: str,
) -> None:
    on = await crawl(
        KwiffFootballSpider, history_settings(sqlite_uri, KWIFF_ENDPOINT="simulator", **AT_REST)
    )
    assert on.stat(stats.HISTORY_PRICES_WRITTEN) == FOOTBALL_PRICES
    disabled = {name: None for name in PIPELINE}
    settings = history_settings(
        sqlite_uri, KWIFF_ENDPOINT="simulator", ITEM_PIPELINES=disabled, **AT_REST
    )
    off = await crawl(KwiffFootballSpider, settings)
    assert len(off.items) == len(FOOTBALL)
    assert not [key for key in off.stats if key.startswith("kwiff/history/")]
    without = await crawl(KwiffFootballSpider, {"KWIFF_ENDPOINT": "simulator"})
    assert not [key for key in without.stats if key.startswith("kwiff/history/")]


async def test_bet_builder_prices_are_stored(sqlite_uri: str) -> None:
    groups = '[{"eventId": 10744160, "outcomeIds": [107441600301, 107441600101]}]'
    settings = history_settings(sqlite_uri, KWIFF_ENDPOINT="simulator")
    result = await crawl(KwiffBetBuilderSpider, settings, groups=groups)
    assert len(result.items) == 1
    assert result.stat(stats.HISTORY_PRICES_WRITTEN) == 1
    from ..support.databases import price_rows

    ((key, _time, odds, _fractional, status),) = price_rows(sqlite_uri)
    assert (key, odds, status) == ("bb:107441600101+107441600301", result.items[0].odds, None)


async def test_a_uri_that_cannot_be_opened_stops_the_crawl_at_its_start(tmp_path: Any) -> None:
    uri = f"sqlite:///{tmp_path / 'missing' / 'odds.sqlite'}"
    with pytest.raises(HistoryError, match="cannot be opened: unable to open database file"):
        await crawl(KwiffFootballSpider, history_settings(uri, KWIFF_ENDPOINT="simulator"))


class ItemsSpider(Spider):
    """Yields the football events in two halves, waiting between them for ``between``."""

    name = "history_items"
    between: asyncio.Event

    async def start(self) -> AsyncIterator[Any]:
        events = football_events()
        half = len(events) // 2
        for item in events[:half]:
            yield item
        await self.between.wait()
        for item in events[half:]:
            yield item


class Outage:
    """Takes a PostgreSQL history's schema away (rename): every write fails, on every
    connection, until :meth:`end` gives it back."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.schema = uri.rsplit("%3D", 1)[1]

    def _rename(self, old: str, new: str) -> None:
        from ..support.databases import connect

        with connect(self.uri.split("?")[0]) as connection:
            connection.execute(f'ALTER SCHEMA "{old}" RENAME TO "{new}"')

    def begin(self) -> None:
        self._rename(self.schema, f"{self.schema}_away")

    def end(self) -> None:
        self._rename(f"{self.schema}_away", self.schema)


async def crawl_through_an_outage(
    uri: str, monkeypatch: pytest.MonkeyPatch, **settings: Any
) -> Any:
    """Crawl ItemsSpider; the database refuses every write from the moment the history
    has opened it, and the second half of the items comes once a write has failed."""
    outage = Outage(uri)
    ItemsSpider.between = asyncio.Event()
    original_open = HistoryStore.open
    original_failed = history_pipeline.KwiffHistoryPipeline.write_failed

    def open_then_go_away(self: HistoryStore) -> int:
        version = original_open(self)
        outage.begin()
        return version

    def write_failed(self: Any, error: BaseException) -> None:
        original_failed(self, error)
        ItemsSpider.between.set()

    monkeypatch.setattr(HistoryStore, "open", open_then_go_away)
    monkeypatch.setattr(history_pipeline.KwiffHistoryPipeline, "write_failed", write_failed)
    try:
        return await crawl(
            ItemsSpider,
            history_settings(
                uri,
                KWIFF_HISTORY_FLUSH_INTERVAL=0.01,
                KWIFF_HISTORY_RETRY_DELAY=0.01,
                KWIFF_HISTORY_MAX_RETRY_DELAY=0.05,
                **settings,
            ),
        )
    finally:
        outage.end()


async def test_a_connection_cut_mid_crawl_is_logged_counted_and_costs_no_item_or_price(
    postgres_server: str,
    postgres_uri: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The history's PostgreSQL backend is terminated (pg_terminate_backend, from a second
    connection) while the crawl's 2nd batch is inside its transaction: that batch fails
    whole, is logged and counted once, and is written again on a new connection."""
    name = f"kwiff_test_{uuid.uuid4().hex[:10]}"
    pause = PausedWriter(tmp_path, transaction=2)
    for variable, value in pause.environment.items():
        monkeypatch.setenv(variable, value)
    cut: list[str] = []

    def cut_the_connection() -> None:
        try:
            pause.wait()
            with connect(postgres_server) as connection:
                cut.extend(
                    state
                    for state, terminated in connection.execute(
                        "SELECT state, pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = %s",
                        (name,),
                    )
                    if terminated
                )
        finally:
            pause.close()

    cutting = asyncio.create_task(asyncio.to_thread(cut_the_connection))
    settings = history_settings(
        f"{postgres_uri}&application_name={name}",
        KWIFF_ENDPOINT="simulator",
        KWIFF_HISTORY_BATCH_SIZE=2000,
        KWIFF_HISTORY_RETRY_DELAY=0.01,
        **AT_REST,
    )
    with caplog.at_level(logging.INFO, logger="kwiff_scrapy.history"):
        result = await crawl(KwiffFootballSpider, settings)
    await cutting
    assert cut == ["idle in transaction"]
    assert len(result.items) == len(FOOTBALL)  # the items went on to the feeds
    assert result.stat(stats.HISTORY_ERRORS) == 1
    assert result.stat(stats.HISTORY_DROPPED) == 0
    assert result.stat(stats.HISTORY_PRICES_WRITTEN) == FOOTBALL_PRICES
    assert count_rows(postgres_uri) == FOOTBALL_PRICES
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    (error,) = [message for level, message in messages if level == "ERROR"]
    assert re.fullmatch(
        r"Odds history: writing to postgresql\+psycopg://\S+ failed: terminating connection "
        r"due to administrator command \(\d+ prices kept to try again\)",
        error,
    ), error
    assert ("INFO", "Odds history: writing again after 1 failed attempt(s)") in messages


async def test_prices_beyond_the_buffer_of_a_database_that_stays_away_are_counted(
    postgres_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await crawl_through_an_outage(
        postgres_uri,
        monkeypatch,
        KWIFF_HISTORY_BATCH_SIZE=100,
        KWIFF_HISTORY_BUFFER_SIZE=500,
        KWIFF_HISTORY_CLOSE_TIMEOUT=0.2,
    )
    assert len(result.items) == len(FOOTBALL)
    assert result.stat(stats.HISTORY_ERRORS) >= 1
    assert result.stat(stats.HISTORY_PRICES_WRITTEN) == 0
    assert result.stat(stats.HISTORY_DROPPED) == FOOTBALL_PRICES  # every one accounted for
