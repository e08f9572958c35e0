"""``parse_event_get_ack`` (msgspec, straight from an ``event:get`` ACK's bytes) against
the tolerant path (``parse_answer`` then ``parse_event_detail``): the same event and the
same skips whenever it takes an answer, and nothing counted when it declines."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from kwiff_scrapy.model import parsing
from kwiff_scrapy.model.answer import parse_answer
from kwiff_scrapy.model.parsing import parse_event_detail, parse_event_get_ack
from kwiff_scrapy.model.selection import Selection
from kwiff_scrapy.simulator import SimulatedData

from .test_parsing_equivalence import (
    ABSENT,
    EQUIVALENCE,
    maybe_absent,
    objects,
    odd_values,
    plain_ids,
    plain_odds,
)
from .test_wire_equivalence import encoded, plain_events, timestamps

DATA = SimulatedData()
EVENT_IDS = [event["id"] for sport in (11, 36) for event in DATA.events(sport)]

Read = tuple[str, list[tuple[str, int]], str | None]


def tolerant(body: bytes, select: Selection | None = None) -> Read:
    answer = parse_answer(json.loads(body))
    skips: Counter[str] = Counter()
    event = parse_event_detail(
        answer.data, fetched_at=answer.fetched_at, skips=skips, select=select
    )
    return repr(event), list(skips.items()), answer.fetched_at


def typed(body: bytes, select: Selection | None = None) -> Read | None:
    skips: Counter[str] = Counter()
    read = parse_event_get_ack(body, skips=skips, select=select)
    if read is None:
        assert not skips, "nothing may be counted before deciding"
        return None
    event, fetched_at = read
    return repr(event), list(skips.items()), fetched_at


def simulated_ack(event_id: int) -> bytes:
    return encoded([DATA.answer("event:get", {"eventId": event_id})])


@pytest.mark.parametrize("event_id", EVENT_IDS[::7])
def test_every_simulated_event_is_read_the_fast_way_alike(event_id: int) -> None:
    body = simulated_ack(event_id)
    fast = typed(body)
    assert fast is not None, "the simulator's answers are plain"
    assert fast == tolerant(body)
    assert f"event_id={event_id}" in fast[0]


def test_a_market_selection_keeps_the_same_markets() -> None:
    body = simulated_ack(EVENT_IDS[0])
    select = Selection.of(["full time result", "Both Teams To Score"])
    fast = typed(body, select)
    assert fast is not None
    assert fast == tolerant(body, Selection.of(["full time result", "Both Teams To Score"]))
    assert "Full Time Result" in fast[0]
    assert "Correct Score" not in fast[0]


@pytest.mark.parametrize(
    "answer",
    [
        {"timestamp": 1768921926610, "data": {"result": None}},  # no such event
        {"timestamp": 1768921926610, "data": {}},  # no result at all
        {"timestamp": 1768921926610, "error": {"message": "nope"}},
        {"timestamp": 1768921926610, "data": {"result": "not an event"}},
    ],
)
def test_what_is_not_an_event_is_left_to_the_tolerant_path(answer: dict[str, Any]) -> None:
    assert typed(encoded([answer])) is None


def test_an_odd_price_is_left_to_the_tolerant_path() -> None:
    answer = DATA.answer("event:get", {"eventId": EVENT_IDS[0]})
    answer = json.loads(json.dumps(answer))
    answer["data"]["result"]["markets"][0]["selections"][0]["odds"] = "2.5"
    body = encoded([answer])
    assert typed(body) is None
    assert "odds=2.5" in tolerant(body)[0]


def test_two_arguments_are_left_to_the_tolerant_path() -> None:
    answer = DATA.answer("event:get", {"eventId": EVENT_IDS[0]})
    assert typed(encoded([answer, answer])) is None


def test_without_msgspec_the_tolerant_path_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "wire", None)
    assert typed(simulated_ack(EVENT_IDS[0])) is None


# The detail shape: "selections" with a "name"; the odd field here and there.
texts = st.text(max_size=6)
statuses = st.sampled_from([ABSENT, None, "suspended", 3])
plain_selections = objects(
    id=plain_ids,
    name=texts,
    odds=plain_odds,
    fractional=texts,
    status=statuses,
    outcomeName=maybe_absent,
    fractionalOdds=maybe_absent,
)
selection_markets = objects(
    id=plain_ids,
    name=texts,
    selections=st.lists(plain_selections, min_size=1, max_size=3),
    status=statuses,
    outcomes=maybe_absent,
)
detail_events = objects(
    id=plain_ids | st.sampled_from(["7", None, -1, True]),
    sportId=st.sampled_from([11, 36, 17, ABSENT, "11", True]),
    competition=st.sampled_from([ABSENT, "Cup", {"id": 3, "name": "League"}, {"id": "x"}, 5]),
    homeTeam=st.sampled_from([ABSENT, "Home", {"id": 4, "name": "Home FC"}, None]),
    inPlay=st.sampled_from([ABSENT, True, False, 1]),
    markets=st.just(ABSENT) | st.lists(selection_markets, max_size=3),
    bettingStatus=odd_values,
)
envelopes = st.fixed_dictionaries(
    {"data": st.fixed_dictionaries({"result": detail_events | plain_events | odd_values})},
    optional={"timestamp": timestamps, "error": st.none() | odd_values},
)


@EQUIVALENCE
@given(answer=envelopes)
def test_typed_path_matches_tolerant_path(answer: dict[str, Any]) -> None:
    body = encoded([answer])
    fast = typed(body)
    event("typed" if fast is not None else "declined")
    if fast is not None:
        assert fast == tolerant(body)
