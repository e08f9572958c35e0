"""`scrapy kwiff fetch-events` as a user runs it (a subprocess, in the project and outside
any), and its preview table."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from kwiff_scrapy.commands.preview import EventPreview, display_width, echo_pages, format_table
from kwiff_scrapy.model.items import Market, Outcome
from kwiff_scrapy.model.odds import market_overround
from kwiff_scrapy.model.parsing import outcome_rows, parse_events
from kwiff_scrapy.simulator import SimulatedData

from ..support.crawl_process import scrapy_kwiff
from ..support.processes import closed_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA = SimulatedData()
#: The in-process simulator without its clock: its first answers are the data at rest.
AT_REST = ("-s", 'KWIFF_SIMULATOR_OPTIONS={"speed": null}')


def assert_clean_run(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "ERROR" not in result.stderr, result.stderr[-3000:]
    assert "Task was destroyed" not in result.stderr


def assert_addon_enabled_once(log: str) -> None:
    """The add-on is enabled exactly once, whether the project enables it or the command does
    (what the log says at INFO)."""
    assert log.count("kwiff_scrapy.integration.addon.Addon object") == 1, log[-3000:]


def log_lines(stderr: str, level: str) -> list[str]:
    return [line for line in stderr.splitlines() if f"] {level}: " in line]


def expected_item(raw: dict[str, Any], sport_name: str) -> dict[str, Any]:
    """The exported JSON of a simulated ``event:list`` event, but for ``fetched_at``."""
    return {
        "event_id": raw["id"],
        "sport_id": raw["sportId"],
        "sport_name": sport_name,
        "competition_id": raw["competition"]["id"],
        "competition_name": raw["competition"]["name"],
        "home_team": raw["homeTeam"]["name"],
        "away_team": raw["awayTeam"]["name"],
        "start_time": raw["startDate"],
        "betting_status": raw["bettingStatus"],
        "in_play": raw.get("inPlay"),
        "match_tracker": raw["matchTracker"],
        "bet_builder_enabled": raw["betBuilderEnabled"],
        "markets": [
            {
                "id": market["id"],
                "name": market["name"],
                "outcomes": [
                    {
                        "id": o["id"],
                        "name": o["outcomeName"],
                        "odds": o["odds"],
                        "fractional": o["fractional"],
                        "status": o.get("status"),
                        "implied_probability": 1 / o["odds"],
                    }
                    for o in market["outcomes"]
                ],
                "status": market.get("status"),
                "overround": raw_market_overround(market),
            }
            for market in raw["details"]["offers"]
        ],
    }


def raw_market_overround(market: dict[str, Any]) -> float | None:
    """The overround the items give a simulated market (model/odds.py is tested on its own)."""
    outcomes = [Outcome(odds=float(o["odds"]), status=o.get("status")) for o in market["outcomes"]]
    return market_overround(
        Market(name=market["name"], outcomes=outcomes, status=market.get("status"))
    )


def assert_feed_has_every_event(
    exported: list[dict[str, Any]], sport_id: int, sport_name: str
) -> None:
    expected = DATA.events(sport_id)
    assert len(exported) == len(expected)
    for item, raw in zip(exported, expected, strict=True):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item.pop("fetched_at"))
        assert item == expected_item(raw, sport_name)


def preview_line(raw: dict[str, Any]) -> re.Pattern[str]:
    """A preview row of *raw*: teams, competition, start and the main market's odds in order."""
    main = raw["details"]["offers"][0]
    start = raw["startDate"][:16].replace("T", " ")
    odds = "  ".join(f"{o['odds']:.2f}" for o in main["outcomes"])
    cells = [start, raw["competition"]["name"], raw["homeTeam"]["name"], raw["awayTeam"]["name"]]
    pattern = r"\s+".join(re.escape(cell) for cell in [*cells, main["name"], odds])
    return re.compile(rf"^\d+\s+{pattern}$", re.MULTILINE)


