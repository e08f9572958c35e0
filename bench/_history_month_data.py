"""A month of a busy watch as odds history rows, generated fast, and bulk-loaded.

The shape (``MonthShape``): *events* football events whose kick-offs are spread over
the month (and two days past its end: the upcoming ones a board shows); each is watched
from three days before kick-off to two hours after, or to the month's end. Each event
has the markets of a real football card (a result, double chance, totals, handicaps,
correct score, scorers: ~150 outcomes). Each outcome opens at the event's first poll,
then moves at poll times (every 10 s) drawn more densely near kick-off, a step or two
up or down the Kwiff ladder each time; about 3 % of moves are a suspension (the same
odds, status ``suspended``) and an outcome may be removed in play (no odds, status
``removed``). The prices are shared out between events by how long each is watched,
so a day of the month holds about ``prices / 30``: the 45 million of a month are
~1.5 million a day, what a watch polling every 10 s against a market moving ~170
prices a poll stores.

The rows are written as the schema's tables hold them, through the database's own
driver: ``executemany`` in transactions of 200,000 rows on SQLite (journal off,
cache 1 GiB: the fill only), ``COPY`` on PostgreSQL (by default in time order, as a
watch writes them: each day's rows spooled to a file, sorted, then copied). The tables
and indexes are the schema's, created (and migrated) by
:class:`~kwiff_scrapy.history.store.HistoryStore`; the outcomes' summaries are then
built from the rows, as the migration to schema version 3 builds them (timed apart).
"""

from __future__ import annotations

import bisect
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kwiff_scrapy.simulator.prices import LADDER

DAY_MS = 86_400_000
POLL_MS = 10_000
WATCH_BEFORE_MS = 3 * DAY_MS
WATCH_AFTER_MS = 2 * 3_600_000
#: (market name, outcome names) of a football card: ~150 outcomes.
CARD: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Full Time Result", ("Home", "Draw", "Away")),
    ("Double Chance", ("Home or Draw", "Away or Draw", "Home or Away")),
    ("Half Time Result", ("Home", "Draw", "Away")),
    ("Both Teams To Score", ("Yes", "No")),
    *((f"Total Goals {n}.5", ("Over", "Under")) for n in range(0, 6)),
    *((f"Handicap {n:+d}", ("Home", "Draw", "Away")) for n in (-2, -1, 1, 2)),
    ("Correct Score", tuple(f"{h}-{a}" for h in range(5) for a in range(5))),
    ("First Goalscorer", tuple(f"Player {n}" for n in range(1, 41))),
    ("Anytime Goalscorer", tuple(f"Player {n}" for n in range(1, 41))),
    ("Total Corners", tuple(f"{n} or more" for n in range(6, 16))),
)
OUTCOMES_PER_EVENT = sum(len(names) for _market, names in CARD)
DECIMALS = [price.decimal for price in LADDER]
FRACTIONS = [price.fractional for price in LADDER]
ROUNDED = [float(price.odds) for price in LADDER]


@dataclass(frozen=True)
class MonthShape:
    prices: int
    events: int
    end_ms: int
    seed: int = 21

    @property
    def start_ms(self) -> int:
        return self.end_ms - 30 * DAY_MS


@dataclass
class Filled:
    """What was loaded."""

    events: int = 0
    outcomes: int = 0
    prices: int = 0
    seconds: float = 0.0
    #: The event with the most prices, and how many.
    busiest_event: int = 0
    busiest_prices: int = 0
    #: Raw size of the price rows' values: 8-byte outcome, time and odds, the
    #: fractional's and the status's characters.
    raw_bytes: int = 0
    #: Building the outcomes' summaries from the loaded rows (what the migration to
    #: schema version 3 does).
    summary_seconds: float = 0.0
    #: The order the rows were written in: "event" (each event's rows together) or
    #: "time" (as a watch writes them).
    order: str = "event"


@dataclass(frozen=True)
class EventPlan:
    event_id: int
    kickoff_ms: int
    open_ms: int
    close_ms: int


