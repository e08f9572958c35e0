"""Signals and event states in the odds history: stored once each, read back as typed rows
that give the same items; on SQLite and on a real PostgreSQL server."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

from sqlalchemy import text

from kwiff_scrapy.history.records import observe, signal_subject
from kwiff_scrapy.history.schema import SCHEMA_VERSION, database_url, open_engine
from kwiff_scrapy.history.signals import recent_signals, signal_counts
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.model.items import EventChange
from kwiff_scrapy.model.signals import OddsSignal

from ..support.databases import (
    connect,
    count_rows,
    history_uri,
    postgres_schema,  # fixtures, used by name
    postgres_server,
    postgres_uri,
    sqlite_uri,
)

T0 = "2026-12-01T10:00:00.000Z"
T1 = "2026-12-01T10:00:10.000Z"
T2 = "2026-12-01T10:00:20.000Z"
T0_MS = 1796119200000


def drop(fetched_at: str = T1, *, outcome_id: int = 711, event_id: int = 7) -> OddsSignal:
    return OddsSignal(
        rule="drop",
        kind="drop",
        event_id=event_id,
        home_team="Arsenal",
        away_team="Juventus",
        competition_name="Premier League",
        start_time="2026-12-05T15:00:00.000Z",
        market_id=71,
        market_name="Full Time Result",
        outcome_id=outcome_id,
        outcome_name="Arsenal",
        outcomes=["Arsenal"],
        markets=["Full Time Result"],
        window=3600.0,
        from_odds=2.0,
        to_odds=1.8,
        change=-0.1,
        probability_change=0.0556,
        strength=1.0,
        first_seen_at=T0,
        fetched_at=fetched_at,
        in_play=False,
    )


def steam_on_market() -> OddsSignal:
    return dataclasses.replace(
        drop(), rule="steam", kind="steam", outcomes=["Arsenal", "Draw", "Juventus"]
    )


def steam_across_event() -> OddsSignal:
    return dataclasses.replace(
        drop(),
        rule="steam",
        kind="steam",
        outcomes=["Full Time Result / Arsenal", "Half Time / Arsenal"],
        markets=["Full Time Result", "Half Time"],
        strength=1.0,
    )


def suspensions() -> OddsSignal:
    return OddsSignal(
        rule="suspended",
        kind="suspensions",
        event_id=7,
        markets=["A", "B"],
        window=60.0,
        first_seen_at=T0,
        fetched_at=T2,
    )


def opened(uri: str) -> HistoryStore:
    store = HistoryStore(database_url(uri))
    assert store.open() == SCHEMA_VERSION
    return store


def write(uri: str, *items: Any) -> int:
    store = opened(uri)
    try:
        found = [observe(item) for item in items]
        result = store.write([seen for seen in found if seen is not None])
    finally:
        store.close()
    return result.signals_written


# -- records (no database) ---------------------------------------------------------------------


def test_a_signal_is_keyed_by_what_fired_outcome_market_or_event() -> None:
    assert signal_subject(drop()) == "outcome:711"
    assert signal_subject(dataclasses.replace(drop(), outcome_id=None)) == "outcome:m:71/Arsenal"
    assert signal_subject(steam_on_market()) == "market:71"
    assert signal_subject(steam_across_event()) == "event"
    assert signal_subject(dataclasses.replace(drop(), kind="margin", outcome_id=None)) == (
        "market:71"
    )
    assert signal_subject(suspensions()) == "event"


def test_a_signal_item_becomes_one_record_with_its_times_in_milliseconds() -> None:
    seen = observe(drop())
    assert seen is not None
    assert not seen.empty
    assert (seen.prices, seen.header) == ([], None)
    (record,) = seen.signals
    assert (record.fetched_ms, record.first_seen_ms) == (T0_MS + 10_000, T0_MS)
    assert record.outcomes == '["Arsenal"]'


# -- stored once, read back --------------------------------------------------------------------


def test_signals_are_stored_once_and_read_back_as_the_items_they_were(history_uri: str) -> None:
    items = [drop(T1), steam_on_market(), steam_across_event(), suspensions()]
    assert write(history_uri, *items, drop(T1)) == 4  # the repeat in the batch: once
    # A resumed watch sending them again (another process, another batch): nothing new.
    assert write(history_uri, *items) == 0
    assert count_rows(history_uri, "kwiff_signals") == 4
    engine = open_engine(database_url(history_uri), writer=False)
    try:
        found = recent_signals(engine)
        assert [signal.to_item() for signal in found] == [
            suspensions(),
            *reversed([drop(T1), steam_on_market(), steam_across_event()]),
        ]
        assert found[0].fetched_at.isoformat() == "2026-12-01T10:00:20+00:00"
        assert signal_counts(engine) == {"drop": 1, "steam": 2, "suspended": 1}
    finally:
        engine.dispose()


def test_recent_signals_filters_by_time_event_rule_and_row_id(history_uri: str) -> None:
    write(history_uri, drop(T0), drop(T1, event_id=8), drop(T2, outcome_id=712), suspensions())
    engine = open_engine(database_url(history_uri), writer=False)
    try:
        times = [s.fetched_ms for s in recent_signals(engine, since_ms=T0_MS + 10_000)]
        assert times == [T0_MS + 20_000, T0_MS + 20_000, T0_MS + 10_000]
        assert {s.event_id for s in recent_signals(engine, event_id=8)} == {8}
        assert [s.rule for s in recent_signals(engine, rules=["suspended"])] == ["suspended"]
        assert len(recent_signals(engine, limit=2)) == 2
        everything = recent_signals(engine)
        newest_id = max(s.id for s in everything)
        assert recent_signals(engine, after_id=newest_id) == []
        assert len(recent_signals(engine, after_id=newest_id - 1)) == 1
        assert signal_counts(engine, event_id=7) == {"drop": 2, "suspended": 1}
    finally:
        engine.dispose()


def test_event_changes_are_kept_over_time_once_each(history_uri: str) -> None:
    changes = [
        EventChange(event_id=7, kind="new", in_play=False, fetched_at=T0),
        EventChange(event_id=7, kind="status", in_play=True, betting_status="OPEN", fetched_at=T1),
    ]
    write(history_uri, *changes)
    write(history_uri, *changes)
    engine = open_engine(database_url(history_uri), writer=False)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT fetched_at, kind, in_play, betting_status FROM kwiff_event_states "
                    "ORDER BY fetched_at"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [
        (T0_MS, "new", False, None),
        (T0_MS + 10_000, "status", True, "OPEN"),
    ]


def test_a_history_made_before_signals_gets_the_tables_and_reads_as_none(sqlite_uri: str) -> None:
    write(sqlite_uri, EventChange(event_id=7, kind="new", fetched_at=T0))
    path = sqlite_uri.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:  # as an older kwiff_scrapy left it
        connection.execute("DROP TABLE kwiff_signals")
        connection.execute("DROP TABLE kwiff_event_states")
    engine = open_engine(database_url(sqlite_uri), writer=False)
    try:
        assert recent_signals(engine) == []
        assert signal_counts(engine) == {}
    finally:
        engine.dispose()
    assert write(sqlite_uri, drop()) == 1  # opening it for writing adds the tables
    assert count_rows(sqlite_uri, "kwiff_signals") == 1
