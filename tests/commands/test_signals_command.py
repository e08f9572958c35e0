"""`scrapy kwiff signals` as a user runs it, over a history a watch would have stored: the
signals the rules fire and when, the count per rule, the CSV file, --event, --since (with
the state before it), the rules from --rules, KWIFF_SIGNALS or the defaults, and one line
for each problem."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import csv
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kwiff_scrapy.history.records import observe
from kwiff_scrapy.history.schema import SCHEMA_VERSION, database_url, prepare
from kwiff_scrapy.history.schema import open_engine as open_history
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.model.items import EventChange, OddsChange
from kwiff_scrapy.model.signal_rules import DEFAULT_RULES
from kwiff_scrapy.model.values import iso_utc_datetime

from ..support.crawl_process import scrapy_kwiff
from ..support.databases import (  # fixtures, used by name
    history_uri,
    postgres_server,
    postgres_uri,
    sqlite_uri,
)

ARROW = "\N{RIGHTWARDS ARROW}"
#: Relative to now, so that --since means the same in the subprocess.
NOW = datetime.now(UTC).replace(microsecond=0)
OPENING = NOW - timedelta(minutes=90)
HOME_WIN, DRAW, AWAY_WIN = 1, 2, 3


def at(minutes: int) -> datetime:
    return OPENING + timedelta(minutes=minutes)


def stamp(minutes: int) -> str:
    return f"{at(minutes):%Y-%m-%d %H:%M:%S}"


@dataclass(frozen=True)
class Match:
    event_id: int
    home: str
    away: str
    opening: tuple[float, float, float]

    def outcome_id(self, outcome: int) -> int:
        return self.event_id * 100 + outcome


ARSENAL = Match(10744160, "Arsenal", "Juventus", (2.0, 3.5, 4.0))
CELTIC = Match(10744161, "Celtic", "Napoli", (2.5, 3.2, 4.0))
NAMES = {HOME_WIN: "home", DRAW: "Draw", AWAY_WIN: "away"}

#: (minutes after the opening, match, outcome, new odds): a slide of Arsenal's price, 5 %
#: of the opening a step (10 % at minute 20, 15 % at minute 30), and Napoli drifting 20 %.
MOVES = [
    (10, ARSENAL, HOME_WIN, 1.9),
    (20, ARSENAL, HOME_WIN, 1.8),
    (30, ARSENAL, HOME_WIN, 1.7),
    (70, CELTIC, AWAY_WIN, 4.8),
]
#: Arsenal's match goes in play at minute 15.
IN_PLAY_AT = 15


def change(match: Match, outcome: int, minutes: int, kind: str, odds: float,
           before: float | None = None) -> OddsChange:  # fmt: skip
    name = {HOME_WIN: match.home, DRAW: "Draw", AWAY_WIN: match.away}[outcome]
    return OddsChange(
        event_id=match.event_id,
        competition_name="UEFA Champions League",
        home_team=match.home,
        away_team=match.away,
        start_time=iso_utc_datetime(NOW + timedelta(days=1)),
        market_id=match.event_id * 10,
        market_name="Full Time Result",
        outcome_id=match.outcome_id(outcome),
        outcome_name=name,
        kind=kind,
        odds=odds,
        previous_odds=before,
        fetched_at=iso_utc_datetime(at(minutes)),
    )


def event_change(match: Match, minutes: int, kind: str, in_play: bool) -> EventChange:
    return EventChange(
        event_id=match.event_id,
        competition_name="UEFA Champions League",
        home_team=match.home,
        away_team=match.away,
        kind=kind,
        in_play=in_play,
        fetched_at=iso_utc_datetime(at(minutes)),
    )


def build_history(uri: str) -> None:
    """What a watch stores: the opening prices, then the changes of each poll."""
    store = HistoryStore(database_url(uri))
    store.open()
    try:
        polls: dict[int, list[Any]] = {0: []}
        for match in (ARSENAL, CELTIC):
            polls[0].append(event_change(match, 0, "new", False))
            for outcome, odds in enumerate(match.opening, start=1):
                polls[0].append(change(match, outcome, 0, "new", odds))
        polls.setdefault(IN_PLAY_AT, []).append(event_change(ARSENAL, IN_PLAY_AT, "status", True))
        current = {(m.event_id, o): m.opening[o - 1] for m in (ARSENAL, CELTIC) for o in (1, 2, 3)}
        for minutes, match, outcome, odds in MOVES:
            before = current[match.event_id, outcome]
            current[match.event_id, outcome] = odds
            polls.setdefault(minutes, []).append(
                change(match, outcome, minutes, "moved", odds, before)
            )
        for minutes in sorted(polls):
            seen = [s for item in polls[minutes] if (s := observe(item)) is not None]
            store.write(seen)
    finally:
        store.close()


def rules_file(tmp_path: Path, name: str, rules: list[dict[str, Any]]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(rules), encoding="utf-8")
    return str(path)


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


def table(stdout: str) -> list[list[str]]:
    """The rows of the signals' table (before the count per rule)."""
    lines = stdout.splitlines()
    if not lines or not lines[0].startswith("Time (UTC)"):
        return []
    rows = []
    for line in lines[2:]:
        if not line.strip() or (" signal" in line and " changes in " in line):
            break
        rows.append(cells(line))
    return rows


