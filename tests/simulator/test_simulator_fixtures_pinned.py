"""Every answer about every event, pinned for a few seeds and sizes: building the fixtures
faster must give the same bytes.

:mod:`test_simulator_golden` pins a short script on the defaults; here the digest covers
the whole ``event:list`` and the ``event:get`` of every listed event (all their markets
and prices), at rest and over a few moving rounds, and the new events drawn after the
first list, for seeds and sizes where many teams, kick-off slots and prices occur. The
digests were computed before the building was made faster (2026-12-07) and must not
change unless the data is meant to.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools

import pytest

from kwiff_scrapy.simulator import SimulatedData
from kwiff_scrapy.simulator.markets import Outcome, _outcome
from kwiff_scrapy.simulator.moves import MovingData
from kwiff_scrapy.simulator.prices import LADDER
from kwiff_scrapy.simulator.views import detail_view, list_view

TODAY = datetime.date(2026, 12, 7)
FIXED_MS = 1_796_601_600_000
FOOTBALL, BASKETBALL = 11, 36


def fixed_clock() -> int:
    return FIXED_MS


def still_digest(seed: int, events: int) -> str:
    """The list views and detail views of every event of both sports, and 25 later ones."""
    data = SimulatedData(seed, football_events=events, clock=fixed_clock, today=TODAY)
    sha = hashlib.sha256()
    for sport in (FOOTBALL, BASKETBALL):
        for fixture in data.fixtures(sport):
            sha.update(repr((list_view(fixture), detail_view(fixture))).encode())
        for fixture in itertools.islice(data.later_fixtures(sport), 25):
            sha.update(repr(detail_view(fixture)).encode())
    return sha.hexdigest()


def moving_digest(seed: int, events: int, rounds: int) -> str:
    """The answers of a moving simulator: *rounds* of a list and every listed event's get."""
    data = MovingData(SimulatedData(seed, football_events=events, clock=fixed_clock, today=TODAY))
    sha = hashlib.sha256()
    for _ in range(rounds):
        for sport in (FOOTBALL, BASKETBALL):
            listed = data.answer("event:list", {"sportId": sport})
            sha.update(listed.encode())
            for event_id in sorted(data._states):
                sha.update(data.answer("event:get", {"eventId": event_id}).encode())
    return sha.hexdigest()


STILL: dict[tuple[int, int], str] = {
    (1, 40): "3b226a04b13a9e59aa8fb663d4ac95586eca64cf866c3fb9733c6a35e94f8cce",
    (7, 250): "702caaaa953cf8fdbd8e15a51d8a2e8969c95c8bebae64fea5f5192cb6b02c48",
    (2026, 600): "7e3b1cdb963c4804b45f28813c1544fcf7387599590ce408d7e31195ab94f494",
}
MOVING: dict[tuple[int, int, int], str] = {
    (3, 60, 4): "ba2cadc289c5f469fc7fe055e7e333b48aac12a809a70bdba1d707712cf1aae3",
    (2026, 200, 2): "eea2aa53b9a2f213f2a20089a91118c9ff674dc7d855f7344d7a16a443ccaf11",
}


@pytest.mark.parametrize(("seed", "events"), STILL)
def test_every_event_at_rest_is_the_pinned_data(seed: int, events: int) -> None:
    assert still_digest(seed, events) == STILL[seed, events]


@pytest.mark.parametrize(("seed", "events", "rounds"), MOVING)
def test_every_answer_of_a_moving_simulator_is_the_pinned_bytes(
    seed: int, events: int, rounds: int
) -> None:
    assert moving_digest(seed, events, rounds) == MOVING[seed, events, rounds]


def test_outcomes_made_the_fast_way_are_the_dataclasss_own() -> None:
    fast, plain = _outcome(7, "Draw", LADDER[3]), Outcome(7, "Draw", LADDER[3])
    assert (fast, hash(fast), repr(fast)) == (plain, hash(plain), repr(plain))
    with pytest.raises(AttributeError):
        fast.id = 8  # type: ignore[misc]
