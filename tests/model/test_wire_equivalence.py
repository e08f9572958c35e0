"""``parse_event_list_ack`` (msgspec, straight from the ACK's bytes) against the tolerant path.

The reference is what the spiders did before: decode the ACK with ``json.loads``, read
the envelope with ``parse_answer``, then ``parse_events``. Wherever the typed path
returns events they must be the same (compared by ``repr``, so ``6`` and ``6.0`` differ)
with the same skip counts, first counted in the same order; where it returns None it
must have counted nothing. It must also return events for every answer the service
sends (the simulator's), or it would be no faster.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from kwiff_scrapy.model import parsing
from kwiff_scrapy.model.answer import parse_answer
from kwiff_scrapy.model.parsing import parse_event_list_ack, parse_events
from kwiff_scrapy.simulator import SimulatedData

from . import test_parsing
from .test_parsing_equivalence import (
    ABSENT,
    EQUIVALENCE,
    event_lists,
    maybe_absent,
    objects,
    odd_values,
    plain_ids,
    plain_odds,
)

FETCHED = "2026-01-20T15:12:06.610Z"


def tolerant(body: bytes) -> tuple[str, list[tuple[str, int]], str | None]:
    answer = parse_answer(json.loads(body))
    skips: Counter[str] = Counter()
    events = parse_events(answer.data, fetched_at=answer.fetched_at, skips=skips)
    return repr(events), list(skips.items()), answer.fetched_at


def typed(body: bytes) -> tuple[str, list[tuple[str, int]], str | None] | None:
    skips: Counter[str] = Counter()
    read = parse_event_list_ack(body, skips=skips)
    if read is None:
        assert not skips, "nothing may be counted before deciding"
        return None
    events, fetched_at = read
    return repr(events), list(skips.items()), fetched_at


def assert_same_or_declined(body: bytes) -> bool:
    """True if the typed path took *body*; its result is then the tolerant one."""
    fast = typed(body)
    if fast is not None:
        assert fast == tolerant(body)
    return fast is not None


# Plain answers, as the service sends them, with the odd field here and there: the
# strategies of test_parsing_equivalence are odd so often that few answers are plain.
texts = st.text(max_size=6)
statuses = st.sampled_from([ABSENT, None, "suspended"])
plain_outcomes = objects(
    id=plain_ids,
    outcomeName=texts,
    odds=plain_odds,
    fractional=texts,
    status=statuses,
    name=maybe_absent,
)
plain_markets = objects(
    id=plain_ids,
    name=texts,
    outcomes=st.lists(plain_outcomes, min_size=1, max_size=3),
    status=statuses,
    selections=maybe_absent,
)
market_lists = st.lists(plain_markets, max_size=3)
plain_events = objects(
    id=plain_ids | st.sampled_from(["7", None, -1, True]),
    sportId=st.sampled_from([11, 36, 17, ABSENT, "11", True]),
    sportName=maybe_absent | texts,
    competition=st.sampled_from([ABSENT, "Cup", {"id": 3, "name": "League"}, {"id": "x"}, 5]),
    homeTeam=st.sampled_from([ABSENT, "Home", {"id": 4, "name": "Home FC"}, None]),
    inPlay=st.sampled_from([ABSENT, True, False, 1]),
    markets=st.just(ABSENT) | market_lists,
    details=st.just(ABSENT) | objects(offers=st.just(ABSENT) | market_lists),
    bettingStatus=odd_values,
)
plain_event_lists = objects(events=st.lists(plain_events, max_size=4))

timestamps = st.one_of(
    st.integers(min_value=0, max_value=2**53 - 1),
    st.sampled_from([None, -1, "1768921926610", 1.5, True]),
)
envelopes = st.fixed_dictionaries(
    {"data": plain_event_lists | event_lists | test_parsing.event_lists | test_parsing.json_values},
    optional={"timestamp": timestamps, "error": st.none() | odd_values},
)
ack_arrays = st.one_of(
    st.tuples(envelopes).map(list),
    st.lists(envelopes | odd_values, max_size=3),
)


def encoded(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


@EQUIVALENCE
@given(args=ack_arrays)
def test_typed_path_matches_tolerant_path(args: list[Any]) -> None:
    assert_same_or_declined(encoded(args))


def test_generated_answers_reach_the_typed_path() -> None:
    # Guards the strategy: the typed path takes generated answers with events in them.
    def taken_with_markets(args: list[Any]) -> bool:
        body = encoded(args)
        return bool(assert_same_or_declined(body) and b'"outcomes"' in body)

    find(ack_arrays, taken_with_markets, settings=settings(EQUIVALENCE, phases=[Phase.generate]))


def simulated_ack() -> dict[str, Any]:
    answer = SimulatedData().answer("event:list", {"listId": "default", "sportId": 11})
    return copy.deepcopy(answer)  # the simulator shares its data between answers


def test_the_services_answer_takes_the_typed_path() -> None:
    body = encoded([simulated_ack()])
    fast = typed(body)
    assert fast is not None
    assert fast == tolerant(body)
    assert fast[1] == []
    assert fast[0].count("KwiffEvent(") == 111


def first_outcome_replaced(key: str, value: Any) -> bytes:
    answer = simulated_ack()
    outcome = answer["data"]["events"][3]["details"]["offers"][1]["outcomes"][0]
    outcome[key] = value
    return encoded([answer])


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("odds", "2.5"),
        ("odds", None),
        ("odds", -1),
        ("odds", True),
        ("odds", 10**30),
        ("id", "7"),
        ("id", 2**53),
        ("id", 7.0),
        ("outcomeName", None),
        ("fractional", 5),
        ("status", 1),
    ],
)
def test_one_odd_outcome_sends_the_whole_answer_down_the_tolerant_path(
    key: str, value: Any
) -> None:
    body = first_outcome_replaced(key, value)
    assert typed(body) is None
    tolerant(body)  # and that path reads it, as before


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"{}",
        b'[{"data": {"events": []}}, 2]',
        b'[{"data": {"events": []}, "error": "no"}]',
        b'[{"data": {"events": []}, "error": {}}]',
        b'[{"data": {}}]',
        b'[{"data": {"events": [7]}}]',
        b'[{"data": {"events": [{"id": 1, "markets": {}}]}}]',
        b'[{"data": {"events": [{"id": 1, "details": []}]}}]',
        b'[{"data": {"events": [{"id": 1, "details": {"offers": [{"id": 1}]}}]}}]',
        b'[{"data": {"events": [{"id": NaN}]}}]',
        b'[{"data": {"events": [{"id": "\\ud800"}]}}]',
        b'[{"data": {"events": []}}',
    ],
)
def test_answers_the_tolerant_path_must_read(body: bytes) -> None:
    assert typed(body) is None


@pytest.mark.parametrize(
    "body",
    [
        # Duplicate keys: the last one counts, in both decoders.
        b'[{"data": {"events": [{"id": 1, "id": 2, "sportId": "x", "sportId": 11}]}}]',
        b'[{"timestamp": 1, "timestamp": 1768921926610, "data": {"events": []}}]',
        # Event-level oddities are the tolerant reader's, counted the same way.
        b'[{"data": {"events": [{"id": "12", "sportId": true, "inPlay": 1, "homeTeam": 5}]}}]',
        b'[{"data": {"events": [{"id": -1}, {"id": 3, "competition": "Cup"}]}}]',
        b'[{"data": {"events": [{"id": 1, "markets": []}]}}]',
        # Markets win over offers when not empty; empty markets fall back to the offers.
        (
            b'[{"data": {"events": [{"id": 1, "markets": [], "details": {"offers": [{"id": 5, '
            b'"name": "M", "outcomes": [{"id": 9, "outcomeName": "A", "odds": 2.5, '
            b'"fractional": "3/2", "status": "suspended"}]}]}}]}}]'
        ),
        '[{"data": {"events": [{"id": 1, "homeTeam": {"id": 4, "name": "Atl\u00e9tico"}}]}}]'.encode(),  # noqa: E501
    ],
)
def test_edge_answers_the_typed_path_takes(body: bytes) -> None:
    assert assert_same_or_declined(body)


def test_a_duplicate_key_of_an_outcome_may_be_declined_but_never_read_otherwise() -> None:
    # msgspec checks every occurrence of a key against the type; json.loads keeps the last.
    body = (
        b'[{"data": {"events": [{"id": 1, "details": {"offers": [{"id": 5, "name": "M", '
        b'"outcomes": [{"id": 9, "outcomeName": "A", "odds": "x", "odds": 2, '
        b'"fractional": "1/1"}]}]}}]}}]'
    )
    assert_same_or_declined(body)
    assert "odds=2.0" in tolerant(body)[0]


def test_without_msgspec_the_tolerant_path_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "wire", None)
    assert typed(encoded([simulated_ack()])) is None


def test_odds_are_floats_as_the_tolerant_path_makes_them() -> None:
    body = first_outcome_replaced("odds", 4)
    read = parse_event_list_ack(body, skips=Counter())
    assert read is not None
    odds = read[0][3].markets[1].outcomes[0].odds
    assert type(odds) is float
    assert odds == 4.0
