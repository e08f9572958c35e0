"""What a Selection keeps, read while an answer is parsed; and the items' times for CSV."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kwiff_scrapy.model.items import KwiffEvent, Market, Outcome
from kwiff_scrapy.model.match_rows import MatchRow, match_row
from kwiff_scrapy.model.parsing import parse_event_list_ack, parse_events
from kwiff_scrapy.model.selection import Selection, TimeWindow
from kwiff_scrapy.model.values import spreadsheet_time

FETCHED_AT = "2026-12-08T10:00:00.000Z"


def raw_event(event_id: int, start: str | None, *markets: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "sportId": 11,
        "homeTeam": {"id": 1, "name": "Arsenal"},
        "awayTeam": {"id": 2, "name": "Bodø/Glimt"},
        "startDate": start,
        "details": {
            "offers": [
                {
                    "id": event_id * 100 + n,
                    "name": name,
                    "outcomes": [
                        {"id": event_id * 10_000 + n, "outcomeName": "Yes", "odds": 2.0,
                         "fractional": "1/1"}
                    ],
                }
                for n, name in enumerate(markets)
            ]
        },
    }  # fmt: skip


EVENTS = [
    raw_event(1, "2026-12-08T09:00:00.000Z", "Full Time Result", "Both Teams To Score"),
    raw_event(2, "2026-12-08T23:30:00.000Z", "Full Time Result", "Double Chance"),
    raw_event(3, "2026-12-09T12:00:00.000Z", "Full Time Result"),
    raw_event(4, None, "Full Time Result"),
]


def ack(events: list[dict[str, Any]]) -> bytes:
    """An event:list ACK's JSON array, as the typed path reads it."""
    envelope = {"data": {"events": events}, "timestamp": 1_796_724_000_000}  # 2026-12-08T10:00Z
    return json.dumps([envelope]).encode()


def both_paths(select: Selection) -> list[list[KwiffEvent]]:
    """The events of the tolerant and of the typed path, with one selection each."""
    tolerant = parse_events({"events": EVENTS}, fetched_at=FETCHED_AT, select=select)
    typed = parse_event_list_ack(ack(EVENTS), skips=Counter(), select=select)
    assert typed is not None
    assert typed[1] == FETCHED_AT
    return [tolerant, typed[0]]


def test_markets_by_name_any_case_in_both_paths() -> None:
    for events in both_paths(Selection.of(["full time result", "BOTH TEAMS TO SCORE"])):
        assert [[m.name for m in e.markets] for e in events] == [
            ["Full Time Result", "Both Teams To Score"],
            ["Full Time Result"],
            ["Full Time Result"],
            ["Full Time Result"],
        ]


def test_within_keeps_events_starting_before_its_end_those_under_way_included() -> None:
    window = TimeWindow(within=timedelta(hours=24))
    for events in both_paths(Selection.of(window=window)):
        # 1 started an hour before the answer; 3 starts 26 h after it; 4 has no start.
        assert [e.event_id for e in events] == [1, 2]


def test_a_day_in_a_time_zone() -> None:
    # 2026-12-08 in New York is 05:00Z on the 8th to 05:00Z on the 9th.
    on_the_8th = TimeWindow(day=date(2026, 12, 8), zone=ZoneInfo("America/New_York"))
    for events in both_paths(Selection.of(window=on_the_8th)):
        assert [e.event_id for e in events] == [1, 2]
    utc_today = TimeWindow(day=None)  # today, by the answer's clock: the 8th
    for events in both_paths(Selection.of(window=utc_today)):
        assert [e.event_id for e in events] == [1, 2]
    tokyo_today = TimeWindow(day=None, zone=ZoneInfo("Asia/Tokyo"))  # 19:00 on the 8th there
    for events in both_paths(Selection.of(window=tokyo_today)):
        # The 8th in Tokyo: 15:00Z on the 7th to 15:00Z on the 8th.
        assert [e.event_id for e in events] == [1]


def test_a_day_across_a_clock_change_is_its_real_length() -> None:
    london = ZoneInfo("Europe/London")
    first, after = TimeWindow(day=date(2026, 3, 29), zone=london).bounds(Selection.of().clock())
    assert first is not None
    assert after - first == timedelta(hours=23)


def test_unknown_market_names_come_with_the_closest_names_seen() -> None:
    select = Selection.of(["Full Time Reslt", "Both Teams To Score", "Corners"])
    parse_events({"events": EVENTS}, fetched_at=FETCHED_AT, select=select)
    assert select.unmatched_markets() == {
        "Corners": [],
        "Full Time Reslt": ["Full Time Result"],
    }


def test_spreadsheet_time() -> None:
    assert spreadsheet_time("2026-12-08T17:45:00.000Z") == "2026-12-08 17:45:00"
    assert spreadsheet_time("2026-01-20T15:12:06.610Z") == "2026-01-20 15:12:06.610"
    assert spreadsheet_time("2026-12-08T18:45:00+01:00") == "2026-12-08 17:45:00"
    assert spreadsheet_time("soon") == "soon"
    assert spreadsheet_time(None) is None


# -- one row per match ----------------------------------------------------------------------


def event_with(market: str, *outcomes: tuple[str, float]) -> KwiffEvent:
    result = Market(7, market, [Outcome(n, name, odds) for n, (name, odds) in enumerate(outcomes)])
    other = Market(8, "Both Teams To Score", [Outcome(9, "Yes", 1.8)])
    return KwiffEvent(1, home_team="Arsenal", away_team="Juventus", markets=[other, result])


def test_a_match_row_takes_the_outcomes_by_team_name_whatever_their_order() -> None:
    event = event_with("Full Time Result", ("Juventus", 4.5), ("Draw", 4.0), ("Arsenal", 1.67))
    row = match_row(event)
    assert row == MatchRow(
        1, home_team="Arsenal", away_team="Juventus", market_name="Full Time Result",
        home_odds=1.67, draw_odds=4.0, away_odds=4.5,
    )  # fmt: skip


def test_a_two_way_result_market_has_no_draw() -> None:
    row = match_row(event_with("Money Line", ("Home side", 1.5), ("Away side", 2.6)))
    assert row is not None
    assert (row.home_odds, row.draw_odds, row.away_odds) == (1.5, None, 2.6)


def test_an_event_without_a_result_market_has_no_row() -> None:
    assert match_row(event_with("Double Chance", ("1X", 1.2))) is None


@pytest.mark.parametrize("name", ["Full Time Result", "full time result", "Money Line"])
def test_result_markets_are_found_by_name_any_case(name: str) -> None:
    assert match_row(event_with(name, ("Arsenal", 2.0), ("Juventus", 2.0))) is not None
