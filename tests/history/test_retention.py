"""Retention (KWIFF_HISTORY_KEEP): only what is older than the cutoff goes, each outcome
keeps its price at the cutoff, finished events go whole; in many small transactions,
between which a writer writes. On SQLite and on a real PostgreSQL server."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import random
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select

from kwiff_scrapy.commands import history as history_command
from kwiff_scrapy.commands.history import HistoryPlan
from kwiff_scrapy.history.errors import HistoryError
from kwiff_scrapy.history.records import (
    EventHeader,
    MarketRecord,
    Observation,
    PriceRecord,
    from_ms,
)
from kwiff_scrapy.history.retention import delete_old
from kwiff_scrapy.history.schema import (
    database_url,
    event_states,
    events,
    markets,
    outcomes,
    prices,
    signals,
)
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.history.summaries import rebuild

from ..support.crawl_process import scrapy_kwiff
from ..support.databases import history_uri, postgres_server, postgres_uri
from ..support.waiting import HANG_GUARD as DEADLINE
from .test_summaries import summaries_and_rebuilt

DAY = 86_400_000
NOW = 1_790_000_000_000
KEEP = timedelta(days=90)
CUTOFF = NOW - 90 * DAY
#: event id -> kick-off: 1 long finished, 2 kicked off before the cutoff but still
#: priced since (a long tournament outright), 3 upcoming.
KICKOFFS = {1: CUTOFF - 30 * DAY, 2: CUTOFF - DAY, 3: NOW + DAY}


def price_times(rng: random.Random, event_id: int) -> list[int]:
    if event_id == 1:
        return sorted(rng.sample(range(CUTOFF - 60 * DAY, CUTOFF - 30 * DAY, 60_000), 12))
    return sorted(rng.sample(range(CUTOFF - 20 * DAY, NOW, 60_000), 12))


def build(uri: str) -> dict[str, Any]:
    """The history, written with the schema's tables; what it holds."""
    store = HistoryStore(database_url(uri))
    store.open()
    store.close()
    rng = random.Random(5)
    engine = create_engine(database_url(uri))
    with engine.begin() as connection:
        connection.execute(
            insert(events), [{"event_id": e, "start_time": k} for e, k in KICKOFFS.items()]
        )
        connection.execute(
            insert(markets), [{"event_id": e, "market_key": "m", "name": "M"} for e in KICKOFFS]
        )
        connection.execute(
            insert(outcomes),
            [
                {"event_id": e, "market_key": "m", "outcome_key": f"{e}-{o}", "outcome_id": o}
                for e in KICKOFFS
                for o in range(4)
            ],
        )
        found = list(connection.execute(select(outcomes.c.id, outcomes.c.event_id,
                                                   outcomes.c.outcome_key)))  # fmt: skip
        ids = {row.id: row.event_id for row in found}
        keys = {row.outcome_key: row.id for row in found}
        rows = [
            {"outcome": outcome, "fetched_at": at, "odds": 2.0 + n, "fractional": None,
             "status": None}
            for outcome, event_id in ids.items()
            for n, at in enumerate(price_times(rng, event_id))
        ]  # fmt: skip
        connection.execute(insert(prices), rows)
        # Rows inserted by hand: their summaries built as the migration builds them.
        rebuild(connection)
        states = [
            {"event_id": e, "fetched_at": at, "kind": "status", "in_play": False}
            for e in KICKOFFS
            for at in sorted(rng.sample(range(CUTOFF - 60 * DAY, NOW, 60_000), 5))
        ]
        connection.execute(insert(event_states), states)
        signal_rows = []
        for number, at in enumerate(sorted(rng.sample(range(CUTOFF - 60 * DAY, NOW, 60_000), 9))):
            event_id = 2 + number % 2
            signal_rows.append(
                {"rule": "drop", "kind": "drop", "event_id": event_id, "fetched_at": at,
                 "subject": str(number), "outcomes": "[]", "markets": "[]",
                 "window_seconds": 60.0, "strength": 1.0}
            )  # fmt: skip
        connection.execute(insert(signals), signal_rows)
    engine.dispose()
    return {"outcomes": ids, "keys": keys, "prices": rows, "states": states, "signals": signal_rows}


def expected_prices(built: dict[str, Any]) -> set[tuple[int, int]]:
    """What must remain: every row from the cutoff on, and each outcome's latest row before
    it; none of event 1 (kicked off before the cutoff, no price since)."""
    kept = set()
    by_outcome: dict[int, list[int]] = {}
    for row in built["prices"]:
        by_outcome.setdefault(row["outcome"], []).append(row["fetched_at"])
    for outcome, times in by_outcome.items():
        if built["outcomes"][outcome] == 1:
            continue
        old = [t for t in times if t < CUTOFF]
        kept.update((outcome, t) for t in times if t >= CUTOFF)
        if old:
            kept.add((outcome, max(old)))
    return kept


def stored(uri: str) -> dict[str, Any]:
    engine = create_engine(database_url(uri))
    try:
        with engine.connect() as connection:
            return {
                "prices": {tuple(r) for r in connection.execute(
                    select(prices.c.outcome, prices.c.fetched_at))},
                "events": set(connection.execute(select(events.c.event_id)).scalars()),
                "outcomes": set(connection.execute(select(outcomes.c.event_id)).scalars()),
                "markets": set(connection.execute(select(markets.c.event_id)).scalars()),
                "signals": {tuple(r) for r in connection.execute(
                    select(signals.c.event_id, signals.c.fetched_at))},
                "states": {tuple(r) for r in connection.execute(
                    select(event_states.c.event_id, event_states.c.fetched_at))},
            }  # fmt: skip
    finally:
        engine.dispose()