def counts(stdout: str) -> dict[str, int]:
    """The count per rule, from the table after the summary line."""
    lines = stdout.splitlines()
    start = next(n for n, line in enumerate(lines) if " changes in " in line)
    return {cells(line)[0]: int(cells(line)[2]) for line in lines[start + 3 :] if line.strip()}


def drop_row(minutes: int, rule: str = "drop") -> list[str]:
    return [stamp(minutes), rule, str(ARSENAL.event_id), "Arsenal v Juventus",
            "Full Time Result", "Arsenal", f"2.00 {ARROW} 1.80 (-10.0%)", "1.00"]  # fmt: skip


DRIFT_ROW = [stamp(70), "drift", str(CELTIC.event_id), "Celtic v Napoli", "Full Time Result",
             "Napoli", f"4.00 {ARROW} 4.80 (+20.0%)", "1.33"]  # fmt: skip
#: The default drop (10 % in 60 minutes) and drift (15 %); nothing else.
PRICE_RULES = [{"kind": "drop"}, {"kind": "drift"}]


@pytest.mark.slow
def test_the_signals_the_rules_fire_their_count_and_the_csv_file(
    history_uri: str, tmp_path: Path
) -> None:
    build_history(history_uri)
    rules = rules_file(tmp_path, "rules.json", PRICE_RULES)
    db = ["signals", "--db", history_uri, "--rules", rules]
    runs = [
        db,
        [*db, "--csv", "signals.csv"],
        [*db, "--event", str(CELTIC.event_id)],
        # From 40 minutes ago: the drift (20 minutes ago), not the drop (70 minutes ago).
        [*db, "--since", "40m"],
        # From 75 minutes ago: the replay starts an hour earlier (the rules' longest
        # window), so the slide from 2.00 still counts and the drop fires at 1.80.
        [*db, "--since", "75m"],
    ]
    with ThreadPoolExecutor(len(runs)) as pool:
        results = list(pool.map(lambda a: scrapy_kwiff(tmp_path, *a), runs))
    whole, exported, celtic, recent, warmed = results
    for result in (whole, exported, celtic, recent, warmed):
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""

    # The slide fires the drop once, where it crosses 10 % (1.80); at 1.70 (15 %) it is in
    # its cooldown and not twice as strong. The drift fires at 4.80.
    assert table(whole.stdout) == [drop_row(20), DRIFT_ROW]
    assert counts(whole.stdout) == {"drop": 1, "drift": 1}
    # Six opening prices, two events new, one in play, and the moves.
    assert f"2 signals from {6 + 2 + 1 + len(MOVES)} changes in " in whole.stdout

    assert table(celtic.stdout) == [DRIFT_ROW]
    assert counts(celtic.stdout) == {"drop": 0, "drift": 1}
    assert table(recent.stdout) == [DRIFT_ROW]
    assert counts(recent.stdout) == {"drop": 0, "drift": 1}
    assert table(warmed.stdout) == [drop_row(20), DRIFT_ROW]

    # The CSV file: the OddsSignal fields, as the watch's CSV feed writes them.
    assert exported.stdout.startswith("Wrote 2 signals to signals.csv\n")
    with open(tmp_path / "signals.csv", encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["rule"], r["kind"], r["event_id"], r["outcome_id"], r["from_odds"], r["to_odds"],
             r["fetched_at"], r["in_play"]) for r in rows] == [
        ("drop", "drop", str(ARSENAL.event_id), str(ARSENAL.outcome_id(HOME_WIN)), "2.0",
         "1.8", stamp(20), "True"),
        ("drift", "drift", str(CELTIC.event_id), str(CELTIC.outcome_id(AWAY_WIN)), "4.0",
         "4.8", stamp(70), "False"),
    ]  # fmt: skip
    assert rows[0]["first_seen_at"] == iso_utc_datetime(at(0))  # as the feed (not a TIME_FIELD)
    assert rows[0]["window"] == "3600.0"


