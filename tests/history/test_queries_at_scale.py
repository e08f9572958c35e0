"""The history's queries done in the database give exactly what the old ones gave (every
price loaded into Python), on random histories full of ties, gaps and statuses; on
SQLite and on a real PostgreSQL server. And their memory does not grow with the
history."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import random
import tracemalloc
from typing import Any

import pytest
from sqlalchemy import create_engine, insert

from kwiff_scrapy.history.queries import (
    HistoryReader,
    OutcomeHistory,
    PricePoint,
    market_overrounds,
)
from kwiff_scrapy.history.records import from_ms
from kwiff_scrapy.history.schema import database_url, events, markets, outcomes, prices
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.history.summaries import rebuild

from ..support.databases import history_uri, postgres_server, postgres_uri, sqlite_uri
from .reference_queries import old_events, old_market_overrounds, old_top_movers

START_MS = 1_790_000_000_000
MINUTE = 60_000
#: Few distinct odds, so that equal changes (ties) are common.
ODDS = (1.5, 2.0, 2.5, 3.0, 4.0, 5.0)


def fill(uri: str, *, seed: int, events_count: int, outcomes_per_event: int, rows: int) -> None:
    """A random history: *rows* price rows over the outcomes of *events_count* events, at
    whole minutes (many outcomes share a time), some without odds, some with a status."""
    store = HistoryStore(database_url(uri))
    store.open()
    store.close()
    rng = random.Random(seed)
    engine = create_engine(database_url(uri))
    with engine.begin() as connection:
        connection.execute(
            insert(events),
            [
                {
                    "event_id": 100 + e,
                    "home_team": f"Home {e}",
                    "away_team": f"Away {e}",
                    "competition_name": "League",
                    "start_time": START_MS + rng.randrange(0, 600) * MINUTE,
                }
                for e in range(events_count)
            ],
        )
        connection.execute(
            insert(markets),
            [
                {"event_id": 100 + e, "market_key": "m1", "market_id": e, "name": "Result"}
                for e in range(events_count)
            ],
        )
        connection.execute(
            insert(outcomes),
            [
                {
                    "event_id": 100 + e,
                    "market_key": "m1",
                    "outcome_key": f"o{o}",
                    "outcome_id": e * 100 + o,
                    "name": f"Outcome {o}" if o % 5 else None,
                }
                for e in range(events_count)
                for o in range(outcomes_per_event)
            ],
        )
        ids = [row.id for row in connection.execute(outcomes.select().order_by(outcomes.c.id))]
        seen: set[tuple[int, int]] = set()
        batch = []
        while len(batch) < rows:
            outcome = rng.choice(ids)
            at = START_MS + rng.randrange(0, 600) * MINUTE
            if (outcome, at) in seen:
                continue
            seen.add((outcome, at))
            kind = rng.random()
            batch.append(
                {
                    "outcome": outcome,
                    "fetched_at": at,
                    "odds": None if kind < 0.1 else rng.choice(ODDS),
                    "fractional": None,
                    "status": "suspended" if 0.1 <= kind < 0.2 else None,
                }
            )
        connection.execute(insert(prices), batch)
        # Rows inserted by hand: their summaries built as the migration builds them.
        rebuild(connection)
    engine.dispose()


@pytest.fixture
def random_history(history_uri: str) -> str:
    fill(history_uri, seed=21, events_count=6, outcomes_per_event=12, rows=900)
    return history_uri


def test_top_movers_are_the_old_ones(random_history: str) -> None:
    with HistoryReader(random_history) as reader:
        for since_minutes in (None, 0, 1, 100, 299, 300, 450, 599, 600):
            since = None if since_minutes is None else from_ms(START_MS + since_minutes * MINUTE)
            for limit in (1, 5, 20, 1000):
                for event_id in (None, 102):
                    new = reader.top_movers(limit, since, event_id)
                    assert new == old_top_movers(reader, limit, since, event_id), (
                        since_minutes,
                        limit,
                        event_id,
                    )
        # The data does have ties, removed prices and statuses among the movers.
        everything = reader.top_movers(1000)
        changes = [abs(m.change) for m in everything]
        assert len(changes) > len(set(changes)) > 3
        assert reader.top_movers(1000, from_ms(START_MS + 450 * MINUTE)) != everything


def test_events_are_the_old_ones(random_history: str) -> None:
    with HistoryReader(random_history) as reader:
        assert reader.events() == old_events(reader)
        assert reader.events([101, 104, 999]) == old_events(reader, {101, 104, 999})
        assert reader.event(103) == old_events(reader, {103})[0]


def _peak_bytes(call: Any) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_top_movers_memory_does_not_grow_with_the_history(sqlite_uri: str) -> None:
    """Ten times the prices, the same Python memory: the rows stay in the database."""
    fill(sqlite_uri, seed=1, events_count=20, outcomes_per_event=50, rows=4_000)
    with HistoryReader(sqlite_uri) as reader:
        reader.top_movers(20)  # warm-up: imports, compiled statements
        small = _peak_bytes(lambda: reader.top_movers(20))
        small_since = _peak_bytes(lambda: reader.top_movers(20, from_ms(START_MS)))
    bigger = sqlite_uri.replace("odds.sqlite", "bigger.sqlite")
    fill(bigger, seed=1, events_count=20, outcomes_per_event=50, rows=40_000)
    with HistoryReader(bigger) as reader:
        reader.top_movers(20)
        large = _peak_bytes(lambda: reader.top_movers(20))
        large_since = _peak_bytes(lambda: reader.top_movers(20, from_ms(START_MS)))
    # The old query held every price row: 36,000 more rows were megabytes.
    assert large < small * 1.5 + 64_000, (small, large)
    assert large_since < small_since * 1.5 + 64_000, (small_since, large_since)


def test_market_overrounds_are_the_old_ones() -> None:
    """Kept up to date change by change, the overrounds are those of a whole market built
    at each time: books and not, suspended, removed and unpriced outcomes, odds of 1."""
    rng = random.Random(8)
    names = ["Full Time Result", "Double Chance", "First Goalscorer", "Total Goals 2.5", "One"]
    histories = []
    for market in names:
        for outcome in range(1 if market == "One" else rng.randrange(2, 6)):
            times = sorted(rng.sample(range(40), rng.randrange(1, 12)))
            points = [
                PricePoint(
                    from_ms(START_MS + t * MINUTE),
                    rng.choice([None, 1.0, 0.5, *ODDS * 8]),
                    None,
                    rng.choice([*[None] * 12, "suspended", "removed", "Open"]),
                )
                for t in times
            ]
            histories.append(OutcomeHistory(1, market, str(outcome), outcome, points))
    new = market_overrounds(histories)
    assert new == old_market_overrounds(histories)
    assert sum(value is not None for value in new.values()) > 10
    assert sum(value is None for value in new.values()) > 10


def test_a_history_without_summaries_gives_the_same_answers(random_history: str) -> None:
    """Read as schema version 2 (no summaries: the queries over the prices), the biggest
    movers and the report are what the summaries give."""
    now = from_ms(START_MS + 300 * MINUTE)

    def answers() -> list[Any]:
        with HistoryReader(random_history) as reader:
            found: list[Any] = []
            for since_minutes in (None, 0, 299, 450):
                since = (
                    None if since_minutes is None else from_ms(START_MS + since_minutes * MINUTE)
                )
                found.append(reader.top_movers(50, since))
                found.append(reader.top_movers(5, since, 102))
            found.append(list(reader.opening_closing(now=now)))
            found.append(list(reader.opening_closing(since=from_ms(START_MS), now=now)))
            found.append(list(reader.opening_closing(event_id=103, now=now)))
            return found

    with_summaries = answers()
    assert all(with_summaries)
    engine = create_engine(database_url(random_history))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE kwiff_history_meta SET value = '2'")
    finally:
        engine.dispose()
    assert answers() == with_summaries


def test_postgresql_queries_run_without_jit(postgres_uri: str) -> None:
    """The history's look-ups are costed high but run in milliseconds: compiling them
    (JIT) cost more than running them, so every history connection turns it off, and the
    URI's own options (its schema here) still apply."""
    from sqlalchemy import text

    with HistoryReader(postgres_uri) as reader, reader._connect() as connection:
        assert connection.execute(text("SHOW jit")).scalar() == "off"
        search_path = str(connection.execute(text("SHOW search_path")).scalar())
    assert search_path.strip('"') in postgres_uri
    store = HistoryStore(database_url(postgres_uri))
    store.open()
    try:
        assert store._engine is not None
        with store._engine.connect() as connection:
            assert connection.execute(text("SHOW jit")).scalar() == "off"
    finally:
        store.close()
