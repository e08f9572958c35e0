"""A mixed, seeded workload for the history writer, and what it leaves stored.

Three writers of one database take turns (a shared watch, machines crawling the same
events), restarting now and then: snapshots mostly unchanged, a watch's reported moves,
a slower machine's older answers, several answers of one outcome in a batch, new
outcomes and events, batches written twice, removed events, held statuses
(``KEEP_STATUS``), odds of 1 or none; and rounds of moved prices like the month
benchmark's. ``python -m tests.history.writer_workload URI OUT`` writes it (the golden
file ``data/writer-golden.json`` was made by the writer before its set-based rewrite).
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any

from kwiff_scrapy.history.records import (
    KEEP_STATUS,
    EventHeader,
    MarketRecord,
    Observation,
    PriceRecord,
)
from kwiff_scrapy.history.schema import database_url, open_engine
from kwiff_scrapy.history.store import HistoryStore

ODDS = [1.5, 1.62, 1.73, 1.8, 1.91, 2, 2.1, 2.25, 2.5, 3.0, 1.0, None]
STATUS = [None] * 8 + ["suspended", KEEP_STATUS, "closed"]
START = 1_700_000_000_000


def _header(event_id: int) -> EventHeader:
    return EventHeader(event_id, 11, "Football", 1, "L1", f"H{event_id}", f"A{event_id}",
                       START + 86_400_000, "Active", False)  # fmt: skip


def _price(
    event_id: int, outcome: int, at: int, rng: random.Random, reported: bool = False
) -> PriceRecord:
    odds = rng.choice(ODDS)
    fractional = None if odds is None else f"{odds}/1"
    return PriceRecord(event_id, f"m{outcome % 3}", f"o{outcome}", outcome, f"n{outcome}", at,
                       odds, fractional, rng.choice(STATUS), reported)  # fmt: skip


def _observation(event_id: int, prices: list[PriceRecord], removed: bool = False) -> Observation:
    markets = [MarketRecord(event_id, f"m{k}", k, f"M{k}") for k in range(3)]
    return Observation(_header(event_id), markets, prices, event_removed=removed)


def workload(seed: int, steps: int = 40) -> list[tuple[int, list[Observation]]]:
    """Batches, each with the index of the writer (0-2) that writes it."""
    rng = random.Random(seed)
    batches: list[tuple[int, list[Observation]]] = []
    at = START
    events = list(range(1, 11))
    outcomes = {e: rng.randrange(4, 10) for e in events}
    for step in range(steps):
        at += 10_000
        writer = rng.randrange(3) if step > 5 else 0
        batch: list[Observation] = []
        for e in rng.sample(events, rng.randrange(1, len(events))):
            kind = rng.random()
            if kind < 0.3:  # a snapshot: every outcome, mostly as before
                ps = [_price(e, o, at, random.Random(e * 1000 + o * 10 + step // 4))
                      for o in range(outcomes[e])]  # fmt: skip
            elif kind < 0.6:  # a watch's moves
                chosen = rng.sample(range(outcomes[e]), rng.randrange(1, outcomes[e]))
                ps = [_price(e, o, at, rng, reported=True) for o in chosen]
            elif kind < 0.7:  # a slower machine: older answers
                old = at - rng.randrange(1, 8) * 10_000 + rng.choice([0, 1])
                ps = [_price(e, o, old, rng, reported=rng.random() < 0.5)
                      for o in range(outcomes[e])]  # fmt: skip
            elif kind < 0.8:  # several answers of one outcome in one batch
                ps = [_price(e, o, at + d, rng) for d in (0, 1, 2) for o in range(outcomes[e])]
            elif kind < 0.85:  # a new outcome
                outcomes[e] += 1
                ps = [_price(e, o, at, rng) for o in range(outcomes[e])]
            elif kind < 0.9 and batches:  # observations written before, again
                batch += rng.choice(batches)[1]
                continue
            else:
                ps = [_price(e, o, at, rng) for o in range(outcomes[e])]
            batch.append(_observation(e, ps, removed=rng.random() < 0.03))
        if rng.random() < 0.1:  # a new event
            e = 100 + step
            events.append(e)
            outcomes[e] = rng.randrange(3, 9)
            batch.append(_observation(e, [_price(e, o, at, rng) for o in range(outcomes[e])]))
        batches.append((writer, batch))
        if rng.random() < 0.05:
            batches.append((writer, list(batch)))
    return batches


def month_rounds(
    seed: int, events: int = 20, rounds: int = 5
) -> list[tuple[int, list[Observation]]]:
    """The month benchmark's writing: every outcome of *events* events, then rounds of
    a few moved prices each (a step along a ladder of odds), one writer."""
    rng = random.Random(seed)
    ladder = [round(1.01 + step * 0.07, 2) for step in range(80)]
    position = {(e, o): rng.randrange(20, 60) for e in range(500, 500 + events) for o in range(12)}
    at = START
    batches = [(0, [_observation(e, [
        PriceRecord(e, f"m{o % 3}", f"o{o}", o, f"n{o}", at, ladder[position[e, o]], None, None)
        for o in range(12)]) for e in range(500, 500 + events)])]  # fmt: skip
    for _ in range(rounds):
        at += 10_000
        batch = []
        for e in range(500, 500 + events):
            moved = []
            for o in rng.sample(range(12), 4):
                position[e, o] += 1 if rng.random() < 0.5 else -1
                moved.append(PriceRecord(e, f"m{o % 3}", f"o{o}", o, f"n{o}", at,
                                         ladder[position[e, o]], None, None))  # fmt: skip
            batch.append(_observation(e, moved))
        batches.append((0, batch))
    return batches


def run(uri: str) -> dict[str, Any]:
    """Write the workloads into *uri* (empty); the results, rows and summaries stored."""
    url = database_url(uri)
    results: list[list[int]] = []
    batches = [*workload(1), *workload(2, steps=20), *month_rounds(3)]
    stores = [HistoryStore(url) for _ in range(3)]
    for store in stores:
        store.open()
    for number, (writer, batch) in enumerate(batches):
        result = stores[writer].write(batch)
        results.append([result.written, result.unchanged])
        if number % 17 == 16:  # a writer restarts: its memory starts again
            stores[writer].close()
            stores[writer] = HistoryStore(url)
            stores[writer].open()
    for store in stores:
        store.close()
    return {"results": results, **stored(uri)}


def stored(uri: str) -> dict[str, list[list[Any]]]:
    engine = open_engine(database_url(uri), writer=False)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT o.event_id, o.outcome_key, p.fetched_at, p.odds, p.fractional, p.status "
                "FROM kwiff_prices p JOIN kwiff_outcomes o ON o.id = p.outcome ORDER BY 1, 2, 3"
            ).all()
            summaries = connection.exec_driver_sql(
                "SELECT o.event_id, o.outcome_key, s.event_id, s.prices, s.opening_at, s.high, "
                "s.low, s.last_at, s.last_odds, s.last_status FROM kwiff_outcome_summaries s "
                "JOIN kwiff_outcomes o ON o.id = s.outcome ORDER BY 1, 2"
            ).all()
    finally:
        engine.dispose()
    # Odds as floats: SQLite keeps a whole number as an integer.
    return {
        "prices": [[e, k, t, None if odds is None else float(odds), f, s]
                   for e, k, t, odds, f, s in rows],
        "summaries": [[*row[:5], *(None if v is None else float(v) for v in row[5:7]), row[7],
                       None if row[8] is None else float(row[8]), row[9]] for row in summaries],
    }  # fmt: skip


if __name__ == "__main__":
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(run(sys.argv[1]), out, separators=(",", ":"))
        out.write("\n")
