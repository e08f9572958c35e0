"""``EventSnapshot.of(event, priced=True)`` (the overround and probabilities parsing filled
in, taken as they are) is the snapshot ``EventSnapshot.of(event)`` works out afresh."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given

from kwiff_scrapy.model.changes import EventSnapshot
from kwiff_scrapy.model.items import KwiffEvent
from kwiff_scrapy.model.parsing import parse_event_detail, parse_events
from kwiff_scrapy.simulator import SimulatedData

from . import test_parsing
from .test_parsing_equivalence import EQUIVALENCE, event_lists

DATA = SimulatedData()


def assert_same_snapshots(events: list[KwiffEvent]) -> None:
    for event in events:
        assert EventSnapshot.of(event, priced=True) == EventSnapshot.of(event)


@pytest.mark.parametrize("sport", [11, 36])
def test_listed_and_detailed_events_give_the_same_snapshots(sport: int) -> None:
    listed = parse_events({"events": DATA.events(sport)})
    detailed = [
        parse_event_detail(DATA.answer("event:get", {"eventId": event.event_id})["data"])
        for event in listed
    ]
    events = listed + [event for event in detailed if event is not None]
    assert len(events) == 2 * len(listed) > 20
    books = sum(market.overround is not None for event in events for market in event.markets)
    assert books > 100  # the fast arithmetic is exercised
    assert_same_snapshots(events)


@EQUIVALENCE
@given(data=event_lists | test_parsing.event_lists)
def test_any_parsed_events_give_the_same_snapshots(data: Any) -> None:
    assert_same_snapshots(parse_events(data, skips=Counter()))
