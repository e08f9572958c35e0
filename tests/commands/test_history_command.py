"""`scrapy kwiff history` as a user runs it: the table of moves, the CSV file row by row,
the plot (its data and its PNG), the biggest movers, and one line for each problem."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import copy
import csv
import os
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kwiff_scrapy.commands import history as history_command
from kwiff_scrapy.commands.history import HistoryPlan, parse_duration
from kwiff_scrapy.history.queries import HistoryReader, plot_data
from kwiff_scrapy.history.records import observe
from kwiff_scrapy.history.schema import SCHEMA_VERSION, database_url
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.model.items import KwiffEvent
from kwiff_scrapy.model.parsing import parse_events
from kwiff_scrapy.model.values import iso_utc_datetime
from kwiff_scrapy.simulator import SimulatedData

from ..support.crawl_process import HANG_GUARD, crawl_environment, scrapy_kwiff
from ..support.databases import (  # fixtures, used by name
    history_uri,
    postgres_server,
    postgres_uri,
    sqlite_uri,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARROW = "\N{RIGHTWARDS ARROW}"
RAW = SimulatedData().events(11)[:3]
ARSENAL = RAW[0]["id"]  # 10744160: Arsenal v Juventus
#: Its kick-off as the table and the plot write it (the simulator's dates follow today's).
KICK_OFF = f"{datetime.fromisoformat(RAW[0]['startDate']):%Y-%m-%d %H:%M} UTC"
SPORTING = RAW[1]["id"]
#: The history is built relative to now, so that `--since` windows mean the same in a
#: subprocess: the opening prices 90 minutes ago, then a few moves.
NOW = datetime.now(UTC).replace(microsecond=0)
OPENING = NOW - timedelta(minutes=90)


def at(minutes: int) -> datetime:
    return OPENING + timedelta(minutes=minutes)


@dataclass(frozen=True)
class Change:
    minutes: int
    event_id: int
    market: int
    outcome: int
    odds: float | None = None
    status: str | None = None


#: (minutes after the opening, event, market index, outcome index, new odds, status)
CHANGES = [
    Change(10, ARSENAL, 0, 0, odds=1.8),  # Arsenal 1.67 -> 1.80
    Change(20, ARSENAL, 0, 1, status="suspended"),  # the draw suspended at 4.00
    Change(30, SPORTING, 0, 2, odds=5.5),  # Bodo/Glimt 4.33 -> 5.50
    Change(80, ARSENAL, 0, 2, odds=4.0),  # Juventus 4.50 -> 4.00
    Change(85, ARSENAL, 1, 0, odds=1.2),  # a Double Chance outcome moves too
]


def opening_events() -> list[KwiffEvent]:
    return parse_events({"events": RAW}, fetched_at=iso_utc_datetime(OPENING))


def build_history(uri: str) -> None:
    """Store the opening prices, then each change as a new answer about its event."""
    store = HistoryStore(database_url(uri))
    store.open()
    current = {event.event_id: event for event in opening_events()}
    store.write([seen for e in current.values() if (seen := observe(e)) is not None])
    for change in CHANGES:
        event = copy.deepcopy(current[change.event_id])
        outcome = event.markets[change.market].outcomes[change.outcome]
        if change.odds is not None:
            outcome.odds = change.odds
        outcome.status = change.status
        event.fetched_at = iso_utc_datetime(at(change.minutes))
        current[change.event_id] = event
        seen = observe(event)
        assert seen is not None
        assert store.write([seen]).written == 1
    store.close()


def outcome_name(event_id: int, market: int, outcome: int) -> str:
    raw = next(e for e in RAW if e["id"] == event_id)
    return str(raw["details"]["offers"][market]["outcomes"][outcome]["outcomeName"])


def market_name(event_id: int, market: int) -> str:
    raw = next(e for e in RAW if e["id"] == event_id)
    return str(raw["details"]["offers"][market]["name"])


def opening_odds(event_id: int, market: int, outcome: int) -> float:
    raw = next(e for e in RAW if e["id"] == event_id)
    return float(raw["details"]["offers"][market]["outcomes"][outcome]["odds"])


def new_odds(change: Change) -> float:
    """The odds after *change* (a status change keeps the opening odds)."""
    if change.odds is not None:
        return change.odds
    return opening_odds(change.event_id, change.market, change.outcome)


def opening_overround(market: dict[str, Any]) -> str:
    """The CSV's ``market_overround`` of an opening price: a book's sum of 1 / odds - 1."""
    name = market["name"]
    if "Double Chance" in name or "Goalscorer" in name or "Or More" in name:
        return ""
    return repr(sum(1 / outcome["odds"] for outcome in market["outcomes"]) - 1)


def relative(before: float, after: float) -> float:
    return (after - before) / before


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.fixture
def stored(history_uri: str) -> str:
    build_history(history_uri)
    return history_uri


# -- the table, the CSV file and the plot (in a subprocess, as users run them) ------------------


@pytest.mark.slow
def test_the_table_csv_and_plot_of_an_event(stored: str, tmp_path: Path) -> None:
    db = ["history", "--db", stored, "--event", str(ARSENAL)]
    runs = [
        [*db],
        [*db, "--csv", "moves.csv"],
        [*db, "--market", "full time result", "--plot", "odds.png"],
        [*db, "--market", "Full Time Result", "--market", "Double Chance", "--plot", "both.png",
         "--size", "800x600"],
    ]  # fmt: skip
    with ThreadPoolExecutor(len(runs)) as pool:
        table, exported, plotted, both = pool.map(lambda a: scrapy_kwiff(tmp_path, *a), runs)
    for result in (table, exported, plotted, both):
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""

    # The table: a heading, then one row per move, oldest first.
    lines = table.stdout.splitlines()
    assert lines[0] == (
        f"Arsenal v Juventus - UEFA Champions League - kick-off {KICK_OFF} (event {ARSENAL})"
    )
    outcomes = sum(len(m["outcomes"]) for m in RAW[0]["details"]["offers"])
    moves = [c for c in CHANGES if c.event_id == ARSENAL]
    assert lines[1] == (
        f"{outcomes} outcomes, {outcomes + len(moves)} prices stored from "
        f"{OPENING:%Y-%m-%d %H:%M:%S} to {at(85):%Y-%m-%d %H:%M:%S} UTC"
    )
    assert cells(lines[2]) == [
        "Time (UTC)", "Market", "Outcome", "Odds", "Change", "Probability", "Overround"
    ]  # fmt: skip
    rows = [cells(line) for line in lines[4:]]
    double_chance = opening_odds(ARSENAL, 1, 0)
    assert rows == [
        [f"{at(10):%Y-%m-%d %H:%M:%S}", "Full Time Result", "Arsenal", f"1.67 {ARROW} 1.80",
         "+7.8%", f"59.9% {ARROW} 55.6%",  # 1 / 1.67, 1 / 1.8
         f"{(1 / 1.8 + 1 / 4.0 + 1 / 4.5 - 1) * 100:.1f}%"],
        # The draw suspended: the market is not priced whole, so it has no overround.
        [f"{at(20):%Y-%m-%d %H:%M:%S}", "Full Time Result", "Draw",
         f"4.00 {ARROW} 4.00 (suspended)", "+0.0%", f"25.0% {ARROW} 25.0%", "-"],
        [f"{at(80):%Y-%m-%d %H:%M:%S}", "Full Time Result", "Juventus", f"4.50 {ARROW} 4.00",
         "-11.1%", f"22.2% {ARROW} 25.0%", "-"],
        # Double Chance outcomes overlap: never an overround.
        [f"{at(85):%Y-%m-%d %H:%M:%S}", market_name(ARSENAL, 1), outcome_name(ARSENAL, 1, 0),
         f"{double_chance:.2f} {ARROW} 1.20",
         f"{(1.2 - double_chance) / double_chance * 100:+.1f}%",
         f"{100 / double_chance:.1f}% {ARROW} {100 / 1.2:.1f}%", "-"],
    ]  # fmt: skip

    # The CSV file: every stored price, row by row, with the one before it.
    assert exported.stdout == (
        f"Wrote {outcomes + len(moves)} prices of Arsenal v Juventus (event {ARSENAL}) "
        "to moves.csv\n"
    )
    with (tmp_path / "moves.csv").open(encoding="utf-8", newline="") as file:
        exported_rows = list(csv.DictReader(file))
    # Only the Arsenal move at 10 leaves its market a whole book (the draw is suspended at 20).
    overround_after = {10: repr(1 / 1.8 + 1 / 4.0 + 1 / 4.5 - 1)}
    expected = [
        {
            "time": iso_utc_datetime(OPENING),
            "event_id": str(ARSENAL),
            "market": market["name"],
            "outcome": outcome["outcomeName"],
            "outcome_id": str(outcome["id"]),
            "odds_before": "",
            "odds": repr(float(outcome["odds"])),
            "change": "",
            "fractional": outcome["fractional"],
            "status": "",
            "implied_probability_before": "",
            "implied_probability": repr(1 / outcome["odds"]),
            "market_overround": opening_overround(market),
        }
        for market in RAW[0]["details"]["offers"]
        for outcome in market["outcomes"]
    ]
    expected += [
        {
            "time": iso_utc_datetime(at(c.minutes)),
            "event_id": str(ARSENAL),
            "market": market_name(ARSENAL, c.market),
            "outcome": outcome_name(ARSENAL, c.market, c.outcome),
            "outcome_id": str(RAW[0]["details"]["offers"][c.market]["outcomes"][c.outcome]["id"]),
            "odds_before": repr(opening_odds(ARSENAL, c.market, c.outcome)),
            "odds": repr(new_odds(c)),
            "change": f"{relative(opening_odds(ARSENAL, c.market, c.outcome), new_odds(c)):.6f}",
            "fractional": RAW[0]["details"]["offers"][c.market]["outcomes"][c.outcome][
                "fractional"
            ],
            "status": c.status or "",
            "implied_probability_before": repr(1 / opening_odds(ARSENAL, c.market, c.outcome)),
            "implied_probability": repr(1 / new_odds(c)),
            "market_overround": overround_after.get(c.minutes, ""),
        }
        for c in moves
    ]
    assert exported_rows == expected

    # The plots: the PNG files at their size.
    assert plotted.stdout == (
        "Drew Full Time Result (3 outcomes) of Arsenal v Juventus to odds.png (960x540)\n"
    )
    assert png_size(tmp_path / "odds.png") == (960, 540)
    assert both.stdout.startswith(f"Drew Full Time Result, {market_name(ARSENAL, 1)} (")
    assert png_size(tmp_path / "both.png") == (800, 600)


def test_the_plot_data_is_a_step_line_per_outcome_carried_to_the_last_time(stored: str) -> None:
    with HistoryReader(stored) as reader:
        event = reader.event(ARSENAL)
        data = plot_data(event, reader.outcome_histories(ARSENAL, ["Full Time Result"]))
    assert data.title == (
        f"Arsenal v Juventus \N{EM DASH} UEFA Champions League \N{EM DASH} kick-off {KICK_OFF}"
    )
    # Every line runs on to the latest price of the event (a Double Chance move at 85).
    assert (data.start, data.end) == (OPENING, at(85))
    assert not data.kickoff_shown  # a week ahead: named in the title, not drawn
    (market,) = data.markets
    assert market.market == "Full Time Result"
    assert [(s.outcome, s.times, s.odds, s.open) for s in market.series] == [
        ("Arsenal", [OPENING, at(10), at(85)], [1.67, 1.8, 1.8], [True, True, True]),
        ("Draw", [OPENING, at(20), at(85)], [4.0, 4.0, 4.0], [True, False, False]),
        ("Juventus", [OPENING, at(80), at(85)], [4.5, 4.0, 4.0], [True, True, True]),
    ]


def test_the_plot_can_draw_implied_probabilities(stored: str, tmp_path: Path) -> None:
    with HistoryReader(stored) as reader:
        event = reader.event(ARSENAL)
        histories = reader.outcome_histories(ARSENAL, ["Full Time Result"])
    data = plot_data(event, histories, probability=True)
    assert data.probability
    (market,) = data.markets
    assert [(s.outcome, s.odds) for s in market.series] == [
        ("Arsenal", [1 / 1.67, 1 / 1.8, 1 / 1.8]),
        ("Draw", [1 / 4.0, 1 / 4.0, 1 / 4.0]),
        ("Juventus", [1 / 4.5, 1 / 4.0, 1 / 4.0]),
    ]
    from kwiff_scrapy.history.plot import render

    render(data, tmp_path / "probability.png", width=640, height=360)
    assert png_size(tmp_path / "probability.png") == (640, 360)


def test_the_plot_marks_kick_off_when_it_is_in_the_plotted_time(
    sqlite_uri: str, tmp_path: Path
) -> None:
    build_history(sqlite_uri)
    with HistoryReader(sqlite_uri) as reader:
        event = reader.event(ARSENAL)
        histories = reader.outcome_histories(ARSENAL, ["Full Time Result"])
    import dataclasses

    during = dataclasses.replace(event, start=at(50))
    data = plot_data(during, histories)
    assert data.kickoff_shown
    from kwiff_scrapy.history.plot import render

    render(data, tmp_path / "kickoff.png", width=640, height=360)
    assert png_size(tmp_path / "kickoff.png") == (640, 360)


# -- the biggest movers and the events stored ----------------------------------------------------


def test_the_biggest_movers_since_a_time(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    plan = HistoryPlan(db=stored, top=2, since="2h")
    assert history_command.run(plan, now=NOW) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "The 2 biggest moves in the last 2h:"
    rows = [cells(line) for line in lines[3:]]
    # Bodo/Glimt +27.0%, then the Double Chance move (-ish), then Juventus -11.1%, Arsenal +7.8%
    expected = sorted(
        [c for c in CHANGES if c.odds is not None],
        key=lambda c: (
            -abs((c.odds or 0) - opening_odds(c.event_id, c.market, c.outcome))
            / opening_odds(c.event_id, c.market, c.outcome)
        ),
    )[:2]
    assert [(row[1], row[4]) for row in rows] == [
        (str(c.event_id), outcome_name(c.event_id, c.market, c.outcome)) for c in expected
    ]
    assert rows[0][5] == f"4.33 {ARROW} 5.50"
    assert rows[0][6] == "+27.0%"

    # Only the last 15 minutes: the two latest moves, from the price in force 15 minutes ago.
    assert history_command.run(HistoryPlan(db=stored, top=10, since="15m"), now=NOW) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "The 2 biggest moves in the last 15m:"
    assert sorted(cells(line)[4] for line in lines[3:]) == sorted(
        [outcome_name(ARSENAL, 0, 2), outcome_name(ARSENAL, 1, 0)]
    )
    assert history_command.run(HistoryPlan(db=stored, top=3, since="1m"), now=NOW) == 0
    assert capsys.readouterr().out == "No price moved in the last 1m.\n"


def test_without_an_event_the_events_stored_are_listed(
    stored: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert history_command.run(HistoryPlan(db=stored), now=NOW) == 0
    lines = capsys.readouterr().out.splitlines()
    total = sum(len(m["outcomes"]) for e in RAW for m in e["details"]["offers"]) + len(CHANGES)
    assert lines[0].startswith(f"3 events and {total} stored prices in ")
    assert [cells(line)[0] for line in lines[3:]] == [str(e["id"]) for e in RAW]


def test_moves_since_a_time_and_an_event_with_no_moves(
    stored: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert history_command.run(HistoryPlan(db=stored, event_id=ARSENAL, since="30m"), NOW) == 0
    rows = capsys.readouterr().out.splitlines()[4:]
    assert [cells(row)[2] for row in rows] == ["Juventus", outcome_name(ARSENAL, 1, 0)]
    assert history_command.run(HistoryPlan(db=stored, event_id=RAW[2]["id"]), NOW) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "No moves: every outcome kept its price."


# -- one line for each problem ------------------------------------------------------------------


@pytest.mark.slow
def test_problems_exit_1_with_one_line_and_usage_errors_exit_2(
    sqlite_uri: str, tmp_path: Path
) -> None:
    build_history(sqlite_uri)
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    HistoryStore(database_url(empty)).open()  # tables, no price
    cases: list[tuple[list[str], int, str]] = [
        (["--db", sqlite_uri, "--event", "123"], 1,
         f"scrapy kwiff history: event 123 is not in the odds history at {sqlite_uri}\n"),
        (["--db", empty], 1, f"scrapy kwiff history: {empty} is empty: no prices stored yet\n"),
        (["--db", "sqlite:///nowhere.sqlite"], 1,
         "scrapy kwiff history: sqlite:///nowhere.sqlite: there is no database file "
         "nowhere.sqlite\n"),
        (["--db", sqlite_uri, "--top", "5", "--since", "2 hours"], 1,
         "scrapy kwiff history: --since: '2 hours' is not a duration such as 90s, 15m, 2h, 1d "
         "or 1h30m\n"),
        (["--db", sqlite_uri, "--event", str(ARSENAL), "--market", "Winner"], 1,
         f"scrapy kwiff history: event {ARSENAL} has no market 'Winner' in the odds history; "
         "its markets: Full Time Result, "),
        (["--db", "mysql://x@y/z"], 1, "scrapy kwiff history: mysql://x@y/z: mysql is not "
         "supported: use sqlite:///FILE or postgresql://user@host/db\n"),
        ([], 2, "scrapy kwiff: error: history needs --db URI (or the KWIFF_HISTORY_URI setting)"),
        (["--db", sqlite_uri, "--plot", "x.png"], 2, "scrapy kwiff: error: --plot needs --event"),
        (["--db", sqlite_uri, "--event", "1", "--probability"], 2,
         "scrapy kwiff: error: --probability needs --plot FILE.png"),
        (["--db", sqlite_uri, "--event", "1", "--plot", "x.jpg"], 2,
         "scrapy kwiff: error: --plot writes a PNG image: name a .png file, not 'x.jpg'"),
        (["--db", sqlite_uri, "--event", "abc"], 2,
         "scrapy kwiff: error: --event must be a Kwiff event id (a whole number), not 'abc'"),
        (["--db", sqlite_uri, "--top", "0"], 2, "scrapy kwiff: error: --top must be 1 or more"),
        (["--db", sqlite_uri, "--sport", "basketball"], 2,
         "scrapy kwiff: error: --sport: an option of scrapy kwiff fetch-events, not of "
         "scrapy kwiff history"),
    ]  # fmt: skip
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda c: scrapy_kwiff(tmp_path, "history", *c[0]), cases))
    for (args, status, message), result in zip(cases, results, strict=True):
        assert result.returncode == status, (args, result.stderr)
        assert result.stdout == ""
        if status == 1:
            assert result.stderr.startswith(message), (args, result.stderr)
            assert result.stderr.count("\n") == 1, result.stderr
        else:
            assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "nowhere.sqlite").exists()  # reading never creates a database


@pytest.mark.slow
def test_a_reader_that_stops_reading_is_not_an_error(sqlite_uri: str, tmp_path: Path) -> None:
    # scrapy kwiff history | head: the pipe closes before the command has written it all.
    build_history(sqlite_uri)
    process = subprocess.Popen(
        [sys.executable, "-m", "scrapy", "kwiff", "history", "--db", sqlite_uri],
        cwd=tmp_path,
        env=crawl_environment("error::RuntimeWarning"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()  # the reader is gone before the first line
    _, stderr = process.communicate(timeout=HANG_GUARD)
    assert stderr.decode() == ""
    assert process.returncode == 0


def test_a_database_of_a_newer_schema_is_refused(
    sqlite_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    build_history(sqlite_uri)
    with sqlite3.connect(sqlite_uri.removeprefix("sqlite:///")) as connection:
        connection.execute(f"UPDATE kwiff_history_meta SET value = '{SCHEMA_VERSION + 1}'")
    assert history_command.run(HistoryPlan(db=sqlite_uri)) == 1
    assert capsys.readouterr().err == (
        f"scrapy kwiff history: {sqlite_uri} holds odds history of schema version "
        f"{SCHEMA_VERSION + 1}, newer than this kwiff_scrapy's {SCHEMA_VERSION}: upgrade "
        "kwiff_scrapy to write to it\n"
    )


@pytest.mark.parametrize(
    ("module", "option", "message"),
    [
        ("matplotlib", "plot", "--plot needs matplotlib: pip install 'kwiff-scrapy[plot]'"),
        ("sqlalchemy", None, "the odds history needs SQLAlchemy 2: pip install "
         "'kwiff-scrapy[history]'"),
    ],
)  # fmt: skip
def test_a_missing_extra_is_named(
    module: str,
    option: str | None,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails
    plan = HistoryPlan(db="sqlite:///odds.sqlite", event_id=1, plot="x.png" if option else None)
    assert history_command.run(plan) == 1
    assert capsys.readouterr().err == f"scrapy kwiff history: {message}\n"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1w", 604800), ("1h30m", 5400),
     ("1.5h", 5400), (" 2H ", 7200), ("1h 30m", 5400)],
)  # fmt: skip
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "2", "h", "2x", "2 hours", "-1h", "0s", "1h-30m", "h1"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration such as 90s, 15m, 2h, 1d or 1h30m"):
        parse_duration(text)


@pytest.mark.slow
def test_help_describes_both_subcommands(tmp_path: Path) -> None:
    result = scrapy_kwiff(tmp_path, "history", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "scrapy kwiff fetch-events [--sport SPORT]" in text
    assert "scrapy kwiff history [--db URI] [--event ID [--market NAME]" in text
    for option in ("--db", "--event", "--market", "--csv", "--plot", "--size", "--top", "--since"):
        assert f"{option} " in text
    assert "Fetch-Events Options" in result.stdout
    assert "History Options" in result.stdout
    assert "(default: the KWIFF_HISTORY_URI setting)" in text
    listing = subprocess.run(
        [sys.executable, "-m", "scrapy"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert "Kwiff data, by subcommand: fetch-events, history" in " ".join(listing.stdout.split())
