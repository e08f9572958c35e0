"""`scrapy crawl kwiff_football -O ...` as a user runs it: a subprocess, the Twisted
asyncio reactor, the project settings, the in-process simulator, real feed files."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from kwiff_scrapy.simulator import SimulatedData

from ..support.crawl_process import assert_clean_run, assert_fails_at_start, run_crawl

pytestmark = pytest.mark.slow


def scrapy_crawl(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_crawl(*args)


def expected_events(country: str = "GB") -> list[dict]:
    return SimulatedData().events(11, country)


def test_json_feed_has_every_simulated_event(tmp_path: Path) -> None:
    output = tmp_path / "events.json"
    result = scrapy_crawl(tmp_path, "-O", str(output))
    assert_clean_run(result)
    events = json.loads(output.read_text(encoding="utf-8"))
    expected = expected_events()
    assert len(events) == len(expected) == 111
    by_id = {event["event_id"]: event for event in events}
    assert set(by_id) == {raw["id"] for raw in expected}
    for raw in expected:
        item = by_id[raw["id"]]
        assert item["home_team"] == raw["homeTeam"]["name"]
        assert item["away_team"] == raw["awayTeam"]["name"]
        assert item["competition_name"] == raw["competition"]["name"]
        assert item["start_time"] == raw["startDate"]
        assert item["sport_id"] == 11
        assert item["sport_name"] == "Football"
        assert item["fetched_at"].endswith("Z")
        offers = raw["details"]["offers"]
        assert [m["name"] for m in item["markets"]] == [o["name"] for o in offers]
        first = offers[0]["outcomes"][0]
        assert item["markets"][0]["outcomes"][0]["odds"] == pytest.approx(float(first["odds"]))
        assert item["markets"][0]["outcomes"][0]["fractional"] == first["fractional"]
    assert "Bodø/Glimt" in output.read_text(encoding="utf-8")
    assert "'kwiff/acks_received': 1" in result.stderr
    assert "'item_scraped_count': 111" in result.stderr


def test_jsonl_feed_one_event_per_line_for_another_country(tmp_path: Path) -> None:
    output = tmp_path / "events.jsonl"
    result = scrapy_crawl(tmp_path, "-a", "country=IE", "-O", str(output))
    assert_clean_run(result)
    lines = output.read_text(encoding="utf-8").splitlines()
    expected = expected_events("IE")
    assert len(lines) == len(expected)
    assert [json.loads(line)["event_id"] for line in lines] == [e["id"] for e in expected]


def test_csv_feed_with_flat_rows_one_per_outcome(tmp_path: Path) -> None:
    output = tmp_path / "events.csv"
    result = scrapy_crawl(tmp_path, "-a", "flat=1", "-O", str(output))
    assert_clean_run(result)
    with output.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = expected_events()
    outcomes = [
        (event["id"], offer["name"], outcome["outcomeName"], outcome["fractional"])
        for event in expected
        for offer in event["details"]["offers"]
        for outcome in offer["outcomes"]
    ]
    assert len(rows) == len(outcomes)
    assert {
        "event_id",
        "home_team",
        "away_team",
        "start_time",
        "market_name",
        "outcome_name",
        "odds",
        "fractional",
    } <= set(rows[0])
    assert [
        (int(r["event_id"]), r["market_name"], r["outcome_name"], r["fractional"]) for r in rows
    ] == outcomes
    first_event = expected[0]
    first_row = rows[0]
    assert first_row["home_team"] == first_event["homeTeam"]["name"]
    assert float(first_row["odds"]) == pytest.approx(
        float(first_event["details"]["offers"][0]["outcomes"][0]["odds"])
    )


def test_unknown_country_fails_at_start_with_a_clear_message(tmp_path: Path) -> None:
    output = tmp_path / "x.json"
    result = scrapy_crawl(tmp_path, "-a", "country=Great Britain", "-O", str(output))
    assert_fails_at_start(
        result,
        "country must be an ISO 3166 alpha-2 code such as GB or IE, not 'Great Britain'",
        output,
    )
