"""The fast path of ``parsing`` (plain markets and outcomes) against the tolerant path.

The reference is the same code with the fast path switched off (``_plain_market`` and
``_plain_outcome`` always saying "not plain"), so every object goes through the
tolerant ``_FieldReader``. Both must give the same items (compared by ``repr``, so
``6`` and ``6.0`` or ``1`` and ``True`` differ) and the same skip counts, first
counted in the same order.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections import Counter
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from kwiff_scrapy.model import parsing
from kwiff_scrapy.model.parsing import MAX_DECIMAL_ODDS, parse_event_detail, parse_events
from kwiff_scrapy.simulator import SimulatedData

from . import test_parsing

EQUIVALENCE = settings(max_examples=400, deadline=None, database=None)
MAX_ID = 2**53 - 1
ABSENT = object()  # a key left out of the generated object


class Text(str):
    """A str subclass: never from json.loads, so the fast path must leave it alone."""


class Integer(int):
    """An int subclass, likewise."""


@contextlib.contextmanager
def tolerant_only() -> Iterator[None]:
    with (
        mock.patch.object(parsing, "_plain_market", return_value=None),
        mock.patch.object(parsing, "_plain_outcome", return_value=None),
    ):
        yield


def parse_both(parse: Any, data: Any) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
    def run() -> tuple[str, list[Any]]:
        skips: Counter[str] = Counter()
        result = parse(data, fetched_at="2026-01-20T15:12:06.610Z", skips=skips)
        return repr(result), list(skips.items())

    fast = run()
    with tolerant_only():
        tolerant = run()
    return fast, tolerant


# Values the tolerant path treats differently from a plain one: null, converted (digit
# strings), counted (bools, negatives, too big, NaN, wrong types) and subclasses, which
# it accepts as they are. Near misses of each kind of field, then anything at all.
NEAR_IDS = (None, True, False, -1, MAX_ID + 1, 10**400, 7.0, "7", " 7", "x", Integer(7), Text("7"))
NEAR_ODDS = (
    *(None, True, False, -1, -0.5, MAX_DECIMAL_ODDS + 1, MAX_DECIMAL_ODDS + 0.5, 10**400),
    *(math.nan, math.inf, -math.inf, "6", " 2.50 ", "1e3", "x", Integer(6), Text("6")),
)
NEAR_TEXTS = (None, 5, 5.0, True, [], {}, Text("text"))
near_ids = st.sampled_from(NEAR_IDS)
near_odds = st.sampled_from(NEAR_ODDS)
near_texts = st.sampled_from(NEAR_TEXTS)
odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


def usually(plain: SearchStrategy[Any], other: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """*plain* about four times in five, *other* otherwise.

    (Not ``st.one_of(plain, plain, ...)``: ``one_of`` flattens and dedups its branches.)
    """
    return st.integers(min_value=0, max_value=4).flatmap(lambda n: other if n == 4 else plain)


def mostly(plain: SearchStrategy[Any], near: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """A field: *plain* (the fast path) usually, else absent, a near miss or anything."""
    return usually(plain, st.one_of(st.just(ABSENT), near, near, odd_values))


def objects(**fields: SearchStrategy[Any]) -> SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(fields).map(
        lambda raw: {key: value for key, value in raw.items() if value is not ABSENT}
    )


def lists_of(element: SearchStrategy[Any]) -> SearchStrategy[list[Any]]:
    """Lists mostly of *element*, sometimes with a non-object among them."""
    return st.lists(usually(element, odd_values), max_size=4)


plain_ids = st.integers(min_value=0, max_value=MAX_ID) | st.sampled_from([0, MAX_ID])
plain_odds = (
    st.floats(min_value=0, max_value=MAX_DECIMAL_ODDS)
    | st.integers(min_value=0, max_value=MAX_DECIMAL_ODDS)
    | st.sampled_from([0, 0.0, -0.0, MAX_DECIMAL_ODDS, float(MAX_DECIMAL_ODDS)])
)
maybe_absent = usually(st.just(ABSENT), odd_values)

outcomes = objects(
    id=mostly(plain_ids, near_ids),
    outcomeName=mostly(st.text(max_size=6), near_texts),
    name=maybe_absent | st.text(max_size=6),
    odds=mostly(plain_odds, near_odds),
    fractional=mostly(st.text(max_size=6), near_texts),
    fractionalOdds=maybe_absent | st.text(max_size=6),
)
markets = objects(
    id=mostly(plain_ids, near_ids),
    name=mostly(st.text(max_size=6), near_texts),
    outcomes=mostly(lists_of(outcomes), st.just([])),
    selections=maybe_absent | lists_of(outcomes),
)
events = objects(
    id=mostly(plain_ids, near_ids),
    sportId=mostly(st.sampled_from([11, 36, 17]), near_ids),
    sportName=maybe_absent | st.text(max_size=6),
    markets=maybe_absent | lists_of(markets),
    details=mostly(objects(offers=mostly(lists_of(markets), st.just([]))), st.just({})),
)
event_lists = objects(events=lists_of(events))


@EQUIVALENCE
@given(data=event_lists | test_parsing.event_lists | test_parsing.json_values)
def test_parse_events_fast_path_matches_tolerant_path(data: Any) -> None:
    fast, tolerant = parse_both(parse_events, data)

    assert fast == tolerant


@EQUIVALENCE
@given(data=objects(result=events) | test_parsing.event_details)
def test_parse_event_detail_fast_path_matches_tolerant_path(data: Any) -> None:
    fast, tolerant = parse_both(parse_event_detail, data)

    assert fast == tolerant


PLAIN_OUTCOME = {"id": 9001, "outcomeName": "Draw", "odds": 4, "fractional": "3/1"}
PLAIN_MARKET = {"id": 501, "name": "Full Time Result", "outcomes": [PLAIN_OUTCOME]}
NEAR = {
    "id": [*NEAR_IDS, 0, MAX_ID],
    "odds": [*NEAR_ODDS, 0, -0.0, 1.5, MAX_DECIMAL_ODDS, float(MAX_DECIMAL_ODDS)],
    "outcomeName": NEAR_TEXTS,
    "fractional": NEAR_TEXTS,
    "name": NEAR_TEXTS,
    "outcomes": [[], {}, [7], None],
}
SINGLE_CHANGES = [
    *(
        ("outcome", key, value)
        for key in ("id", "outcomeName", "odds", "fractional")
        for value in [ABSENT, *NEAR[key]]
    ),
    *(
        ("market", key, value)
        for key in ("id", "name", "outcomes")
        for value in [ABSENT, *NEAR[key]]
    ),
]


def replaced(raw: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    changed = {**raw, key: value}
    if value is ABSENT:
        del changed[key]
    return changed


@pytest.mark.parametrize(("where", "key", "value"), SINGLE_CHANGES)
def test_each_single_odd_field_matches_the_tolerant_path(where: str, key: str, value: Any) -> None:
    # One field of an otherwise plain object changed, with fallbacks to pick up or not.
    extras = {"name": "Draw (name)", "fractionalOdds": "3/1 (fractionalOdds)"}
    if where == "outcome":
        outcome = replaced({**PLAIN_OUTCOME, **extras}, key, value)
        market = {**PLAIN_MARKET, "outcomes": [outcome, PLAIN_OUTCOME]}
    else:
        market = replaced({**PLAIN_MARKET, "selections": [PLAIN_OUTCOME]}, key, value)
    for markets in itertools.permutations([market, PLAIN_MARKET]):
        data = {"events": [{"id": 1, "details": {"offers": list(markets)}}]}
        fast, tolerant = parse_both(parse_events, data)
        assert fast == tolerant


def test_simulated_event_list_matches_and_takes_only_the_fast_path() -> None:
    data = SimulatedData().answer("event:list", {"listId": "default", "sportId": 11})["data"]
    fast, tolerant = parse_both(parse_events, data)
    assert fast == tolerant
    assert fast[1] == []

    # Every market and outcome the simulator sends is plain: none reaches the tolerant path.
    def not_expected(fields: Any) -> Any:
        raise AssertionError(f"tolerant path taken for {fields._raw!r}")

    with (
        mock.patch.object(parsing, "_parse_market", not_expected),
        mock.patch.object(parsing, "_parse_outcome", not_expected),
    ):
        assert len(parse_events(data)) == 111


def count_paths(data: Any) -> Counter[str]:
    """How many markets and outcomes of *data* each path built."""
    taken: Counter[str] = Counter()

    def counting(name: str, function: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            result = function(*args)
            if name.startswith("_plain"):
                taken[name if result is not None else f"{name} declined"] += 1
            else:
                taken[name] += 1
            return result

        return wrapper

    names = ("_plain_market", "_plain_outcome", "_parse_market", "_parse_outcome")
    with contextlib.ExitStack() as stack:
        for name in names:
            patch = mock.patch.object(parsing, name, counting(name, getattr(parsing, name)))
            stack.enter_context(patch)
        parse_events(data)
    return taken


def test_generated_event_lists_reach_both_paths() -> None:
    # Guards the strategies: one list with plain and tolerant markets and outcomes alike.
    def mixed(data: dict[str, Any]) -> bool:
        taken = count_paths(data)
        return all(taken[name] for name in ("_plain_market", "_plain_outcome")) and all(
            taken[name] for name in ("_parse_market", "_parse_outcome")
        )

    find(event_lists, mixed, settings=settings(EQUIVALENCE, phases=[Phase.generate]))
