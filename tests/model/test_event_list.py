"""``read_event_list``: the one way from an ``event:list`` answer to events."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import pytest

from kwiff_scrapy.model import parsing
from kwiff_scrapy.model.answer import Answer, parse_answer
from kwiff_scrapy.model.event_list import ListedEvents, read_event_list
from kwiff_scrapy.model.parsing import parse_events
from kwiff_scrapy.simulator import SimulatedData


def ack(answer: dict[str, Any]) -> bytes:
    return json.dumps([answer]).encode("utf-8")


def simulated() -> dict[str, Any]:
    answer = SimulatedData().answer("event:list", {"listId": "default", "sportId": 11})
    return copy.deepcopy(answer)  # the simulator shares its data between answers


class Decoder:
    """The ``decode`` argument, counting its calls."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.calls = 0

    def __call__(self) -> Answer:
        self.calls += 1
        return parse_answer(json.loads(self.body))


def tolerant(body: bytes) -> tuple[str, Counter[str], str | None]:
    answer = parse_answer(json.loads(body))
    skips: Counter[str] = Counter()
    events = parse_events(answer.data, fetched_at=answer.fetched_at, skips=skips)
    return repr(events), skips, answer.fetched_at


def summary(listed: ListedEvents) -> tuple[str, Counter[str], str | None]:
    return repr(listed.events), listed.skips, listed.fetched_at


def test_an_undecoded_plain_answer_is_read_from_its_bytes_without_decoding() -> None:
    body = ack(simulated())
    decode = Decoder(body)
    listed = read_event_list(body, decode)
    assert decode.calls == 0
    assert listed.answer is None
    assert listed.error is None
    assert len(listed.events) == len(simulated()["data"]["events"]) > 0
    assert listed.fetched_at is not None
    assert summary(listed) == tolerant(body)
    assert listed.has_events_list
    assert listed.complete


def test_a_decoded_answer_is_parsed_from_its_envelope() -> None:
    body = ack(simulated())
    decode = Decoder(body)
    listed = read_event_list(None, decode)
    assert decode.calls == 1
    assert listed.answer == decode()
    assert summary(listed) == tolerant(body)


def test_without_msgspec_the_envelope_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "wire", None)
    body = ack(simulated())
    decode = Decoder(body)
    assert summary(read_event_list(body, decode)) == tolerant(body)
    assert decode.calls == 1


def test_an_error_answer_is_decoded_and_has_no_events_list() -> None:
    body = ack({"timestamp": 1768921926610, "error": {"message": "nope"}})
    decode = Decoder(body)
    listed = read_event_list(body, decode)
    assert decode.calls == 1
    assert listed.error == {"message": "nope"}
    assert listed.events == []
    assert not listed.has_events_list
    assert listed.skips == Counter({"events_missing": 1})
    assert listed.fetched_at == "2026-01-20T15:12:06.610Z"


def test_an_unreadable_entry_makes_the_list_incomplete() -> None:
    answer = simulated()
    answer["data"]["events"].append("not an event")
    body = ack(answer)
    decode = Decoder(body)
    listed = read_event_list(body, decode)
    assert decode.calls == 1  # the typed path declines what is not plain
    assert listed.has_events_list
    assert not listed.complete
    assert summary(listed) == tolerant(body)
    assert listed.skips["event_not_object"] == 1


def test_an_entry_without_an_id_makes_the_list_incomplete() -> None:
    answer = simulated()
    del answer["data"]["events"][0]["id"]
    listed = read_event_list(ack(answer), Decoder(ack(answer)))
    assert listed.skips["event_without_id"] == 1
    assert not listed.complete