def new_prices(at: int) -> Observation:
    """A writer's batch: event 3's four outcomes at *at* (after the cutoff)."""
    found = [
        PriceRecord(3, "m", f"3-{o}", o, None, at, 10.0 + at % 7 + o, None, None) for o in range(4)
    ]
    return Observation(EventHeader(3), [MarketRecord(3, "m", None, "M")], found)


def test_only_older_rows_go_in_batches_while_a_writer_writes(history_uri: str) -> None:
    built = build(history_uri)
    before = stored(history_uri)
    assert before["events"] == {1, 2, 3}

    # A writer in its own thread writes one batch whenever asked, while retention runs.
    store = HistoryStore(database_url(history_uri))
    store.open()
    asked, answered = threading.Semaphore(0), threading.Semaphore(0)
    results: list[Any] = []
    stop = threading.Event()

    def writer() -> None:
        at = NOW
        while asked.acquire(timeout=DEADLINE) and not stop.is_set():
            at += 10_000
            try:
                results.append((at, store.write([new_prices(at)])))
            except Exception as exc:  # the test says what went wrong below
                results.append((at, exc))
            answered.release()

    thread = threading.Thread(target=writer)
    thread.start()
    batches = 0

    def between_batches() -> None:
        """After each committed batch of deletions: the writer commits a batch too."""
        nonlocal batches
        batches += 1
        asked.release()
        assert answered.acquire(timeout=DEADLINE), "the writer never finished its batch"

    engine = create_engine(database_url(history_uri))
    try:
        deleted = delete_old(engine, KEEP, NOW, batch_size=7, after_batch=between_batches)
    finally:
        stop.set()
        asked.release()
        thread.join(DEADLINE)
        engine.dispose()
        store.close()

    # Many small transactions, and the writer committed between every two of them.
    assert batches >= 5
    assert len(results) == batches
    assert all(not isinstance(r, Exception) and r.written == 4 for _at, r in results), results

    after = stored(history_uri)
    written = {(built["keys"][f"3-{o}"], at) for at, _r in results for o in range(4)}
    assert after["prices"] == expected_prices(built) | written
    assert deleted.prices == len(before["prices"]) - len(expected_prices(built))
    # Event 1 went whole; events 2 and 3 stay.
    assert after["events"] == after["outcomes"] == after["markets"] == {2, 3}
    assert deleted.events == 1
    # Signals before the cutoff went; states before it went but the latest of each event.
    assert after["signals"] == {s for s in before["signals"] if s[1] >= CUTOFF}
    states_kept = {s for s in before["states"] if s[1] >= CUTOFF and s[0] != 1}
    for event_id in (2, 3):
        old = [s for s in before["states"] if s[0] == event_id and s[1] < CUTOFF]
        if old:
            states_kept.add(max(old))
    assert after["states"] == states_kept

    # A second pass finds nothing more.
    engine = create_engine(database_url(history_uri))
    try:
        assert delete_old(engine, KEEP, NOW, batch_size=7).rows == 0
    finally:
        engine.dispose()
    # The outcomes' summaries followed: what the rows left say.
    kept, built = summaries_and_rebuilt(history_uri)
    assert len(kept) == 8
    assert kept == built


def test_a_writer_that_remembers_a_deleted_event_writes_again_after_one_failure(
    history_uri: str,
) -> None:
    """Another machine's retention deleted an event this writer remembers: its next batch
    fails once (the outcome it remembers is gone), then is written against the database."""
    store = HistoryStore(database_url(history_uri))
    store.open()
    old = NOW - 200 * DAY

    def seen(at: int, odds: float) -> Observation:
        header = EventHeader(7, start_ms=old)
        found = [PriceRecord(7, "m", "7-0", 70, "Home", at, odds, None, None)]
        return Observation(header, [MarketRecord(7, "m", None, "M")], found)

    assert store.write([seen(old - DAY, 2.0)]).written == 1
    engine = create_engine(database_url(history_uri))
    try:
        assert delete_old(engine, KEEP, NOW).events == 1
    finally:
        engine.dispose()
    with pytest.raises(HistoryError):
        store.write([seen(NOW, 2.5)])
    assert store.write([seen(NOW, 2.5)]).written == 1
    store.close()
    assert stored(history_uri)["events"] == {7}
    assert len(stored(history_uri)["prices"]) == 1


@pytest.mark.slow
def test_the_history_command_deletes_with_keep(
    history_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = build(history_uri)
    before = stored(history_uri)
    plan = HistoryPlan(db=history_uri, keep=KEEP)
    assert history_command.run(plan, now=from_ms(NOW)) == 0
    gone = len(before["prices"]) - len(expected_prices(built))
    assert capsys.readouterr().out.startswith(f"Deleted {gone} prices, 1 events, 3 signals and ")
    assert stored(history_uri)["prices"] == expected_prices(built)

    # As users run it: nothing is older than 10,000 days; --keep goes with --db alone.
    ran = scrapy_kwiff(tmp_path, "history", "--db", history_uri, "--keep", "10000d")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("Deleted 0 prices, 0 events, 0 signals and 0 event states "
                                 "older than 10000 days from ")  # fmt: skip
    for args, message in (
        (["--keep", "ninety"], "--keep must be a duration such as 90d, 12w or 36h, not 'ninety'"),
        (["--keep", "90d", "--top", "5"], "--keep does not go with --top"),
    ):
        ran = scrapy_kwiff(tmp_path, "history", "--db", history_uri, *args)
        assert ran.returncode == 2
        assert message in ran.stderr
