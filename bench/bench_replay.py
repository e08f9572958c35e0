"""Replaying the signal rules over a stored history: ``scrapy kwiff signals``' own cost.

``python -m bench.bench_replay [--quick] [--prices N] [--rounds N]``

A SQLite history of ``--prices`` stored prices (default 1,000,000) is built first, by a
generator of realistic moves (:func:`build_history`): 200 football events at a time of
44 outcomes each (a result market, double chance, both teams to score, six over/unders,
half time, first to score, correct score), polled once a minute, as the clocked
simulator moves them: an event trades for eight hours before kick-off and two hours in
play, then it is gone and the next one appears; each minute, up to three of its
outcomes move one ladder step along a trend (mostly on the main and first markets,
three times as often in play), and a market now and then suspends for a few minutes.
Then, round by round and in turn:

- **rows**: the SQL rows of the replay's reader, fetched and dropped (the database's
  and the driver's share);
- **changes**: :func:`kwiff_scrapy.history.replay.stream_changes`: the same rows as the
  watch's changes, in time order (what the replay reads);
- **replay**: those changes through the detectors with the default rules
  (:func:`kwiff_scrapy.model.replay.replay`), as ``scrapy kwiff signals`` runs them.

Printed: the median seconds (wall and CPU: everything runs in this process, so its CPU
time is the readings' own, less hurt by a loaded machine) and prices per second of each,
and the ratio of the replay's rate to the rate of reading the changes without detectors
(goal >= 0.5), on both clocks.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from kwiff_scrapy.history.replay import price_rows_query, state_rows_query, stream_changes
from kwiff_scrapy.history.schema import database_url, open_engine, prepare
from kwiff_scrapy.integration.signal_settings import load_signal_rules
from kwiff_scrapy.model.replay import replay
from kwiff_scrapy.simulator.prices import LADDER

from ._common import base_parser, print_header, print_table, ratio_line

GOAL = 0.5
EVENTS = 200
#: (market name, opening decimal odds of its outcomes).
MARKETS: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("Full Time Result", (2.1, 3.4, 3.6)),
    ("Double Chance", (1.3, 1.36, 1.75)),
    ("Both Teams To Score", (1.8, 1.95)),
    *((f"Over/Under {n}.5 Goals", (1.1 + n * 0.45, 4.5 - n * 0.6)) for n in range(6)),
    ("Half Time Result", (2.9, 2.1, 3.7)),
    ("Team To Score First", (1.9, 12.0, 2.2)),
    ("Correct Score", (8.0, 9.0, 7.5, 13.0, 17.0, 11.0, 26.0, 34.0, 21.0, 41.0, 51.0, 15.0,
                       19.0, 29.0, 67.0, 81.0, 101.0)),
)  # fmt: skip
#: As the clocked simulator moves (kwiff_scrapy.simulator.moves.CLOCKED): the chance of
#: each of up to three moves an event a minute (before and in play), the share of the main market
#: and of the first markets (the listed ones), a trend of 4 to 10 one-step moves.
MOVES = 0.2
IN_PLAY_MOVES = 0.6
TRADING_MINUTES = 8 * 60
IN_PLAY_MINUTES = 120
MAIN_SHARE = 0.3
LISTED_SHARE = 0.6
LISTED = 9
START_MS = 1_765_000_000_000
POLL_MS = 60_000
NOTE = (
    "in this process, SQLite on a temporary file; the three readings take turns round by "
    "round and the figures are medians (the machine is shared: compare the ratio)"
)


def _ladder_index(odds: float) -> int:
    """The ladder step nearest *odds* (clamped into the ladder)."""
    best = min(range(len(LADDER)), key=lambda i: abs(LADDER[i].decimal - odds))
    return max(1, min(best, len(LADDER) - 2))


class _Generator:
    """Events in :data:`EVENTS` slots, one after another in each: an event's prices trade
    for :data:`TRADING_MINUTES` before kick-off and :data:`IN_PLAY_MINUTES` in play, then
    it is gone (its prices removed) and the next event of the slot appears."""

    def __init__(self, db: sqlite3.Connection, seed: int) -> None:
        self.db = db
        self.rng = random.Random(seed)
        self.rows: list[tuple[int, int, float | None, str | None, str | None]] = []
        self.states: list[tuple[int, int, str, bool, str]] = []
        self.written = 0
        self.next_event = 20_000_000
        self.next_row = 0
        self.ladder: dict[int, int] = {}  # outcome row id -> ladder index now
        self.trend: dict[int, tuple[int, int]] = {}
        # slot -> (event id, kick-off poll, market -> outcome row ids)
        self.slots: list[tuple[int, int, list[list[int]]]] = []
        self.suspended: dict[tuple[int, int], int] = {}  # (slot, market) -> resume poll
        self.priced: set[int] = set()  # outcomes priced in this poll (one row each at most)

    def new_event(self, poll: int, kickoff: int) -> tuple[int, int, list[list[int]]]:
        event_id = self.next_event
        self.next_event += 1
        at = START_MS + poll * POLL_MS
        self.db.execute(
            "INSERT INTO kwiff_events (event_id, sport_id, sport_name, competition_id, "
            "competition_name, home_team, away_team, start_time, betting_status, in_play, "
            "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (event_id, 11, "Football", 1, "League", f"Home {event_id}", f"Away {event_id}",
             START_MS + kickoff * POLL_MS, "OPEN", False, at),
        )  # fmt: skip
        self.states.append((event_id, at, "new", False, "OPEN"))
        spans: list[list[int]] = []
        for m, (name, odds) in enumerate(MARKETS):
            market_id = event_id * 100 + m + 1
            self.db.execute(
                "INSERT INTO kwiff_markets VALUES (?,?,?,?)",
                (event_id, str(market_id), market_id, name),
            )
            spans.append([])
            for o, price in enumerate(odds):
                self.next_row += 1
                row = self.next_row
                outcome_id = market_id * 100 + o + 1
                self.db.execute(
                    "INSERT INTO kwiff_outcomes (id, event_id, market_key, outcome_key, "
                    "outcome_id, name) VALUES (?,?,?,?,?,?)",
                    (row, event_id, str(market_id), str(outcome_id), outcome_id, f"{name} {o}"),
                )
                index = self.ladder[row] = _ladder_index(price)
                self.price(row, at, index, None)
                spans[-1].append(row)
        return event_id, kickoff, spans

    def price(self, row: int, at: int, index: int | None, status: str | None) -> None:
        self.priced.add(row)
        if index is None:
            self.rows.append((row, at, None, None, status))
        else:
            self.rows.append((row, at, LADDER[index].decimal, LADDER[index].fractional, status))
        self.written += 1
        if len(self.rows) >= 100_000:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT OR IGNORE INTO kwiff_prices VALUES (?,?,?,?,?)", self.rows)
        self.rows = []

    def poll(self, poll: int) -> None:
        rng, at = self.rng, START_MS + poll * POLL_MS
        self.priced.clear()
        for slot, (event_id, kickoff, spans) in enumerate(self.slots):
            if poll == kickoff + IN_PLAY_MINUTES:  # over: gone, and the next one appears
                self.states.append((event_id, at, "removed", True, "OPEN"))
                for market in spans:
                    for row in market:
                        self.price(row, at, None, "removed")
                        del self.ladder[row]
                        self.trend.pop(row, None)
                for key in [key for key in self.suspended if key[0] == slot]:
                    del self.suspended[key]
                self.slots[slot] = self.new_event(poll, poll + TRADING_MINUTES)
                continue
            if poll == kickoff:
                self.states.append((event_id, at, "status", True, "OPEN"))
            in_play = poll >= kickoff
            for (s, m), until in list(self.suspended.items()):
                if s == slot and until == poll:
                    del self.suspended[s, m]
                    for row in spans[m]:
                        self.price(row, at, self.ladder[row], None)
            if rng.random() < (0.005 if in_play else 0.001):
                m = rng.randrange(len(MARKETS))
                if (slot, m) not in self.suspended:
                    self.suspended[slot, m] = poll + rng.randint(1, 4)
                    for row in spans[m]:
                        self.price(row, at, self.ladder[row], "suspended")
            moves = 0
            while moves < 3 and rng.random() < (IN_PLAY_MOVES if in_play else MOVES):
                moves += 1
                draw = rng.random()
                if draw < MAIN_SHARE:
                    m = 0
                elif draw < LISTED_SHARE:
                    m = rng.randrange(LISTED)
                else:
                    m = rng.randrange(len(MARKETS))
                if (slot, m) in self.suspended:
                    continue
                row = rng.choice(spans[m])
                if row in self.priced:
                    continue
                direction, left = self.trend.get(row, (0, 0))
                if left <= 0:
                    direction, left = rng.choice((-1, 1)), rng.randint(4, 10)
                index = min(max(self.ladder[row] + direction, 0), len(LADDER) - 1)
                self.trend[row] = (direction, left - 1)
                if index != self.ladder[row]:
                    self.ladder[row] = index
                    self.price(row, at, index, None)


def build_history(path: Path, prices: int, seed: int = 7) -> tuple[int, int]:
    """A history of about *prices* stored prices; (prices, event states) written."""
    engine = open_engine(database_url(f"sqlite:///{path}"), writer=True)
    prepare(engine)
    engine.dispose()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        generator = _Generator(db, seed)
        lifetime = TRADING_MINUTES + IN_PLAY_MINUTES
        for slot in range(EVENTS):  # kick-offs staggered over one lifetime
            generator.slots.append(generator.new_event(0, lifetime * slot // EVENTS))
        poll = 0
        while generator.written < prices:
            poll += 1
            generator.poll(poll)
        generator.flush()
        db.executemany("INSERT INTO kwiff_event_states VALUES (?,?,?,?,?)", generator.states)
        db.commit()
        stored = db.execute("SELECT count(*) FROM kwiff_prices").fetchone()[0]
    return stored, len(generator.states)


def read_rows(uri: str) -> int:
    """The replay's SQL rows, fetched and dropped."""
    engine = create_engine(uri)
    count = 0
    try:
        with engine.connect() as connection:
            streaming = connection.execution_options(stream_results=True, yield_per=5000)
            for query in (price_rows_query(None, None), state_rows_query(None, None)):
                for _ in streaming.execute(query):
                    count += 1
    finally:
        engine.dispose()
    return count


