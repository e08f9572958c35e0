"""A month of odds history: the history commands, a board and writing, on SQLite and PostgreSQL.

``python -m bench.bench_history_month [--prices N] [--events N] [--backends sqlite,postgresql]
[--repeats N] [--rounds N] [--keep FOLDER] [--reuse] [--order time|event] [--heap-baseline]
[--quick]``

``--reuse`` keeps the filled history (SQLite: in ``--keep``'s folder; PostgreSQL: the
schema ``kwiff_bench_month_kept``, dropped by hand) and reuses it on the next run with the
same counts: 45 million rows are filled once (about 12 minutes), and a newer schema
version's migration runs (timed) when it is opened. PostgreSQL's rows are copied in time
order, as a watch writes them (``--order event``: each event's rows together).

Fills a history with a month of a busy watch (default 45 million prices over 5,000
events: ``bench/_history_month_data.py`` says how the moves are made), through the
database's own bulk path (SQLite ``executemany``, PostgreSQL ``COPY``), into the tables
and indexes the schema creates. Then, on each database, the median of ``--repeats``
runs (each in this process, without the ~0.9 s of the ``scrapy`` command's start-up):

- ``history --event ID`` of the event with the most prices (the whole command's
  output: heading and table of moves, written to /dev/null); goal 100 ms;
- ``history --top 20 --since 1d``; goal 1 s;
- ``history --report --since 1d`` (the events that kicked off in the last day, every
  row written as CSV to /dev/null); goal 2 s;
- the live board's main query: the current price of every outcome of the 50 next
  events to kick off; goal 200 ms;
- the dashboard's board as its page reads it (``board_rows``: the events upcoming and in
  play, each result market's prices now, 15 minutes and an hour ago, and at the
  opening); goal 200 ms;
- ``history --top 20`` over the whole month (no goal: the one query that must read
  every price; its time and Python memory say it stays bounded);
- writing: prices per second of the history's writer (``HistoryStore.write``: a batch
  of observations, the moved prices of 200 events) against a bare ``executemany`` of
  the same rows into the same table by the driver alone, in turns, same run; goal
  at least 0.8;
- disk: bytes per stored price (tables and indexes), against the raw size of its values.

With fewer ``--prices`` the events are fewer in proportion (an event keeps its month's
size), unless ``--events`` says otherwise; what ran is printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, create_engine, func, inspect, select
from sqlalchemy import text as sql_text

from kwiff_scrapy.commands import history as history_command
from kwiff_scrapy.commands.history import HistoryPlan
from kwiff_scrapy.dashboard.views import board_rows
from kwiff_scrapy.history.queries import HistoryReader
from kwiff_scrapy.history.records import EventHeader, MarketRecord, Observation, PriceRecord
from kwiff_scrapy.history.schema import (
    database_url,
    events,
    markets,
    outcome_summaries,
    outcomes,
    prices,
)
from kwiff_scrapy.history.store import HistoryStore

from ._common import base_parser, print_header, print_table
from ._history_month_data import (
    FRACTIONS,
    ROUNDED,
    EventPlan,
    Filled,
    MonthShape,
    fill,
    market_rows,
    outcome_rows,
)

MONTH_PRICES = 45_000_000
MONTH_EVENTS = 5_000
POSTGRES = os.environ.get("KWIFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
# Its own schema per run: two runs at once (other sessions) never drop each other's.
SCHEMA = f"kwiff_bench_month_{os.getpid()}"
#: The schema a ``--reuse`` run keeps (and finds again) on PostgreSQL.
KEPT_SCHEMA = "kwiff_bench_month_kept"
#: What a kept history was filled with (one row of JSON, in the history's database).
FILLED_TABLE = "kwiff_bench_month_filled"
GOALS = {
    "event": 0.1,
    "top": 1.0,
    "report": 2.0,
    "board": 0.2,
    "board_summaries": 0.2,
    "dashboard_board": 0.2,
}
BOARD_EVENTS = 50
#: The writing step's events are numbered from here (a kept history's are removed first).
WRITTEN_EVENTS = 30_000_000
WRITE_EVENTS = 200
MOVED_PER_EVENT = 20
NOTE = (
    "Everything runs in this process on a shared, loaded machine (2 cores, other sessions "
    "running): absolute times are upper bounds; the writer's ratio is measured in turns."
)


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "bench_history_month")
    parser.add_argument("--prices", type=int, default=None, help="prices (default 45,000,000)")
    parser.add_argument("--events", type=int, default=None, help="events (default: in proportion)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=None, help="runs of each query (5)")
    parser.add_argument("--rounds", type=int, default=None, help="write rounds (10; 0: none)")
    parser.add_argument("--keep", default=None, help="a folder for the SQLite file, kept")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help=f"keep the filled history (SQLite: in --keep's folder; PostgreSQL: schema "
        f"{KEPT_SCHEMA}) and reuse it when it holds the same --prices and --events: "
        "filling 45 M rows once",
    )
    parser.add_argument(
        "--order",
        choices=("time", "event"),
        default="time",
        help="PostgreSQL: the order the rows are copied in: time (as a watch writes them, "
        "the default) or event (each event's rows together, the order of earlier runs)",
    )
    parser.add_argument(
        "--heap-baseline",
        action="store_true",
        help="PostgreSQL: time the goals' queries again, in turns with the same queries "
        "kept off index-only scans (enable_indexonlyscan=off: every row read from the "
        "heap, as before schema version 4)",
    )
    args = parser.parse_args()
    if args.reuse and "sqlite" in args.backends and not args.keep:
        parser.error("--reuse with sqlite needs --keep FOLDER")
    total = args.prices or (200_000 if args.quick else MONTH_PRICES)
    events_count = args.events or max(20, round(MONTH_EVENTS * total / MONTH_PRICES))
    repeats = args.repeats or (2 if args.quick else 5)
    rounds = args.rounds if args.rounds is not None else (3 if args.quick else 10)
    print_header("a month of odds history: queries, board, writing, disk", args, NOTE)
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    shape = MonthShape(prices=total, events=events_count, end_ms=_ms(end))
    order = args.order
    print(f"history: {total:,} prices over {events_count:,} events, 30 days ending {end:%F %H:%M}")
    print()
    for backend in args.backends.split(","):
        with _database(backend.strip(), args.keep, reuse=args.reuse) as uri:
            run_backend(uri, backend.strip(), shape, end, repeats, rounds, reuse=args.reuse,
                        heap_baseline=args.heap_baseline, order=order)  # fmt: skip


def run_backend(
    uri: str,
    backend: str,
    shape: MonthShape,
    end: datetime,
    repeats: int,
    rounds: int,
    *,
    reuse: bool = False,
    heap_baseline: bool = False,
    order: str = "time",
) -> None:
    print(f"== {backend} ==")
    store = HistoryStore(database_url(uri))
    if backend == "sqlite":
        order = "event"
    kept = _kept_fill(uri, shape, order) if reuse else None
    migrating = time.perf_counter()
    version = store.open()
    engine = store._engine
    assert engine is not None
    if kept is not None:
        filled, end = kept
        print(
            f"reused the history filled {_iso(end)}: {filled.prices:,} prices, "
            f"{filled.events:,} events (opened at schema version {version} in "
            f"{time.perf_counter() - migrating:.0f} s, a migration included); "
            f"the fill took {filled.seconds:.0f} s"
        )
        _remove_written(engine)
    else:
        filled = fill(engine, shape, time_order=order == "time")
        if reuse:
            _keep_fill(engine, filled, shape)
    print(
        f"filled {filled.prices:,} prices, {filled.outcomes:,} outcomes, {filled.events:,} "
        f"events in {filled.seconds:.0f} s ({filled.prices / filled.seconds:,.0f} prices/s; "
        f"schema version {version}; in {filled.order} order); busiest event "
        f"{filled.busiest_event}: {filled.busiest_prices:,} prices"
    )
    print(
        f"built the outcomes' summaries from the rows in {filled.summary_seconds:.0f} s "
        "(the migration to schema version 3 does the same)"
    )
    if backend == "postgresql":
        _vacuum_prices(uri)
    timings = time_queries(uri, filled, end, repeats)
    rows = []
    for name, label in (
        ("event", f"history --event {filled.busiest_event} ({filled.busiest_prices:,} prices)"),
        ("top", "history --top 20 --since 1d"),
        ("report", "history --report --since 1d (CSV)"),
        ("board", f"board: current prices of the next {BOARD_EVENTS} events"),
        ("board_summaries", "the same board from the outcomes' summaries"),
        ("dashboard_board", "the dashboard's board (its query and rows)"),
        ("top_all", "history --top 20 (the whole month)"),
    ):
        seconds, first, peak = timings[name]
        goal = GOALS.get(name)
        verdict = "-" if goal is None else ("met" if seconds <= goal else "NOT met")
        rows.append([label, f"{seconds * 1000:,.0f}", f"{first * 1000:,.0f}",
                     f"{peak / 1e6:.1f}", "-" if goal is None else f"{goal * 1000:,.0f}",
                     verdict])  # fmt: skip
    print()
    print_table(["query", "median ms", "first ms", "Python peak MB", "goal ms", ""], rows)
    print()
    if heap_baseline and backend == "postgresql":
        compare_heap(uri, filled, end, repeats)
    if rounds < 1:
        store.close()
        print_disk(uri, filled.prices, filled.raw_bytes / filled.prices)
        print()
        return
    writer, bare, written = time_writing(store, uri, shape, rounds)
    ratio = writer / bare
    print_table(
        ["writing", "prices/s (median)"],
        [["history writer (HistoryStore.write)", f"{writer:,.0f}"],
         ["bare executemany, same rows", f"{bare:,.0f}"]],
    )  # fmt: skip
    print(
        f"writer / bare: {ratio:.2f} (goal >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'}); "
        f"{written:,} prices written by each, {rounds} rounds in turns"
    )
    store.close()
    print()
    print_disk(uri, filled.prices + written * 2, filled.raw_bytes / filled.prices)
    print()


# -- queries ---------------------------------------------------------------------------------


def time_queries(
    uri: str, filled: Any, end: datetime, repeats: int
) -> dict[str, tuple[float, float, int]]:
    calls = query_calls(uri, filled, end)
    found: dict[str, tuple[float, float, int]] = {}
    for name, call in calls.items():
        times = [_seconds(call) for _ in range(1 if name == "top_all" else repeats)]
        found[name] = (statistics.median(times), times[0], _python_peak(call))
    return found


def compare_heap(uri: str, filled: Any, end: datetime, repeats: int) -> None:
    """The goals' queries in turns (A, B, B, A, ...): A kept off index-only scans (the
    rows read from the heap, as before schema version 4), B as they run; medians."""
    heap_uri = uri.replace("options=", f"options={quote('-cenable_indexonlyscan=off ')}", 1)
    assert heap_uri != uri
    plain, heap = query_calls(uri, filled, end), query_calls(heap_uri, filled, end)
    rows = []
    for name in ("event", "top", "report", "board", "dashboard_board"):
        times: dict[str, list[float]] = {"heap": [], "plain": []}
        for turn in range(max(repeats, 2)):
            pair = [("heap", heap[name]), ("plain", plain[name])]
            for label, call in pair if turn % 2 == 0 else reversed(pair):
                times[label].append(_seconds(call))
        a, b = statistics.median(times["heap"]), statistics.median(times["plain"])
        rows.append([name, f"{a * 1000:,.0f}", f"{b * 1000:,.0f}", f"{b / a:.2f}"])
    print_table(["query (in turns)", "A: heap ms", "B: index-only ms", "B / A"], rows)
    print()


def query_calls(uri: str, filled: Any, end: datetime) -> dict[str, Callable[[], None]]:
    end_ms = _ms(end)

    def command(plan: HistoryPlan) -> Callable[[], None]:
        def call() -> None:
            with _stdout_to_null():
                assert history_command.run(plan, now=end) == 0

        return call

    def report() -> None:
        with HistoryReader(uri) as reader:
            rows = reader.opening_closing(since=end - timedelta(days=1), now=end)
            history_command.write_report_csv(os.devnull, rows)

    def board() -> None:
        with HistoryReader(uri) as reader, reader._connect() as connection:
            found = connection.execute(board_query(end_ms, BOARD_EVENTS)).all()
            assert found

    def board_from_summaries() -> None:
        with HistoryReader(uri) as reader, reader._connect() as connection:
            found = connection.execute(board_summary_query(end_ms, BOARD_EVENTS)).all()
            assert found

    def dashboard_board() -> None:
        with HistoryReader(uri) as reader:
            assert board_rows(reader, end)

    return {
        "event": command(HistoryPlan(db=uri, event_id=filled.busiest_event)),
        "top": command(HistoryPlan(db=uri, top=20, since="1d")),
        "report": report,
        "board": board,
        "board_summaries": board_from_summaries,
        "dashboard_board": dashboard_board,
        "top_all": command(HistoryPlan(db=uri, top=20)),
    }


def board_query(now_ms: int, count: int) -> Any:
    """The board's main query: every outcome of the *count* next events to kick off, at
    its latest stored price (one primary-key look-up per outcome)."""
    upcoming = (
        select(events.c.event_id)
        .where(events.c.start_time > now_ms)
        .order_by(events.c.start_time)
        .limit(count)
        .subquery()
    )
    newest = prices.alias("newest")
    latest = (
        select(func.max(newest.c.fetched_at))
        .where(newest.c.outcome == outcomes.c.id)
        .scalar_subquery()
    )
    # The latest time of each outcome first (materialized), then its row by primary key.
    current = (
        select(
            events.c.event_id,
            events.c.start_time,
            events.c.home_team,
            events.c.away_team,
            outcomes.c.id.label("outcome"),
            outcomes.c.market_key,
            outcomes.c.name,
            latest.label("at"),
        )
        .select_from(
            upcoming.join(events, events.c.event_id == upcoming.c.event_id).join(
                outcomes, outcomes.c.event_id == upcoming.c.event_id
            )
        )
        .cte("current")
        .prefix_with("MATERIALIZED")
    )
    return (
        select(
            current.c.event_id,
            current.c.start_time,
            current.c.home_team,
            current.c.away_team,
            current.c.market_key,
            current.c.name,
            prices.c.odds,
            prices.c.status,
            prices.c.fetched_at,
        )
        .select_from(
            current.join(
                prices,
                and_(prices.c.outcome == current.c.outcome, prices.c.fetched_at == current.c.at),
            )
        )
        .order_by(current.c.start_time, current.c.outcome)
    )


def board_summary_query(now_ms: int, count: int) -> Any:
    """:func:`board_query`'s rows from the outcomes' summaries (schema version 3): each
    outcome's latest row is its summary's, one primary-key look-up (no price read)."""
    upcoming = (
        select(events.c.event_id)
        .where(events.c.start_time > now_ms)
        .order_by(events.c.start_time)
        .limit(count)
        .subquery()
    )
    summary = outcome_summaries.c
    return (
        select(
            events.c.event_id,
            events.c.start_time,
            events.c.home_team,
            events.c.away_team,
            outcomes.c.market_key,
            outcomes.c.name,
            summary.last_odds.label("odds"),
            summary.last_status.label("status"),
            summary.last_at.label("fetched_at"),
        )
        .select_from(
            upcoming.join(events, events.c.event_id == upcoming.c.event_id)
            .join(outcomes, outcomes.c.event_id == upcoming.c.event_id)
            .join(outcome_summaries, summary.outcome == outcomes.c.id)
        )
        .order_by(events.c.start_time, outcomes.c.id)
    )


# -- writing ---------------------------------------------------------------------------------


def time_writing(
    store: HistoryStore, uri: str, shape: MonthShape, rounds: int
) -> tuple[float, float, int]:
    """Prices/s of the writer and of a bare executemany (medians of the rounds), and how
    many prices each wrote."""
    rng = random.Random(7)
    base = WRITTEN_EVENTS
    kickoff = shape.end_ms + 3 * 86_400_000
    writer_events = [base + n for n in range(WRITE_EVENTS)]
    bare_events = [base + WRITE_EVENTS + n for n in range(WRITE_EVENTS)]
    ladder: dict[tuple[int, str], int] = {}
    # Both sets of events opened through the writer (their outcomes exist, prices stored).
    opening = [_observation(e, kickoff, shape.end_ms, None, rng, ladder) for e in writer_events]
    opening += [_observation(e, kickoff, shape.end_ms, None, rng, ladder) for e in bare_events]
    store.write(opening)
    with store._engine.connect() as connection:  # type: ignore[union-attr]
        ids = {
            (row.event_id, row.outcome_key): row.id
            for row in connection.execute(
                select(outcomes.c.id, outcomes.c.event_id, outcomes.c.outcome_key).where(
                    outcomes.c.event_id.in_(bare_events)
                )
            )
        }
    bare = _BareInserter(uri)
    writer_rates: list[float] = []
    bare_rates: list[float] = []
    written = 0
    try:
        for number in range(rounds):
            at = shape.end_ms + (number + 1) * 10_000
            moved = [
                _observation(e, kickoff, at, MOVED_PER_EVENT, rng, ladder) for e in writer_events
            ]
            twins = [
                _observation(e, kickoff, at, MOVED_PER_EVENT, rng, ladder) for e in bare_events
            ]
            rows = [
                (ids[p.event_id, p.outcome_key], p.fetched_ms, p.odds, p.fractional, p.status)
                for seen in twins
                for p in seen.prices
            ]
            count = sum(len(seen.prices) for seen in moved)
            assert count == len(rows)

            def write_batch(batch: list[Observation] = moved, count: int = count) -> None:
                assert store.write(batch).written == count

            def bare_batch(rows: list[tuple[Any, ...]] = rows) -> None:
                bare.insert(rows)

            pair: list[tuple[Callable[[], None], list[float]]] = [
                (write_batch, writer_rates),
                (bare_batch, bare_rates),
            ]
            for call, rates in pair if number % 2 == 0 else reversed(pair):
                rates.append(count / _seconds(call))
            written += count
    finally:
        bare.close()
    return statistics.median(writer_rates), statistics.median(bare_rates), written


def _observation(
    event_id: int,
    kickoff: int,
    at: int,
    moved: int | None,
    rng: random.Random,
    ladder: dict[tuple[int, str], int],
) -> Observation:
    """The event's prices at *at*: all of them (*moved* None), or *moved* of them each a
    step along the ladder (what a watch's moved items carry)."""
    plan_rows = outcome_rows(EventPlan(event_id, kickoff, at, at))
    chosen = plan_rows if moved is None else rng.sample(plan_rows, moved)
    found = []
    for row in chosen:
        key = (event_id, row["outcome_key"])
        index = ladder.get(key, rng.randrange(20, 60))
        if moved is not None:
            index += 1 if index < 40 or rng.random() < 0.5 else -1
        ladder[key] = index
        found.append(
            PriceRecord(
                event_id, row["market_key"], row["outcome_key"], row["outcome_id"], row["name"],
                at, ROUNDED[index], FRACTIONS[index], None,
            )
        )  # fmt: skip
    markets = [
        MarketRecord(event_id, m["market_key"], m["market_id"], m["name"])
        for m in market_rows(EventPlan(event_id, kickoff, at, at))
    ]
    header = EventHeader(event_id, 11, "Football", 1, "League 1", f"Home {event_id}",
                         f"Away {event_id}", kickoff, "Active", False)  # fmt: skip
    return Observation(header, markets, found)


class _BareInserter:
    """The floor: the driver's executemany of the rows, one transaction, nothing else."""

    def __init__(self, uri: str) -> None:
        url = database_url(uri)
        self.sqlite = url.get_backend_name() == "sqlite"
        if self.sqlite:
            import sqlite3

            self.connection: Any = sqlite3.connect(_sqlite_file(url), isolation_level=None)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            self.statement = "INSERT INTO kwiff_prices VALUES (?, ?, ?, ?, ?)"
        else:
            import psycopg

            self.connection = psycopg.connect(
                url.set(drivername="postgresql").render_as_string(hide_password=False)
            )
            self.statement = "INSERT INTO kwiff_prices VALUES (%s, %s, %s, %s, %s)"

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        if self.sqlite:
            self.connection.execute("BEGIN IMMEDIATE")
            self.connection.executemany(self.statement, rows)
            self.connection.execute("COMMIT")
        else:
            with self.connection.cursor() as cursor:
                cursor.executemany(self.statement, rows)
            self.connection.commit()

    def close(self) -> None:
        self.connection.close()


# -- disk ------------------------------------------------------------------------------------


def print_disk(uri: str, stored: int, raw_per_price: float) -> None:
    url = database_url(uri)
    parts: list[tuple[str, int]] = []
    if url.get_backend_name() == "sqlite":
        import sqlite3

        with (
            sqlite3.connect(_sqlite_file(url)) as connection,
            contextlib.suppress(sqlite3.OperationalError),
        ):
            parts = list(
                connection.execute(
                    "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
                )
            )
        total = Path(url.database or "").stat().st_size
    else:
        import psycopg

        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(plain) as connection:
            parts = [
                (name, int(size))
                for name, size in connection.execute(
                    "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i') "
                    "ORDER BY 2 DESC"
                )
            ]
        total = sum(size for _name, size in parts)
    price_parts = [(n, s) for n, s in parts if "price" in n]
    rows = [[name, f"{size / 1e6:,.0f}", f"{size / stored:.1f}"] for name, size in price_parts]
    prices_total = sum(size for _name, size in price_parts) or total
    rows.append(["prices: table and indexes", f"{prices_total / 1e6:,.0f}",
                 f"{prices_total / stored:.1f}"])  # fmt: skip
    rows.append(["whole database", f"{total / 1e6:,.0f}", f"{total / stored:.1f}"])
    print_table(["disk", "MB", "bytes per price"], rows)
    print(f"raw values of a price: {raw_per_price:.1f} bytes (outcome, time and odds 8 each, "
          "the fractional's and status's characters)")  # fmt: skip


# -- helpers ---------------------------------------------------------------------------------


def _vacuum_prices(uri: str) -> None:
    """VACUUM the prices (what autovacuum does after schema version 4's setting: every
    100,000 rows inserted); the share of their pages all-visible before and after (what
    index-only scans need)."""
    import psycopg

    url = database_url(uri).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as db:

        def visible() -> float:
            row = db.execute(
                "SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class "
                "WHERE oid = 'kwiff_prices'::regclass"
            ).fetchone()
            return float(row[0]) if row else 0.0

        before = visible()
        started = time.perf_counter()
        db.execute("VACUUM kwiff_prices")
        print(
            f"VACUUM kwiff_prices: {time.perf_counter() - started:.0f} s; pages all-visible "
            f"{before:.0%} before (as the statistics last said), {visible():.0%} after"
        )


def _kept_fill(uri: str, shape: MonthShape, order: str) -> tuple[Any, datetime] | None:
    """What a kept history was filled with and the end of its month, if it holds the
    same prices and events as *shape*; None: fill it afresh."""
    engine = create_engine(database_url(uri))
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(FILLED_TABLE):
                return None
            text = connection.exec_driver_sql(f"SELECT value FROM {FILLED_TABLE}").scalar()
    finally:
        engine.dispose()
    if text is None:
        return None
    found = json.loads(text)
    if (found["shape_prices"], found["shape_events"]) != (shape.prices, shape.events):
        raise SystemExit(
            f"the kept history holds {found['shape_prices']:,} prices over "
            f"{found['shape_events']:,} events, not {shape.prices:,} over {shape.events:,}: "
            "drop it or run with those counts"
        )
    end = datetime.fromtimestamp(found.pop("end_ms") / 1000, UTC)
    del found["shape_prices"], found["shape_events"]
    filled = Filled(**found)
    if filled.order != order:
        raise SystemExit(f"the kept history is in {filled.order} order, not {order}")
    return filled, end


def _keep_fill(engine: Any, filled: Any, shape: MonthShape) -> None:
    value = json.dumps(
        {**asdict(filled), "end_ms": shape.end_ms, "shape_prices": shape.prices,
         "shape_events": shape.events}
    )  # fmt: skip
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE TABLE {FILLED_TABLE} (value TEXT)")
        connection.execute(sql_text(f"INSERT INTO {FILLED_TABLE} VALUES (:v)"), {"v": value})


def _remove_written(engine: Any) -> None:
    """Delete what an earlier run's writing step added (its events from 30,000,000)."""
    with engine.begin() as connection:
        ids = select(outcomes.c.id).where(outcomes.c.event_id >= WRITTEN_EVENTS)
        connection.execute(prices.delete().where(prices.c.outcome.in_(ids)))
        connection.execute(
            outcome_summaries.delete().where(outcome_summaries.c.event_id >= WRITTEN_EVENTS)
        )
        for table in (outcomes, markets, events):
            connection.execute(table.delete().where(table.c.event_id >= WRITTEN_EVENTS))


@contextlib.contextmanager
def _database(backend: str, keep: str | None, *, reuse: bool = False) -> Iterator[str]:
    if backend == "sqlite":
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            path = Path(keep) / "month.sqlite"
            if not reuse:
                path.unlink(missing_ok=True)
            yield f"sqlite:///{path}"
            return
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'month.sqlite'}"
        return
    import psycopg

    schema = KEPT_SCHEMA if reuse else SCHEMA
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        if not reuse:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    try:
        yield f"{POSTGRES}?options={quote(f'-csearch_path={schema}')}"
    finally:
        if not keep and not reuse:
            with psycopg.connect(POSTGRES, autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextlib.contextmanager
def _stdout_to_null() -> Iterator[None]:
    saved = sys.stdout
    with open(os.devnull, "w", encoding="utf-8") as null:
        sys.stdout = null
        try:
            yield
        finally:
            sys.stdout = saved


def _sqlite_file(url: Any) -> str:
    """The file of a SQLite URL (the benchmark's are always files)."""
    if not url.database:
        raise ValueError(f"a SQLite history in a file, not {url}")
    return str(url.database)


def _seconds(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _python_peak(call: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _iso(moment: datetime) -> str:
    return f"{moment:%F %H:%M} UTC"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


if __name__ == "__main__":
    main()
