"""The history writer alone, against a bare ``executemany``, with where its time goes.

The writing part of ``bench_history_month`` on a small history (``--prices``, default
200,000: an outcome's summary and rows are found by primary key, so the size of the
history changes little here), more rounds, and a split of the writer's work. Each
round writes 4,000 moved prices of 200 events (20 each) by six ways, in turns (the
order rotates each round), each on its own 200 events opened through the writer:

- ``writer``: ``HistoryStore.write`` of the observations (all of it);
- ``bare``: the driver's ``executemany`` of the same rows, one transaction (the floor);
- ``rows only``: the writer's own statement(s) for the rows (``bulk.write`` without
  summaries: SQLite ``executemany``, PostgreSQL ``COPY`` and ``INSERT ... SELECT``),
  in a transaction, decided beforehand;
- ``rows + summaries``: the same and what the rows add merged into the summaries;
- ``events + rows + summaries``: and the events upserted first (everything the writer
  asks of the database when it wrote these events last: its memory is what is stored);
- ``database work``: the same and the summaries' latest rows read (what it asks when
  another writer wrote the events since);
- ``floor``: the bare ``executemany`` of the rows and a bare ``executemany`` updating
  one summary row per price (its count and latest row), one transaction, no Python:
  what keeping a summary per price costs the database at the least, the driver's way;
- ``floor, version 4's summaries``: the same on a copy of the summaries as schema
  version 4 had them: with an index of ``last_at`` (which every update moves) and, on
  PostgreSQL, pages filled whole (no room for HOT updates).

The ways "decided beforehand" run the writer's own statements with its Python done
before the clock starts.

Ratios are prices/s against ``bare``, medians of the rounds; the CPU time is this
process's (on SQLite it includes the database's work; on PostgreSQL the server's is
not in it).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from kwiff_scrapy.history import bulk, summaries
from kwiff_scrapy.history.records import Observation
from kwiff_scrapy.history.schema import database_url, outcome_summaries, outcomes
from kwiff_scrapy.history.store import HistoryStore, _Plan

from ._common import base_parser, print_header, print_table
from ._history_month_data import MonthShape, fill
from .bench_history_month import (
    MOVED_PER_EVENT,
    WRITE_EVENTS,
    _BareInserter,
    _database,
    _ms,
    _observation,
)

WAYS = ("writer", "bare", "rows only", "rows + summaries", "events + rows + summaries",
        "database work", "floor", "floor, version 4's summaries")  # fmt: skip
#: The summaries' copy as schema version 4 had them (the last way).
VERSION_4 = "kwiff_bench_summaries"
NOTE = (
    "Everything runs in this process on a shared machine (2 cores, other sessions "
    "running): compare the ratios, measured in turns in the same run."
)


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "bench_history_write")
    parser.add_argument("--prices", type=int, default=200_000, help="history size (200,000)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (15; --quick 3)")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 15)
    print_header("the history writer alone, against a bare executemany", args, NOTE)
    print(f"load average at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    events = max(20, round(5_000 * args.prices / 45_000_000))
    shape = MonthShape(prices=args.prices, events=events, end_ms=_ms(end))
    for backend in args.backends.split(","):
        with _database(backend.strip(), None) as uri:
            run_backend(uri, backend.strip(), shape, rounds)
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def run_backend(uri: str, backend: str, shape: MonthShape, rounds: int) -> None:
    store = HistoryStore(database_url(uri))
    store.open()
    engine = store.engine
    assert engine is not None
    fill(engine, shape, progress=False)
    rng = random.Random(7)
    kickoff = shape.end_ms + 3 * 86_400_000
    base = 30_000_000
    sets = {way: [base + n * WRITE_EVENTS + e for e in range(WRITE_EVENTS)]
            for n, way in enumerate(WAYS)}  # fmt: skip
    ladder: dict[tuple[int, str], int] = {}
    store.write([_observation(e, kickoff, shape.end_ms, None, rng, ladder)
                 for way in WAYS for e in sets[way]])  # fmt: skip
    with engine.connect() as connection:
        ids = {
            (row.event_id, row.outcome_key): row.id
            for row in connection.execute(
                select(outcomes.c.id, outcomes.c.event_id, outcomes.c.outcome_key).where(
                    outcomes.c.event_id.in_([e for way in WAYS[1:] for e in sets[way]])
                )
            )
        }
    _copy_summaries(engine)
    bare = _BareInserter(uri)
    rates: dict[str, list[float]] = {way: [] for way in WAYS}
    cpu: dict[str, list[float]] = {way: [] for way in WAYS}
    try:
        for number in range(rounds):
            at = shape.end_ms + (number + 1) * 10_000
            moved = {way: [_observation(e, kickoff, at, MOVED_PER_EVENT, rng, ladder)
                           for e in sets[way]] for way in WAYS}  # fmt: skip
            calls = {
                "writer": _writer(store, moved["writer"]),
                "bare": _bare(bare, _rows(ids, moved["bare"])),
                "rows only": _decided(engine, ids, moved["rows only"], with_summaries=False),
                "rows + summaries": _decided(engine, ids, moved["rows + summaries"]),
                "events + rows + summaries": _decided(
                    engine, ids, moved["events + rows + summaries"], events=store, read=False
                ),
                "database work": _decided(engine, ids, moved["database work"], events=store),
                "floor": _floor(bare, _rows(ids, moved["floor"])),
                "floor, version 4's summaries": _floor(
                    bare, _rows(ids, moved["floor, version 4's summaries"]), VERSION_4
                ),
            }
            count = WRITE_EVENTS * MOVED_PER_EVENT
            order = WAYS[number % len(WAYS) :] + WAYS[: number % len(WAYS)]
            for way in order:
                started, used = time.perf_counter(), time.process_time()
                calls[way]()
                rates[way].append(count / (time.perf_counter() - started))
                cpu[way].append(time.process_time() - used)
    finally:
        bare.close()
        store.close()
    count = WRITE_EVENTS * MOVED_PER_EVENT
    floor = statistics.median(rates["bare"])
    print(f"== {backend}: {rounds} rounds of {count:,} prices ==")
    rows = []
    for way, found in rates.items():
        rate = statistics.median(found)
        used = statistics.median(cpu[way]) * 1000
        rows.append([way, f"{rate:,.0f}", f"{count / rate * 1000:.1f}", f"{used:.1f}",
                     f"{rate / floor:.2f}"])  # fmt: skip
    print_table(["way", "prices/s (median)", "ms a batch", "CPU ms (this process)", "/ bare"],
                rows)  # fmt: skip
    print()


def _rows(ids: dict[tuple[int, str], int], batch: list[Observation]) -> list[tuple[Any, ...]]:
    return [(ids[p.event_id, p.outcome_key], p.fetched_ms, p.odds, p.fractional, p.status)
            for seen in batch for p in seen.prices]  # fmt: skip


def _writer(store: HistoryStore, batch: list[Observation]) -> Callable[[], None]:
    def call() -> None:
        assert store.write(batch).written == WRITE_EVENTS * MOVED_PER_EVENT

    return call


def _bare(bare: _BareInserter, rows: list[tuple[Any, ...]]) -> Callable[[], None]:
    return lambda: bare.insert(rows)


def _decided(
    engine: Any,
    ids: dict[tuple[int, str], int],
    batch: list[Observation],
    *,
    with_summaries: bool = True,
    events: HistoryStore | None = None,
    read: bool = True,
) -> Callable[[], None]:
    """The writer's statements for *batch*, decided beforehand (every price moved)."""
    rows = _rows(ids, batch)
    outcome_ids = sorted({row[0] for row in rows})
    event_of = {ids[p.event_id, p.outcome_key]: p.event_id for seen in batch for p in seen.prices}
    added = {outcome: summaries.Summary(outcome, event_of[outcome]) for outcome in outcome_ids}
    for row in rows:
        added[row[0]].add(row[1], row[2], row[4])
    changed = [summary.row() for summary in added.values()]
    plan = _Plan()
    if events is not None:
        for seen in batch:
            assert seen.header is not None
            plan.headers[seen.header.event_id] = seen.header
            plan.updated_ms[seen.header.event_id] = seen.prices[0].fetched_ms

    def call() -> None:
        with engine.begin() as connection:
            if events is not None:
                events._upsert_events(connection, plan)
                if read:
                    summaries.read_latest(connection, outcome_ids)
            bulk.write(connection, rows, [], changed if with_summaries else [])

    return call