def read_changes(uri: str) -> int:
    engine = create_engine(uri)
    try:
        return sum(1 for _ in stream_changes(engine))
    finally:
        engine.dispose()


def replay_signals(uri: str) -> int:
    engine = create_engine(uri)
    try:
        return sum(1 for _ in replay(load_signal_rules(None), stream_changes(engine)))
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "bench_replay")
    parser.add_argument("--prices", type=int, default=None, help="stored prices (1,000,000)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of each (5)")
    args: argparse.Namespace = parser.parse_args(argv)
    prices = args.prices or (50_000 if args.quick else 1_000_000)
    rounds = args.rounds or (2 if args.quick else 5)
    print_header("replay of the signal rules over a stored history", args, NOTE)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.sqlite"
        started = time.perf_counter()
        stored, states = build_history(path, prices)
        print(f"history : {stored:,} prices and {states:,} event states of {EVENTS} events, "
              f"built in {time.perf_counter() - started:.1f} s")  # fmt: skip
        uri = f"sqlite:///{path}"
        runs: dict[str, Callable[[str], int]] = {
            "rows": read_rows,
            "changes": read_changes,
            "replay": replay_signals,
        }
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        counts: dict[str, Any] = {}
        for _ in range(rounds):
            for name, run in runs.items():
                begun, cpu_begun = time.perf_counter(), time.process_time()
                counts[name] = run(uri)
                seconds[name].append(time.perf_counter() - begun)
                cpu[name].append(time.process_time() - cpu_begun)
        medians = {name: statistics.median(values) for name, values in seconds.items()}
        cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
        print_table(
            ("reading", "seconds (median)", "prices/s", "CPU s (median)", "what it yielded"),
            [
                (
                    name,
                    medians[name],
                    round(stored / medians[name]),
                    cpu_medians[name],
                    f"{counts[name]:,}",
                )
                for name in runs
            ],
        )
        print()
        print(f"signals fired by the default rules: {counts['replay']:,}")
        for clock, figures in (("wall", medians), ("CPU", cpu_medians)):
            ratio = figures["changes"] / figures["replay"]
            print(
                ratio_line(
                    f"replay / reading without detectors (prices/s, {clock} time)",
                    ratio,
                    f">= {GOAL}",
                )
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
