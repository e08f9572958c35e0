"""Spider arguments as a user gives them: strict booleans and names, markets and a time
window applied while reading, the layout a feed needs, and CSV a spreadsheet reads."""

from __future__ import annotations

import csv
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from kwiff_scrapy.model.items import KwiffEvent, OddsChange, OutcomeRow
from kwiff_scrapy.model.match_rows import MatchRow
from kwiff_scrapy.simulator import KwiffSimulator
from kwiff_scrapy.spiders import arguments
from kwiff_scrapy.spiders.event import KwiffEventSpider
from kwiff_scrapy.spiders.football import KwiffFootballSpider
from kwiff_scrapy.spiders.watch import KwiffWatchSpider

from ..conftest import crawl
from ..support.crawl_process import assert_clean_run, assert_fails_at_start, run_crawl
from ..support.watching import watch

# -- booleans and names ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2", "maybe", "tru", "-1"])
def test_a_value_that_is_not_a_boolean_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=rf"flat must be a boolean: .* not '{value}'"):
        KwiffFootballSpider(flat=value)


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("Yes", True), ("off", False)])
def test_boolean_words(value: str, expected: bool) -> None:
    assert arguments.boolean(value, "details") is expected
    assert KwiffWatchSpider(details=value).details is expected


def test_an_unknown_argument_lists_the_known_ones_with_a_guess() -> None:
    with pytest.raises(ValueError, match="unknown argument") as raised:
        KwiffFootballSpider(contry="IE")
    assert str(raised.value) == (
        "unknown argument 'contry' (did you mean country?): kwiff_football takes country, "
        "date, details, flat, layout, markets, tz, within; Scrapy's own: _job, name"
    )


def test_an_argument_of_another_spider_is_unknown_to_this_one() -> None:
    with pytest.raises(ValueError, match=r"unknown argument 'interval': kwiff_event takes"):
        KwiffEventSpider(ids="1", interval="5")


def test_scrapys_own_arguments_and_a_subclasss_extra_ones_are_accepted() -> None:
    class Mine(KwiffFootballSpider):
        extra_arguments = ("league",)

    spider = Mine(_job="a1b2", league="Premier League")
    assert vars(spider)["_job"] == "a1b2"
    assert vars(spider)["league"] == "Premier League"
    assert "league" in arguments.known_arguments(Mine)


def test_uk_is_not_the_iso_code() -> None:
    with pytest.raises(ValueError, match=r"country 'uk' is not an ISO 3166 .*did you mean GB\?"):
        KwiffFootballSpider(country="uk")