def test_the_rules_come_from_rules_then_kwiff_signals_then_the_defaults(
    sqlite_uri: str, tmp_path: Path
) -> None:
    build_history(sqlite_uri)
    in_play = rules_file(
        tmp_path, "live.json", [{"kind": "drop", "name": "live drop", "in_play": "yes"},
                                {"kind": "drift", "name": "live drift", "in_play": "yes"}]
    )  # fmt: skip
    db = ["signals", "--db", sqlite_uri]
    setting = "KWIFF_SIGNALS=" + json.dumps([{"kind": "drift"}])
    runs = [
        [*db, "--rules", in_play],
        [*db, "-s", setting],
        [*db, "-s", setting, "--rules", in_play],  # --rules wins
        db,
    ]
    with ThreadPoolExecutor(len(runs)) as pool:
        live, from_setting, both, defaults = pool.map(lambda a: scrapy_kwiff(tmp_path, *a), runs)
    for result in (live, from_setting, both, defaults):
        assert result.returncode == 0, result.stderr

    # The event states are replayed: Arsenal's match was in play when its price dropped,
    # Celtic's never was.
    assert table(live.stdout) == [drop_row(20, "live drop")]
    assert counts(live.stdout) == {"live drop": 1, "live drift": 0}
    assert f"with the rules of {in_play}:" in live.stdout
    assert table(from_setting.stdout) == [DRIFT_ROW]
    assert "with the rules of KWIFF_SIGNALS:" in from_setting.stdout
    assert table(both.stdout) == table(live.stdout)
    assert "with the default rules:" in defaults.stdout
    assert list(counts(defaults.stdout)) == [rule["kind"] for rule in DEFAULT_RULES]


def test_problems_are_one_line_and_exit_status_1(sqlite_uri: str, tmp_path: Path) -> None:
    build_history(sqlite_uri)
    empty = tmp_path / "empty.sqlite"
    engine = open_history(database_url(f"sqlite:///{empty}"), writer=True)
    prepare(engine)  # the tables, no price
    engine.dispose()
    newer = tmp_path / "newer.sqlite"
    engine = open_history(database_url(f"sqlite:///{newer}"), writer=True)
    prepare(engine)
    engine.dispose()
    with sqlite3.connect(newer) as connection:
        connection.execute(
            "UPDATE kwiff_history_meta SET value = ? WHERE name = 'schema_version'",
            (str(SCHEMA_VERSION + 1),),
        )
    bad_rules = rules_file(tmp_path, "bad.json", [{"kind": "stem"}])
    runs = {
        "there is no database file": ["--db", f"sqlite:///{tmp_path / 'missing.sqlite'}"],
        "is empty: no prices stored yet": ["--db", f"sqlite:///{empty}"],
        f"schema version {SCHEMA_VERSION + 1}, newer than": ["--db", f"sqlite:///{newer}"],
        "event 42 is not in the odds history": ["--db", sqlite_uri, "--event", "42"],
        "unknown kind 'stem' (did you mean 'steam'?)": ["--db", sqlite_uri, "--rules", bad_rules],
        "is not a duration": ["--db", sqlite_uri, "--since", "soon"],
    }
    with ThreadPoolExecutor(len(runs)) as pool:
        results = list(pool.map(lambda a: scrapy_kwiff(tmp_path, "signals", *a), runs.values()))
    for expected, result in zip(runs, results, strict=True):
        assert result.returncode == 1, (expected, result.stdout, result.stderr)
        assert result.stdout == ""
        assert result.stderr.startswith("scrapy kwiff signals: ")
        assert expected in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr


def test_usage_errors_exit_2(sqlite_uri: str, tmp_path: Path) -> None:
    runs = [
        ["signals", "--db", sqlite_uri, "--rules", str(tmp_path / "none.json")],
        ["signals", "--db", sqlite_uri, "--event", "x"],
        ["history", "--db", sqlite_uri, "--rules", "rules.json"],
        ["signals", "--db", sqlite_uri, "--top", "3"],
        ["signals"],
    ]
    with ThreadPoolExecutor(len(runs)) as pool:
        results = list(pool.map(lambda a: scrapy_kwiff(tmp_path, *a), runs))
    messages = [
        "--rules: there is no file",
        "--event must be a Kwiff event id",
        "--rules: an option of scrapy kwiff signals, not of scrapy kwiff history",
        "--top: an option of scrapy kwiff history, not of scrapy kwiff signals",
        "signals needs --db URI (or the KWIFF_HISTORY_URI setting)",
    ]
    for message, result in zip(messages, results, strict=True):
        assert result.returncode == 2, (message, result.stderr)
        assert message in result.stderr
