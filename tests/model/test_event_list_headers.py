"""``parse_event_list_headers``: an ``event:list``'s events without their markets, for a
``details=1`` watch. Where the full typed path takes an answer, the same events (markets
left empty) and the same skips; where only this one does, the events the tolerant path
reads, without their markets; and nothing counted when it declines."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import event, given

from kwiff_scrapy.model import parsing
from kwiff_scrapy.model.answer import parse_answer
from kwiff_scrapy.model.event_list import read_event_list
from kwiff_scrapy.model.items import KwiffEvent
from kwiff_scrapy.model.parsing import (
    parse_event_list_ack,
    parse_event_list_headers,
    parse_events,
)
from kwiff_scrapy.simulator import SimulatedData

from .test_parsing_equivalence import EQUIVALENCE
from .test_wire_equivalence import ack_arrays, encoded

DATA = SimulatedData()


def without_markets(events: list[KwiffEvent]) -> str:
    return repr([dataclasses.replace(item, markets=[]) for item in events])


def headers(body: bytes) -> tuple[str, Counter[str], str | None] | None:
    skips: Counter[str] = Counter()
    read = parse_event_list_headers(body, skips=skips)
    if read is None:
        assert not skips, "nothing may be counted before deciding"
        return None
    events, fetched_at = read
    assert all(item.markets == [] for item in events)
    return without_markets(events), skips, fetched_at


@pytest.mark.parametrize("sport", [11, 36])
def test_the_simulated_lists_give_the_full_path_events_without_markets(sport: int) -> None:
    body = encoded([{"timestamp": 1768921926610, "data": {"events": DATA.events(sport)}}])
    skips: Counter[str] = Counter()
    full = parse_event_list_ack(body, skips=skips)
    assert full is not None
    assert headers(body) == (without_markets(full[0]), skips, full[1])
    assert len(full[0]) > 10


def test_read_event_list_without_markets_takes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    body = encoded([{"timestamp": 1768921926610, "data": {"events": DATA.events(11)}}])
    listed = read_event_list(body, lambda: parse_answer([]), markets=False)
    assert listed.answer is None  # read from the bytes
    assert [item.event_id for item in listed.events] == [e["id"] for e in DATA.events(11)]
    monkeypatch.setattr(parsing, "wire", None)  # without msgspec: the tolerant path, whole
    tolerant = read_event_list(body, lambda: parse_answer(json.loads(body)), markets=False)
    assert tolerant.answer is not None
    assert without_markets(tolerant.events) == without_markets(listed.events)


@EQUIVALENCE
@given(args=ack_arrays)
def test_the_headers_are_those_of_every_path(args: list[Any]) -> None:
    body = encoded(args)
    read = headers(body)
    event("taken" if read is not None else "declined")
    if read is None:
        return
    skips: Counter[str] = Counter()
    full = parse_event_list_ack(body, skips=skips)
    if full is not None:
        assert read == (without_markets(full[0]), skips, full[1])
    else:  # markets the typed path declines: the tolerant path reads them and counts theirs
        answer = parse_answer(args)
        events = parse_events(answer.data, fetched_at=answer.fetched_at, skips=Counter())
        assert read[0] == without_markets(events)
        assert read[2] == answer.fetched_at