def plan_events(shape: MonthShape) -> list[EventPlan]:
    rng = random.Random(shape.seed)
    plans = []
    for number in range(shape.events):
        kickoff = rng.randrange(shape.start_ms + DAY_MS, shape.end_ms + 2 * DAY_MS, 15 * 60_000)
        open_ms = max(shape.start_ms, kickoff - WATCH_BEFORE_MS)
        open_ms -= open_ms % POLL_MS
        close = min(shape.end_ms, kickoff + WATCH_AFTER_MS)
        if close - open_ms < 10 * POLL_MS:  # watched too briefly (or not yet): shorten
            open_ms = close - 10 * POLL_MS
        plans.append(EventPlan(20_000_000 + number, kickoff, open_ms, close))
    return plans


def event_rows(plan: EventPlan) -> list[dict[str, Any]]:
    return [
        {
            "event_id": plan.event_id,
            "sport_id": 11,
            "sport_name": "Football",
            "competition_id": 1 + plan.event_id % 40,
            "competition_name": f"League {1 + plan.event_id % 40}",
            "home_team": f"Home {plan.event_id}",
            "away_team": f"Away {plan.event_id}",
            "start_time": plan.kickoff_ms,
            "betting_status": "Active",
            "in_play": False,
            "updated_at": plan.close_ms,
        }
    ]


def market_rows(plan: EventPlan) -> list[dict[str, Any]]:
    return [
        {
            "event_id": plan.event_id,
            "market_key": str(plan.event_id * 100 + number),
            "market_id": plan.event_id * 100 + number,
            "name": name,
        }
        for number, (name, _outcomes) in enumerate(CARD)
    ]


def outcome_rows(plan: EventPlan) -> list[dict[str, Any]]:
    rows = []
    for number, (_name, names) in enumerate(CARD):
        market_id = plan.event_id * 100 + number
        for index, name in enumerate(names):
            outcome_id = market_id * 100 + index
            rows.append(
                {
                    "event_id": plan.event_id,
                    "market_key": str(market_id),
                    "outcome_key": str(outcome_id),
                    "outcome_id": outcome_id,
                    "name": name,
                }
            )
    return rows


def price_rows(
    rng: random.Random, outcome: int, plan: EventPlan, moves: int
) -> Iterator[tuple[int, int, float | None, str | None, str | None]]:
    """One outcome's rows: the opening price, then *moves* changes, time order."""
    slots = (plan.close_ms - plan.open_ms) // POLL_MS
    times = {0}
    wanted = min(moves + 1, slots)
    while len(times) < wanted:
        # Denser towards the end of the watch (kick-off and in play).
        times.add(int(slots * (1 - rng.random() ** 2.5)))
    index = bisect.bisect_left(DECIMALS, 1.2 + rng.random() ** 2 * 30)
    index = min(index, len(LADDER) - 1)
    removed_at = slots - rng.randrange(1, 50) if rng.random() < 0.05 else None
    for slot in sorted(times):
        at = plan.open_ms + slot * POLL_MS
        if removed_at is not None and slot >= removed_at:
            yield outcome, at, None, None, "removed"
            return
        draw = rng.random()
        if draw < 0.03:
            yield outcome, at, ROUNDED[index], FRACTIONS[index], "suspended"
            continue
        step = 1 if draw < 0.8 else 2
        index = min(max(index + (step if rng.random() < 0.5 else -step), 0), len(LADDER) - 1)
        yield outcome, at, ROUNDED[index], FRACTIONS[index], None