@pytest.mark.parametrize(
    ("spider_arguments", "message"),
    [
        ({"within": "soon"}, "within must be a duration such as 24h"),
        ({"within": "0h"}, "within must be longer than nothing"),
        ({"date": "tomorrow"}, "date must be today or a day such as 2026-12-08"),
        ({"date": "today", "tz": "Mars/Olympus"}, "tz must be an IANA time zone name"),
        ({"tz": "Europe/London"}, "tz sets the time zone of -a date=..."),
        ({"within": "24h", "date": "today"}, "not both"),
        ({"markets": " , "}, "markets must be market names separated by commas"),
        ({"layout": "wide"}, "layout must be one of nested, flat, match, not 'wide'"),
        ({"layout": "match", "flat": "1"}, "give -a layout=match or -a flat=1, not both"),
    ],
)
def test_bad_selection_and_layout_arguments(spider_arguments: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KwiffFootballSpider(**spider_arguments)


def test_durations() -> None:
    assert arguments.duration("24h").total_seconds() == 86_400
    assert arguments.duration("1d12h").total_seconds() == 129_600
    assert arguments.duration("90m").total_seconds() == 5_400


# -- the layout a feed needs ----------------------------------------------------------------

CSV_FEED = {"events.csv": {"format": "csv"}}
JSON_FEED = {"events.json": {"format": "json"}}


def test_a_csv_feed_gets_flat_rows_unless_a_layout_was_asked_for() -> None:
    assert arguments.feed_layout(None, JSON_FEED) == ("nested", None)
    layout, note = arguments.feed_layout(None, {**JSON_FEED, **CSV_FEED})
    assert layout == "flat"
    assert note is not None
    assert "events.csv" in note
    assert arguments.feed_layout("match", CSV_FEED) == ("match", None)
    with pytest.raises(ValueError, match=r"the CSV feed events\.csv cannot hold nested events"):
        arguments.feed_layout("nested", CSV_FEED)


# -- in-process crawls ----------------------------------------------------------------------


async def test_markets_are_kept_by_name_and_an_unknown_one_is_warned_about_once(
    simulator: KwiffSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    result = await crawl(
        KwiffFootballSpider,
        {"KWIFF_ENDPOINT": simulator.url},
        markets="full time result,Both Teams To Scor",
    )
    events: list[KwiffEvent] = result.items
    assert events
    assert {m.name for e in events for m in e.markets} == {"Full Time Result"}
    warnings = [r.getMessage() for r in caplog.records if "No market is named" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "No market is named 'Both Teams To Scor' in the answers so far; "
        "did you mean 'Both Teams To Score' or "
    )


async def test_a_day_keeps_only_the_events_starting_on_it(simulator: KwiffSimulator) -> None:
    settings = {"KWIFF_ENDPOINT": simulator.url}
    everything: list[KwiffEvent] = (await crawl(KwiffFootballSpider, settings)).items
    day = min(e.start_time for e in everything if e.start_time)[:10]
    on_the_day = (await crawl(KwiffFootballSpider, settings, date=day, tz="UTC")).items
    assert [e.event_id for e in on_the_day] == [
        e.event_id for e in everything if e.start_time and e.start_time.startswith(day)
    ]
    assert 0 < len(on_the_day) < len(everything)


async def test_layout_match_yields_a_row_per_event_with_a_result_market(
    simulator: KwiffSimulator,
) -> None:
    settings = {"KWIFF_ENDPOINT": simulator.url}
    events: list[KwiffEvent] = (await crawl(KwiffFootballSpider, settings)).items
    rows: list[MatchRow] = (await crawl(KwiffFootballSpider, settings, layout="match")).items
    assert [row.event_id for row in rows] == [e.event_id for e in events]
    first, row = events[0], rows[0]
    result = next(m for m in first.markets if m.name == "Full Time Result")
    assert (row.home_team, row.away_team, row.start_time) == (
        first.home_team,
        first.away_team,
        first.start_time,
    )
    assert [row.home_odds, row.draw_odds, row.away_odds] == [o.odds for o in result.outcomes]
    assert row.overround is not None
    assert (
        row.overround
        == result.overround
        == pytest.approx(sum(1 / o.odds for o in result.outcomes) - 1)
    )


async def test_the_watch_compares_only_the_markets_asked_for(simulator: KwiffSimulator) -> None:
    run = await watch(simulator, polls=1, markets="Both Teams To Score")
    changes = [item for item in run.items if isinstance(item, OddsChange)]
    assert changes
    assert {change.market_name for change in changes} == {"Both Teams To Score"}


# -- scrapy crawl, as a user runs it --------------------------------------------------------

BAD_ARGUMENTS: list[tuple[list[str], str]] = [
    (["-a", "contry=IE"], "unknown argument 'contry' (did you mean country?): kwiff_football "
     "takes country, date, details, flat, layout, markets, tz, within; Scrapy's own: _job, name"),
    (["-a", "flat=2"], "flat must be a boolean: 1, true, yes or on / 0, false, no or off, not '2'"),
    (["-a", "country=UK"], "country 'UK' is not an ISO 3166 alpha-2 code: did you mean GB?"),
    (["-a", "layout=nested"], "cannot hold nested events: use -a layout=flat"),
]  # fmt: skip


@pytest.mark.slow
def test_scrapy_crawl_refuses_a_bad_argument_in_one_line(tmp_path: Path) -> None:
    def run(case: tuple[list[str], str]) -> Any:
        return run_crawl(*case[0], "-O", str(tmp_path / "events.csv"))

    with ThreadPoolExecutor(len(BAD_ARGUMENTS)) as pool:
        results = list(pool.map(run, BAD_ARGUMENTS))
    for (_, message), result in zip(BAD_ARGUMENTS, results, strict=True):
        assert_fails_at_start(result, message, tmp_path / "events.csv")


def read_csv(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_scrapy_crawl_into_a_csv_feed_writes_flat_rows_with_spreadsheet_times(
    tmp_path: Path,
) -> None:
    output = tmp_path / "events.csv"
    result = run_crawl("-O", str(output), "-s", "LOG_LEVEL=INFO")
    assert_clean_run(result)
    assert "INFO: Writing one flat row per outcome, as the CSV feed" in result.stderr
    rows = read_csv(output)
    assert list(rows[0]) == [f.name for f in fields(OutcomeRow)]
    assert not any("Market(" in value or "Outcome(" in value for r in rows for value in r.values())
    assert rows[0]["start_time"].count(":") == 2
    assert rows[0]["start_time"][10] == " "
    assert "T" not in rows[0]["fetched_at"]


@pytest.mark.slow
def test_scrapy_crawl_layout_match_with_a_byte_order_mark_for_excel(tmp_path: Path) -> None:
    output, json_output = tmp_path / "matches.csv", tmp_path / "matches.json"
    # The byte-order mark for the CSV feed only: Scrapy's JSON exporter would write one
    # before every item with FEED_EXPORT_ENCODING=utf-8-sig.
    feeds = {
        str(output): {"format": "csv", "encoding": "utf-8-sig"},
        str(json_output): {"format": "json"},
    }
    result = run_crawl("-a", "layout=match", "-s", f"FEEDS={json.dumps(feeds)}")
    assert_clean_run(result)
    assert output.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = read_csv(output, encoding="utf-8-sig")
    assert list(rows[0]) == [f.name for f in fields(MatchRow)]
    assert any("Bodø/Glimt" in (row["home_team"], row["away_team"]) for row in rows)
    as_json = json.loads(json_output.read_text(encoding="utf-8"))
    assert [str(row["event_id"]) for row in as_json] == [row["event_id"] for row in rows]
    # JSON keeps ISO 8601; the CSV writes the same time as a spreadsheet reads it.
    assert as_json[0]["start_time"].endswith("Z")
    assert rows[0]["start_time"] == as_json[0]["start_time"][:19].replace("T", " ")
