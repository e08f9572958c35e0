"""A watch against the moving simulator, with the odds history on: the database holds the
opening prices, then exactly the changes the simulator says it made (its change log)."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Any

from kwiff_scrapy.history.records import normal_status
from kwiff_scrapy.simulator import SimulatedData

from ..conftest import StartSimulator
from ..support.databases import (  # fixtures, used by name
    postgres_server,
    postgres_uri,
    sqlite_uri,
)
from ..support.watching import watch

POLLS = 8


def stored_prices(database: str) -> dict[str, list[tuple[float | None, str | None]]]:
    """Each outcome's stored (odds, status), oldest first, by outcome key."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT o.outcome_key, p.odds, p.status FROM kwiff_prices p "
            "JOIN kwiff_outcomes o ON o.id = p.outcome ORDER BY o.outcome_key, p.fetched_at"
        ).fetchall()
    found: dict[str, list[tuple[float | None, str | None]]] = defaultdict(list)
    for key, odds, status in rows:
        found[key].append((odds, status))
    return found


def market_outcomes(database: str) -> dict[str, list[str]]:
    """The outcome keys of each market key, as stored."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT market_key, outcome_key FROM kwiff_outcomes ORDER BY id"
        ).fetchall()
    found: dict[str, list[str]] = defaultdict(list)
    for market, outcome in rows:
        found[market].append(outcome)
    return found


def event_outcomes(database: str) -> dict[int, list[str]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT event_id, outcome_key FROM kwiff_outcomes").fetchall()
    found: dict[int, list[str]] = defaultdict(list)
    for event_id, outcome in rows:
        found[event_id].append(outcome)
    return found


def expected_moves(
    log: list[dict[str, Any]], database: str
) -> tuple[dict[str, list[tuple[float | None, str | None]]], set[int]]:
    """What each outcome should have stored after its opening price, from the change
    log; and the events that appeared (their opening prices come from the new event)."""
    by_market = market_outcomes(database)
    by_event = event_outcomes(database)
    current: dict[str, tuple[float | None, str | None]] = {}
    for key, prices in stored_prices(database).items():
        current[key] = prices[0]
    moves: dict[str, list[tuple[float | None, str | None]]] = defaultdict(list)
    appeared: set[int] = set()

    def record(key: str, odds: float | None, status: str | None) -> None:
        current[key] = (odds, status)
        moves[key].append((odds, status))

    for change in log:
        kind = change["kind"]
        if kind == "event_new":
            appeared.add(change["event_id"])
        elif kind == "event_removed":
            for key in by_event[change["event_id"]]:
                record(key, None, "removed")
        elif kind == "event_status" or change["listed"] is False:
            continue  # no price; or a market the list does not show
        elif change["outcome_id"] is not None:
            key = str(change["outcome_id"])
            odds = change["odds_after"] if kind == "moved" else current[key][0]
            status = current[key][1] if kind == "moved" else normal_status(change["status_after"])
            record(key, float(odds) if odds is not None else None, status)
        else:  # a whole market suspended or resumed
            for key in by_market[str(change["market_id"])]:
                record(key, current[key][0], normal_status(change["status_after"]))
    return moves, appeared


async def test_a_watch_stores_the_opening_prices_then_exactly_the_simulators_changes(
    start_simulator: StartSimulator, sqlite_uri: str
) -> None:
    simulator = await start_simulator(moving=True)
    settings = {"KWIFF_HISTORY_URI": sqlite_uri}  # the add-on enables the pipeline
    run = await watch(simulator, polls=POLLS, settings=settings)
    assert [failed for _, _, failed in run.polls] == [False] * POLLS
    assert run.stat("kwiff/history/errors") == run.stat("kwiff/history/dropped") == 0
    database = sqlite_uri.removeprefix("sqlite:///")

    # The changes of the answers the watch compared (one event:list per poll).
    log = [c for c in simulator.change_log() if c["answer"] <= POLLS]
    assert log, "the simulator made no change: nothing was tested"
    moves, appeared = expected_moves(log, database)
    stored = stored_prices(database)

    # The opening prices: the first answer, the data at rest.
    at_rest = {
        str(outcome["id"]): (float(outcome["odds"]), None)
        for event in SimulatedData().events(11)
        for market in event["details"]["offers"]
        for outcome in market["outcomes"]
    }
    for key, opening in at_rest.items():
        assert stored[key][0] == opening, key
    # Then exactly the changes the simulator logged, in order, outcome by outcome.
    assert sum(len(m) for m in moves.values()) > POLLS  # a few changes per poll at least
    assert {key: prices[1:] for key, prices in stored.items() if prices[1:]} == dict(moves)
    # Outcomes beyond the opening list: those of the events that appeared, and only those.
    new_keys = set(stored) - set(at_rest)
    new_events = {e for e, keys in event_outcomes(database).items() if new_keys & set(keys)}
    assert new_events == appeared
    written = run.stat("kwiff/history/prices_written")
    assert written == sum(len(prices) for prices in stored.values())
    assert written == len(at_rest) + len(new_keys) + sum(len(m) for m in moves.values())