def generate(
    shape: MonthShape, first_outcome_id: int
) -> Iterator[tuple[EventPlan, list[tuple[Any, ...]]]]:
    """Each event's plan and its price rows (outcome ids numbered from
    *first_outcome_id*, in ``outcome_rows`` order)."""
    plans = plan_events(shape)
    watched = sum(p.close_ms - p.open_ms for p in plans)
    rng = random.Random(shape.seed + 1)
    outcome = first_outcome_id
    for plan in plans:
        share = shape.prices * (plan.close_ms - plan.open_ms) / watched / OUTCOMES_PER_EVENT
        rows: list[tuple[Any, ...]] = []
        for _ in range(OUTCOMES_PER_EVENT):
            moves = max(0, int(rng.expovariate(1 / share)) - 1) if share > 1 else 0
            rows.extend(price_rows(rng, outcome, plan, moves))
            outcome += 1
        yield plan, rows


def fill(
    engine: Any, shape: MonthShape, *, progress: bool = True, time_order: bool = False
) -> Filled:
    """Load *shape* into the (prepared, empty) history at *engine*; what was loaded.

    *time_order* (PostgreSQL): the rows are copied in time order, as a watch writes
    them, so the heap holds them in that order (an outcome's rows spread over the
    month); otherwise event by event (each event's rows together: a layout no watch
    makes, kind to PostgreSQL's look-ups)."""
    from sqlalchemy import insert

    from kwiff_scrapy.history.schema import events, markets, outcomes

    filled = Filled()
    started = time.perf_counter()
    plans = plan_events(shape)
    with engine.begin() as connection:
        for chunk in _chunks(plans, 500):
            connection.execute(insert(events), [r for p in chunk for r in event_rows(p)])
            connection.execute(insert(markets), [r for p in chunk for r in market_rows(p)])
            connection.execute(insert(outcomes), [r for p in chunk for r in outcome_rows(p)])
        first_outcome = connection.exec_driver_sql("SELECT min(id) FROM kwiff_outcomes").scalar()
    filled.events = len(plans)
    filled.outcomes = len(plans) * OUTCOMES_PER_EVENT
    loader: _SqliteLoader | _CopyLoader | _TimeOrderedCopyLoader
    if engine.dialect.name == "sqlite":
        loader = _SqliteLoader(engine)
    elif time_order:
        loader = _TimeOrderedCopyLoader(engine, shape, progress=progress)
    else:
        loader = _CopyLoader(engine)
    try:
        for plan, rows in generate(shape, int(first_outcome)):
            loader.add(rows)
            filled.prices += len(rows)
            filled.raw_bytes += sum(24 + len(r[3] or "") + len(r[4] or "") for r in rows)
            if len(rows) > filled.busiest_prices:
                filled.busiest_event, filled.busiest_prices = plan.event_id, len(rows)
            if progress and loader.flushed_now:
                rate = filled.prices / (time.perf_counter() - started)
                print(f"  ... {filled.prices:,} prices ({rate:,.0f}/s)", flush=True)
    finally:
        loader.close()
    filled.seconds = time.perf_counter() - started
    filled.order = "time" if isinstance(loader, _TimeOrderedCopyLoader) else "event"
    # The rows went in by the bulk path, around the writer: their summaries are built
    # as the migration to version 3 builds them.
    from kwiff_scrapy.history.summaries import rebuild

    building = time.perf_counter()
    with engine.begin() as connection:
        rebuild(connection)
    filled.summary_seconds = time.perf_counter() - building
    return filled


class _SqliteLoader:
    """``executemany`` through the standard library's driver, 200,000 rows a transaction."""

    CHUNK = 200_000

    def __init__(self, engine: Any) -> None:
        import sqlite3

        self.connection = sqlite3.connect(engine.url.database, isolation_level=None)
        self.connection.execute("PRAGMA cache_size=-1048576")
        self.connection.execute("PRAGMA synchronous=OFF")
        self.pending: list[tuple[Any, ...]] = []
        self.flushed_now = False

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        self.pending.extend(rows)
        self.flushed_now = len(self.pending) >= self.CHUNK
        if self.flushed_now:
            self.flush()

    def flush(self) -> None:
        self.connection.execute("BEGIN")
        self.connection.executemany(
            "INSERT INTO kwiff_prices (outcome, fetched_at, odds, fractional, status) "
            "VALUES (?, ?, ?, ?, ?)",
            self.pending,
        )
        self.connection.execute("COMMIT")
        self.pending = []

    def close(self) -> None:
        if self.pending:
            self.flush()
        self.connection.execute("ANALYZE")
        self.connection.close()