def table_lines(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#  "))
    return lines[start:]


# -- the command in a subprocess -----------------------------------------------------------


@pytest.mark.slow
def test_fetch_events_in_the_project_writes_json_and_shows_a_preview(tmp_path: Path) -> None:
    output = tmp_path / "out" / "events.json"
    result = scrapy_kwiff(
        PROJECT_ROOT,
        "fetch-events",
        "-s",
        "KWIFF_ENDPOINT=simulator",
        *AT_REST,
        "--output",
        str(output),
        "--show-preview",
        "-L",
        "INFO",  # the whole log, as asked
    )
    assert_clean_run(result)
    assert_addon_enabled_once(result.stderr)
    assert "(bot: kwiff_scrapy)" in result.stderr  # the project's settings were used
    assert "[scrapy.statscollectors] INFO: Dumping Scrapy stats" in result.stderr
    assert_feed_has_every_event(json.loads(output.read_text(encoding="utf-8")), 11, "Football")

    assert f"Saved 111 football events (GB) to {output}" in result.stdout
    assert "First 10 events:" in result.stdout
    expected = DATA.events(11)
    for raw in expected[:10]:
        assert preview_line(raw).search(result.stdout), (raw["homeTeam"], result.stdout)
    assert not preview_line(expected[10]).search(result.stdout)
    assert "Bodø/Glimt" in result.stdout  # unicode names kept
    lines = table_lines(result.stdout)
    assert len(lines) == 2 + 10  # header, rule, ten events
    market_columns = {line.index("Full Time Result") for line in lines[2:]}
    assert len(market_columns) == 1, lines  # aligned


@pytest.mark.slow
def test_fetch_events_outside_any_project_with_the_defaults(tmp_path: Path) -> None:
    result = scrapy_kwiff(tmp_path, "fetch-events", "-s", "KWIFF_ENDPOINT=simulator", *AT_REST)
    assert_clean_run(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.json"]
    events = json.loads((tmp_path / "events.json").read_text(encoding="utf-8"))
    assert_feed_has_every_event(events, 11, "Football")
    # What was asked for, and nothing else: no preview, no log (nothing went wrong).
    assert result.stdout == "Saved 111 football events (GB) to events.json\n"
    assert result.stderr == ""


@pytest.mark.slow
def test_fetch_events_writes_the_whole_log_to_a_log_file(tmp_path: Path) -> None:
    result = scrapy_kwiff(
        tmp_path, "fetch-events", "-s", "KWIFF_ENDPOINT=simulator", *AT_REST, "--logfile", "run.log"
    )
    assert_clean_run(result)
    assert result.stdout == "Saved 111 football events (GB) to events.json\n"
    assert result.stderr == ""
    log = (tmp_path / "run.log").read_text(encoding="utf-8")
    assert "(bot: scrapybot)" in log  # no project
    assert_addon_enabled_once(log)
    assert "[scrapy.core.engine] INFO: Spider closed (finished)" in log
    assert log_lines(log, "DEBUG") == []


@pytest.mark.slow
def test_fetch_events_to_csv_writes_one_row_per_outcome(tmp_path: Path) -> None:
    result = scrapy_kwiff(
        tmp_path,
        "fetch-events",
        "--sport",
        "basketball",
        "--country",
        "ie",
        "--output",
        "basketball.csv",
        "--preview-rows",
        "3",
        "-s",
        "KWIFF_ENDPOINT=simulator",
        *AT_REST,
        "-s",
        "LOG_LEVEL=INFO",  # as -L INFO
    )
    assert_clean_run(result)
    assert_addon_enabled_once(result.stderr)
    assert "(bot: scrapybot)" in result.stderr
    with (tmp_path / "basketball.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    expected = [
        (raw, market, outcome)
        for raw in DATA.events(36, "IE")
        for market in raw["details"]["offers"]
        for outcome in market["outcomes"]
    ]
    assert len(rows) == len(expected)
    for row, (raw, market, outcome) in zip(rows, expected, strict=True):
        assert row["event_id"] == str(raw["id"])
        assert row["sport_name"] == "Basketball"
        assert (row["home_team"], row["away_team"]) == (
            raw["homeTeam"]["name"],
            raw["awayTeam"]["name"],
        )
        assert (row["market_id"], row["market_name"]) == (str(market["id"]), market["name"])
        assert (row["outcome_id"], row["outcome_name"]) == (
            str(outcome["id"]),
            outcome["outcomeName"],
        )
        assert float(row["odds"]) == outcome["odds"]
        assert row["fractional"] == outcome["fractional"]
    assert f"Saved 40 basketball events (IE) to basketball.csv as {len(rows)} rows" in (
        result.stdout
    )
    for raw in DATA.events(36, "IE")[:3]:  # the preview is built from the flat rows too
        assert preview_line(raw).search(result.stdout), result.stdout
    assert len(table_lines(result.stdout)) == 2 + 3


@pytest.mark.slow
def test_help_explains_the_subcommand_and_every_option(tmp_path: Path) -> None:
    result = scrapy_kwiff(tmp_path, "fetch-events", "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # argparse wraps lines
    assert "scrapy kwiff fetch-events [--sport SPORT] [--country CC] [--output FILE]" in text
    for option in ("--sport", "--country", "--output", "--show-preview", "--preview-rows", "-s"):
        assert f"{option} " in text
    assert "(basketball, football)" in text
    assert "default: events.json" in text
    assert ".csv (one flat row per outcome)" in text
    assert "KWIFF_ENDPOINT=simulator" in text
    assert "log level (default: WARNING)" in text
    assert scrapy_kwiff(tmp_path, "--help").stdout == result.stdout


@pytest.mark.slow
def test_the_command_is_listed_by_scrapy(tmp_path: Path) -> None:
    result = scrapy_kwiff(tmp_path)  # `scrapy kwiff` without a subcommand
    assert result.returncode == 2
    assert "scrapy kwiff: error: missing subcommand: use one of fetch-events" in result.stderr
    listing = subprocess.run(
        [sys.executable, "-m", "scrapy"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert re.search(
        r"^\s+kwiff\s+Kwiff data, by subcommand: fetch-events, history",
        listing.stdout,
        re.MULTILINE,
    )


USAGE_ERRORS: list[tuple[list[str], str]] = [
    (
        ["fetch-events", "--sport", "curling"],
        "--sport: unknown sport 'curling': use one of basketball, football, or a numeric sport id",
    ),
    (["fetch-all"], "unknown subcommand 'fetch-all': use one of fetch-events"),
    (["fetch-events", "--sprot", "tennis"], "unrecognized arguments: --sprot tennis"),
    (["fetch-events", "--country", "GBR"], "--country: country must be an ISO 3166"),
    (["fetch-events", "--output", "x.txt"], "--output x.txt: Unrecognized output format 'txt'"),
    (["fetch-events", "--preview-rows", "0"], "--preview-rows must be 1 or more"),
]


@pytest.mark.slow
def test_usage_errors_exit_2_with_a_clear_message(tmp_path: Path) -> None:
    # Started all at once: each is a second of imports, then fails before crawling.
    with ThreadPoolExecutor(len(USAGE_ERRORS)) as pool:
        results = list(pool.map(lambda case: scrapy_kwiff(tmp_path, *case[0]), USAGE_ERRORS))
    for (args, message), result in zip(USAGE_ERRORS, results, strict=True):
        assert result.returncode == 2, (args, result.stderr)
        assert f"scrapy kwiff: error: {message}" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing crawled, nothing written


@pytest.mark.slow
def test_no_server_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    with closed_port() as port:
        endpoint = f"ws://127.0.0.1:{port}/socket.io/"
        result = scrapy_kwiff(
            tmp_path, "fetch-events", "-s", f"KWIFF_ENDPOINT={endpoint}", "-s", "RETRY_TIMES=0"
        )
    assert result.returncode == 1
    assert (
        f"scrapy kwiff fetch-events: no answer to event:list from {endpoint}: see the log above"
        in result.stderr
    )
    assert "try -s KWIFF_ENDPOINT=simulator" in result.stderr
    assert result.stdout == ""
    # The error above the message is the crawl's own last line (Scrapy's lines about the
    # failed command would say it again); its INFO log is not shown.
    (error,) = log_lines(result.stderr, "ERROR")
    assert "] ERROR: No Kwiff command was answered (1 failed)" in error
    assert log_lines(result.stderr, "INFO") == []


@pytest.mark.slow
def test_an_output_that_cannot_be_written_exits_1(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory", encoding="utf-8")
    result = scrapy_kwiff(
        tmp_path, "fetch-events", "-s", "KWIFF_ENDPOINT=simulator", "--output", "file/events.json"
    )
    assert result.returncode == 1
    assert "scrapy kwiff fetch-events: could not write file/events.json" in result.stderr
    assert result.stdout == ""
    assert log_lines(result.stderr, "ERROR")  # Scrapy's feed export says why
    assert "Not a directory: 'file/events.json'" in result.stderr


@pytest.mark.slow
def test_a_crawl_that_ends_early_exits_1_and_says_where_to_look(tmp_path: Path) -> None:
    def run(output: str, *log_options: str) -> subprocess.CompletedProcess[str]:
        settings = ["-s", "KWIFF_ENDPOINT=simulator", "-s", "CLOSESPIDER_ITEMCOUNT=1"]
        return scrapy_kwiff(tmp_path, "fetch-events", "--output", output, *settings, *log_options)

    with ThreadPoolExecutor(2) as pool:
        quiet, verbose = pool.map(
            lambda options: run(*options), [("quiet.json",), ("verbose.json", "-L", "INFO")]
        )
    ended = "scrapy kwiff fetch-events: the crawl ended early (closespider_itemcount): "
    assert quiet.returncode == verbose.returncode == 1
    assert quiet.stderr == f"{ended}-L INFO shows the whole log\n"
    assert f"{ended}see the log above\n" in verbose.stderr
    assert "Closing spider (closespider_itemcount)" in verbose.stderr
    assert quiet.stdout == verbose.stdout == ""


@pytest.mark.slow
def test_a_refused_handshake_exits_1_naming_the_status(tmp_path: Path) -> None:
    result = scrapy_kwiff(
        tmp_path,
        "fetch-events",
        "-s",
        "KWIFF_ENDPOINT=simulator",
        "-s",
        'KWIFF_SIMULATOR_OPTIONS={"refuse_status": 403}',
    )
    assert result.returncode == 1
    assert "from simulator (handshake refused with HTTP 403)" in result.stderr
    # The warning that says why reaches the user, without the rest of the log.
    (warning,) = log_lines(result.stderr, "WARNING")
    assert "[kwiff_scrapy.integration.handler] WARNING: handshake refused with HTTP 403" in warning
    assert log_lines(result.stderr, "INFO") == []


# -- the preview table -------------------------------------------------------------------


def test_the_preview_is_the_same_from_nested_events_or_flat_rows() -> None:
    events = parse_events({"events": DATA.events(11)}, fetched_at="2026-01-20T12:00:00.000Z")
    nested, flat = EventPreview(limit=4), EventPreview(limit=4)
    for event in events:
        nested.add(event)
        for row in outcome_rows(event):
            flat.add(row)
    assert nested.render() == flat.render()
    assert [(e.home, e.away) for e in nested.events] == [
        (raw["homeTeam"]["name"], raw["awayTeam"]["name"]) for raw in DATA.events(11)[:4]
    ]
    main = DATA.events(11)[0]["details"]["offers"][0]
    assert nested.events[0].market == main["name"]
    assert nested.events[0].odds == [o["odds"] for o in main["outcomes"]]


def test_the_preview_copes_with_missing_fields() -> None:
    preview = EventPreview(limit=10)
    preview.add({"event_id": 1, "start_time": "soon", "markets": []})
    preview.add({"event_id": 2, "home_team": "A", "markets": [{"name": "M", "outcomes": []}]})
    lines = preview.render().splitlines()
    assert lines[0] == "First 2 events:"
    assert lines[3].split() == ["1", "soon", "-", "-"]
    assert lines[4].split() == ["2", "A", "M", "-"]
    assert EventPreview(limit=3).render() == "No events to preview."


def test_columns_line_up_by_display_width_with_unicode_names() -> None:
    names = ["Bodø/Glimt", "Beşiktaş", "東京ヴェルディ", "Cafe\u0301 FC", "Plain"]
    table = format_table(("Team", "Odds"), [(name, "2.00") for name in names])
    lines = table.splitlines()
    assert [line.split("  ")[0].rstrip() for line in lines[2:]] == names  # kept as they are
    odds_columns = {display_width(line[: line.index("2.00")]) for line in lines[2:]}
    assert odds_columns == {display_width("東京ヴェルディ") + 2}
    assert display_width("東京ヴェルディ") == 14
    assert display_width("Cafe\u0301") == 4


def test_fetch_events_with_a_misspelt_endpoint_does_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bound for the live service with ``KWIFF_URL`` (not a setting): one error line, exit 1."""
    # Were the check broken, the crawl would try the live service: through a proxy that
    # refuses every connection, so that it never reaches it.
    with closed_port() as port:
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{port}")
        result = scrapy_kwiff(tmp_path, "fetch-events", "-s", "KWIFF_URL=ws://127.0.0.1:9000")
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = log_lines(result.stderr, "ERROR")
    assert len(errors) == 1, result.stderr[-3000:]
    assert "Cannot start the crawl: KWIFF_URL is not a setting" in errors[0]
    assert result.stderr.endswith(
        "scrapy kwiff fetch-events: the crawl could not start: see the error above\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_long_tables_print_a_page_at_a_time_with_one_heading() -> None:
    stream = io.StringIO()
    rows = ((str(number), f"row {number}") for number in range(5))
    shown = echo_pages(("n", "text"), rows, stream, page_size=2, heading="Rows:")
    assert shown == 5
    text = stream.getvalue()
    assert text.count("Rows:") == 1
    assert text.startswith("Rows:\n")
    assert text.count("n  text") == 3  # pages of 2, 2 and 1
    assert [line for line in text.splitlines() if line.startswith("4")] == ["4  row 4"]
    empty = io.StringIO()
    assert echo_pages(("n",), iter(()), empty, page_size=2, heading="Rows:") == 0
    assert empty.getvalue() == ""  # the caller says there is nothing
