"""The outcomes' summaries (schema version 3) are what the rows say: after the writer's
batches of random prices (moves, suspensions, removals, ``moved`` changes that keep the
status, prices older than the latest, repeated answers), after retention, and after a
migration; on SQLite and on a real PostgreSQL server."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import create_engine, select

from kwiff_scrapy.history.queries import HistoryReader, _event_info
from kwiff_scrapy.history.records import (
    KEEP_STATUS,
    EventHeader,
    MarketRecord,
    Observation,
    PriceRecord,
)
from kwiff_scrapy.history.schema import database_url, outcome_summaries
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.history.summaries import events_query, rebuild

from ..support.databases import history_uri, postgres_server, postgres_uri

START = 1_790_000_000_000
ODDS = (None, 1.0, 1.5, 2.0, 2.5, 4.0)
STATUSES = (None, None, None, "suspended", "removed", KEEP_STATUS)


def summaries_and_rebuilt(uri: str) -> tuple[list[Any], list[Any]]:
    """The stored summaries, and the same built again from the rows (then rolled back)."""
    engine = create_engine(database_url(uri))
    query = select(outcome_summaries).order_by(outcome_summaries.c.outcome)
    try:
        with engine.connect() as connection:
            kept = [tuple(row) for row in connection.execute(query)]
            rebuild(connection)
            built = [tuple(row) for row in connection.execute(query)]
            connection.rollback()
    finally:
        engine.dispose()
    return kept, built


def random_batch(rng: random.Random, at: int) -> list[Observation]:
    """Prices of three events' outcomes around *at*: some older, some repeated."""
    found = []
    for event_id in (1, 2, 3):
        prices = []
        for outcome in rng.sample(range(6), rng.randint(1, 6)):
            when = at - rng.choice((0, 0, 0, 10_000, 25_000))
            odds = rng.choice(ODDS)
            prices.append(
                PriceRecord(event_id, "m", f"{event_id}-{outcome}", outcome, None, when, odds,
                            None, rng.choice(STATUSES))
            )  # fmt: skip
        found.append(Observation(EventHeader(event_id, start_ms=START + 3_600_000),
                                 [MarketRecord(event_id, "m", 1, "Result")], prices))  # fmt: skip
    return found


def test_the_writers_summaries_are_what_the_rows_say(history_uri: str) -> None:
    rng = random.Random(3)
    # Two stores, as two machines sharing the history, writing in turns.
    stores = [HistoryStore(database_url(history_uri)) for _ in range(2)]
    for store in stores:
        store.open()
    written = 0
    try:
        for number in range(60):
            result = stores[number % 2].write(random_batch(rng, START + number * 10_000))
            written += result.written
    finally:
        for store in stores:
            store.close()
    kept, built = summaries_and_rebuilt(history_uri)
    assert written > 200
    assert len(kept) == 18
    assert kept == built
    # The movers' events, counted from the summaries, are what reading their prices says.
    with HistoryReader(history_uri) as reader, reader.engine.connect() as connection:
        counted = [_event_info(row) for row in connection.execute(events_query([3, 1, 2]))]
        assert counted == reader.events([1, 2, 3])
        assert sum(info.prices for info in counted) == written
