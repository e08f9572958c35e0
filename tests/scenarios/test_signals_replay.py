"""Replay equals live: a watch against the clocked, moving simulator stores its history and
its signals; `scrapy kwiff signals` over that history gives exactly the signals the watch
yielded (its feed) and stored (the history's `kwiff_signals`)."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from kwiff_scrapy.history.records import signal_subject, start_ms
from kwiff_scrapy.history.signals import recent_signals
from kwiff_scrapy.model.signals import OddsSignal

from ..conftest import StartSimulator
from ..support.crawl_process import scrapy_kwiff
from ..support.databases import sqlite_uri  # fixture, used by name
from ..support.watching import watch

POLLS = 14
#: Thresholds low enough for the clocked simulator's trending moves over a few polls, a
#: cooldown (so that it matters), and every kind.
RULES: list[dict[str, Any]] = [
    {"kind": "drop", "change": 0.03, "minutes": 20, "cooldown": 10},
    {"kind": "drift", "change": 0.03, "minutes": 20, "cooldown": 10},
    {"kind": "steam", "change": 0.02, "outcomes": 2, "minutes": 20, "cooldown": 10},
    {"kind": "margin", "points": 0.002, "minutes": 20, "cooldown": 10},
    {"kind": "suspensions", "count": 1, "seconds": 600, "cooldown": 5},
]

Key = tuple[str, int, str, float | None, float | None, int]


def key(signal: OddsSignal) -> Key:
    """What must be equal: rule, event, subject, from and to odds, and the time (ms)."""
    fetched = start_ms(signal.fetched_at)
    assert fetched is not None
    return (
        signal.rule,
        signal.event_id,
        signal_subject(signal),
        signal.from_odds,
        signal.to_odds,
        fetched,
    )


def number(text: str) -> float | None:
    return float(text) if text else None


def from_csv(row: dict[str, str]) -> OddsSignal:
    """A signal of the command's CSV file, with the fields its key needs."""
    return OddsSignal(
        rule=row["rule"],
        kind=row["kind"],
        event_id=int(row["event_id"]),
        market_id=int(row["market_id"]) if row["market_id"] else None,
        market_name=row["market_name"] or None,
        outcome_id=int(row["outcome_id"]) if row["outcome_id"] else None,
        outcome_name=row["outcome_name"] or None,
        outcomes=row["outcomes"].split(",") if row["outcomes"] else [],
        from_odds=number(row["from_odds"]),
        to_odds=number(row["to_odds"]),
        fetched_at=row["fetched_at"].replace(" ", "T") + "Z",
    )


def read_csv(path: Path) -> list[OddsSignal]:
    with open(path, encoding="utf-8", newline="") as file:
        return [from_csv(row) for row in csv.DictReader(file)]


async def test_replaying_the_history_gives_exactly_the_signals_of_the_live_watch(
    start_simulator: StartSimulator, sqlite_uri: str, tmp_path: Path
) -> None:
    # Ten simulated minutes a second: a poll every 0.2 s is two minutes of market.
    simulator = await start_simulator(moving=True, speed=600.0)
    settings = {"KWIFF_HISTORY_URI": sqlite_uri, "KWIFF_SIGNALS": json.dumps(RULES)}
    run = await watch(simulator, polls=POLLS, settings=settings)
    assert run.stat("kwiff/history/errors") == run.stat("kwiff/history/dropped") == 0
    live = [item for item in run.items if isinstance(item, OddsSignal)]
    kinds = Counter(signal.kind for signal in live)
    assert {"drop", "drift", "margin"} <= kinds.keys(), kinds

    engine = create_engine(sqlite_uri)
    try:
        stored = [row.to_item() for row in recent_signals(engine, limit=100_000)]
    finally:
        engine.dispose()

    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES), encoding="utf-8")
    result = scrapy_kwiff(
        tmp_path, "signals", "--db", sqlite_uri, "--rules", str(rules), "--csv", "replay.csv"
    )
    assert result.returncode == 0, result.stderr
    replayed = read_csv(tmp_path / "replay.csv")

    assert sorted(map(key, replayed)) == sorted(map(key, live))
    assert sorted(map(key, stored)) == sorted(map(key, live))
    # The command's count per rule says the same.
    for rule in RULES:
        fired = sum(signal.rule == rule["kind"] for signal in live)
        assert f"\n{rule['kind']}  " in result.stdout
        assert any(
            line.split() == [rule["kind"], rule["kind"], str(fired)]
            for line in result.stdout.splitlines()
        ), result.stdout