def _copy_summaries(engine: Any) -> None:
    """:data:`VERSION_4`: the summaries as stored, in a table shaped as schema version 4's
    (an index of ``last_at``; PostgreSQL's default ``fillfactor``, 100)."""
    postgresql = engine.dialect.name == "postgresql"
    key, real = ("bigint", "double precision") if postgresql else ("INTEGER", "REAL")
    options = "" if postgresql else " WITHOUT ROWID"
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE {VERSION_4} (outcome {key} PRIMARY KEY, event_id BIGINT NOT NULL, "
            f"prices INTEGER NOT NULL, opening_at BIGINT, high {real}, low {real}, last_at "
            f"BIGINT NOT NULL, last_odds {real}, last_status VARCHAR(64)){options}"
        )
        connection.exec_driver_sql(
            f"INSERT INTO {VERSION_4} SELECT * FROM {outcome_summaries.name} ORDER BY outcome"
        )
        connection.exec_driver_sql(f"CREATE INDEX {VERSION_4}_event ON {VERSION_4} (event_id)")
        connection.exec_driver_sql(f"CREATE INDEX {VERSION_4}_last ON {VERSION_4} (last_at)")


def _floor(
    bare: _BareInserter, rows: list[tuple[Any, ...]], table: str = outcome_summaries.name
) -> Callable[[], None]:
    """The rows inserted and one summary row of *table* updated per price, by the driver
    alone."""
    mark = "?" if bare.sqlite else "%s"
    update = (
        f"UPDATE {table} SET prices = prices + 1, last_at = {mark}, "
        f"last_odds = {mark}, last_status = {mark} WHERE outcome = {mark}"
    )
    updates = [(row[1], row[2], row[4], row[0]) for row in rows]

    def call() -> None:
        connection = bare.connection
        if bare.sqlite:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(bare.statement, rows)
            connection.executemany(update, updates)
            connection.execute("COMMIT")
        else:
            with connection.cursor() as cursor:
                cursor.executemany(bare.statement, rows)
                cursor.executemany(update, updates)
            connection.commit()

    return call


if __name__ == "__main__":
    main()