class _CopyLoader:
    """``COPY ... FROM STDIN`` through psycopg, 200,000 rows a transaction."""

    CHUNK = 200_000

    def __init__(self, engine: Any) -> None:
        self.raw = engine.raw_connection()
        self.pending: list[tuple[Any, ...]] = []
        self.flushed_now = False

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        self.pending.extend(rows)
        self.flushed_now = len(self.pending) >= self.CHUNK
        if self.flushed_now:
            self.flush()

    def flush(self) -> None:
        cursor = self.raw.cursor()
        with cursor.copy(
            "COPY kwiff_prices (outcome, fetched_at, odds, fractional, status) FROM STDIN"
        ) as copy:
            for row in self.pending:
                copy.write_row(row)
        self.raw.commit()
        self.pending = []

    def close(self) -> None:
        if self.pending:
            self.flush()
        cursor = self.raw.cursor()
        cursor.execute("ANALYZE")
        self.raw.commit()
        self.raw.close()


class _TimeOrderedCopyLoader:
    """``COPY`` in time order: the rows spooled to a file per day of the month (COPY's
    text format), then each day's sorted by time and copied, 200,000 rows a
    transaction."""

    CHUNK = 200_000
    SPOOL = 100_000

    def __init__(self, engine: Any, shape: MonthShape, *, progress: bool) -> None:
        self.raw = engine.raw_connection()
        self.start_ms = shape.start_ms
        self.progress = progress
        self.folder = tempfile.TemporaryDirectory(prefix="kwiff-month-")
        self.files: dict[int, Any] = {}
        self.spooled = 0
        self.flushed_now = False

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        days: dict[int, list[str]] = {}
        for outcome, at, odds, fractional, status in rows:
            line = (
                f"{outcome}\t{at}\t{_copy_text(odds)}\t{_copy_text(fractional)}\t"
                f"{_copy_text(status)}\n"
            )
            days.setdefault((at - self.start_ms) // DAY_MS, []).append(line)
        for day, lines in days.items():
            spool = self.files.get(day)
            if spool is None:
                spool = self.files[day] = open(  # noqa: SIM115 (closed in close())
                    f"{self.folder.name}/{day:04d}", "w", encoding="utf-8"
                )
            spool.writelines(lines)
        before = self.spooled // self.SPOOL
        self.spooled += len(rows)
        self.flushed_now = self.spooled // self.SPOOL > before

    def close(self) -> None:
        try:
            for spool in self.files.values():
                spool.close()
            copied = 0
            started = time.perf_counter()
            for day in sorted(self.files):
                with open(f"{self.folder.name}/{day:04d}", encoding="utf-8") as spool:
                    lines = spool.readlines()
                lines.sort(key=_time_then_outcome)
                for chunk in _chunks(lines, self.CHUNK):
                    cursor = self.raw.cursor()
                    with cursor.copy(
                        "COPY kwiff_prices (outcome, fetched_at, odds, fractional, status) "
                        "FROM STDIN"
                    ) as copy:
                        copy.write("".join(chunk))
                    self.raw.commit()
                copied += len(lines)
                if self.progress:
                    rate = copied / (time.perf_counter() - started)
                    print(f"  ... copied day {day}: {copied:,} prices ({rate:,.0f}/s)", flush=True)
            cursor = self.raw.cursor()
            cursor.execute("ANALYZE")
            self.raw.commit()
        finally:
            self.raw.close()
            self.folder.cleanup()


def _copy_text(value: Any) -> str:
    return "\\N" if value is None else str(value)


def _time_then_outcome(line: str) -> tuple[int, int]:
    outcome, at, _rest = line.split("\t", 2)
    return int(at), int(outcome)


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
