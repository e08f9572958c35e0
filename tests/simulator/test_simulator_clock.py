"""The moving data on a clock (``speed`` set): one market for every simulator, over hours.

The clock is injected (:class:`ManualClock`), so that a test says which minute it is:
nothing here waits for time to pass.
"""

from __future__ import annotations

import collections
import datetime
import json
from typing import Any

import pytest

from kwiff_scrapy import defaults
from kwiff_scrapy.connection.connector import _start_simulator
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData, SimulatorConfig
from kwiff_scrapy.simulator.moves import CLOCKED, MAX_DRIFT, STEP_SECONDS, MovingData
from kwiff_scrapy.simulator.prices import LADDER

from .test_simulator_moves import TODAY, events_of, list_payload

MINUTE_MS = STEP_SECONDS * 1000
#: Midnight UTC of TODAY: step 0 of the clock.
ORIGIN_MS = int(datetime.datetime.combine(TODAY, datetime.time(), datetime.UTC).timestamp() * 1000)
LADDER_INDEX = {price.odds: index for index, price in enumerate(LADDER)}


class ManualClock:
    """Milliseconds since the epoch, set by the test."""

    def __init__(self, ms: int = ORIGIN_MS) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms

    def at_minute(self, minute: int, *, speed: float = 1.0) -> None:
        """Set the wall clock to when the simulator's clock reaches *minute* (a step)."""
        self.ms = ORIGIN_MS + round(minute * MINUTE_MS / speed)


def clocked(clock: ManualClock, *, speed: float = 1.0, **options: Any) -> KwiffSimulator:
    """A simulator on a clock (not started: :meth:`answer_json` needs no network)."""
    options = {"seed": 2026, "football_events": 20, **options}
    config = SimulatorConfig.from_options(
        {"moving": True, "today": TODAY, "speed": speed, **options}
    )
    data = SimulatedData(
        options["seed"], football_events=options["football_events"], clock=clock, today=TODAY
    )
    return KwiffSimulator(config, data=data)


def list_json(simulator: KwiffSimulator) -> str:
    return simulator.answer_json("event:list", list_payload())


def start_ms(event: dict[str, Any]) -> int:
    start = datetime.datetime.fromisoformat(event["startDate"].replace("Z", "+00:00"))
    return int(start.timestamp() * 1000)


def test_the_clock_counts_minutes_from_midnight_of_the_day_at_its_speed() -> None:
    clock = ManualClock(ORIGIN_MS - 5 * MINUTE_MS)
    moving = MovingData(SimulatedData(clock=clock, today=TODAY), speed=60.0)
    assert moving.origin_ms == ORIGIN_MS
    assert moving.clock_step() == 0  # before the day: the start
    clock.ms = ORIGIN_MS + 1000  # one second of real time is a minute at speed 60
    assert moving.clock_step() == 1
    clock.ms = ORIGIN_MS + 10 * 60_000 - 1
    assert moving.clock_step() == 599
    assert moving.clock_ms() == ORIGIN_MS + 600 * MINUTE_MS - 60
    assert moving.data.clock() == moving.clock_ms()  # what answers are stamped with
    assert moving.step_time(90) == datetime.datetime(2026, 1, 19, 1, 30, tzinfo=datetime.UTC)


def test_simulators_with_the_same_seed_day_and_speed_show_the_same_market() -> None:
    first_clock, second_clock = ManualClock(), ManualClock()
    first, second = clocked(first_clock), clocked(second_clock)
    # The first is polled every minute, the second now and then and by event:get too:
    # what they show at the same moment is the same, bytes and all.
    compared = 0
    for minute in range(0, 6 * 60, 1):
        first_clock.at_minute(minute)
        shown = list_json(first)
        if minute % 37 == 0:
            second_clock.at_minute(minute)
            (event, *_) = events_of(json.loads(shown))
            second.answer_json("event:get", {"eventId": event["id"]})
            assert list_json(second) == shown, f"minute {minute}"
            compared += 1
    late_clock = ManualClock()
    late_clock.at_minute(minute)
    assert list_json(clocked(late_clock)) == shown  # started later, same market
    assert compared == 10
    assert first.change_log()  # the market did move meanwhile
    other_seed = clocked(late_clock, seed=7)
    assert list_json(other_seed) != shown


def test_the_speed_scales_the_clock_and_the_market_with_it() -> None:
    real_time, fast = ManualClock(), ManualClock()
    real_time.at_minute(300)
    fast.at_minute(300, speed=60.0)  # five hours of market in five minutes
    assert fast.ms == ORIGIN_MS + 5 * 60_000
    shown = list_json(clocked(fast, speed=60.0))
    assert shown == list_json(clocked(real_time))  # stamped with the simulated time too
    assert json.loads(shown)["timestamp"] == ORIGIN_MS + 300 * MINUTE_MS


def test_an_event_goes_in_play_at_its_kick_off_and_ends_some_two_hours_later() -> None:
    clock = ManualClock()
    simulator = clocked(clock)
    (first, *_) = events_of(json.loads(list_json(simulator)))
    kick_off = start_ms(first)
    assert kick_off > ORIGIN_MS
    clock.ms = kick_off - MINUTE_MS
    (before,) = [e for e in events_of(json.loads(list_json(simulator))) if e["id"] == first["id"]]
    assert "inPlay" not in before
    clock.ms = kick_off
    (started,) = [e for e in events_of(json.loads(list_json(simulator))) if e["id"] == first["id"]]
    assert started["inPlay"] is True
    minutes = 0
    while True:
        minutes += 1
        assert minutes <= 200, "the event never ended"
        clock.ms = kick_off + minutes * MINUTE_MS
        answer = json.loads(simulator.answer_json("event:get", {"eventId": first["id"]}))
        if answer["data"]["result"] is None:
            break
        assert answer["data"]["result"]["inPlay"] is True
    assert CLOCKED.in_play_steps[0] <= minutes <= CLOCKED.in_play_steps[1]
    listed = [e["id"] for e in events_of(json.loads(list_json(simulator)))]
    assert first["id"] not in listed


def test_prices_drift_in_small_trending_moves_and_suspensions_are_brief_and_rare() -> None:
    clock = ManualClock()
    simulator = clocked(clock)
    for minute in range(12 * 60):
        clock.at_minute(minute)
        list_json(simulator)
    log = simulator.change_log()
    kinds = collections.Counter(change["kind"] for change in log)
    moves = [c for c in log if c["kind"] == "moved"]
    assert len(moves) > 1000
    ticks = [LADDER_INDEX[c["odds_after"]] - LADDER_INDEX[c["odds_before"]] for c in moves]
    assert all(1 <= abs(tick) <= 3 for tick in ticks)
    assert sum(abs(tick) == 1 for tick in ticks) >= 0.98 * len(ticks)
    # An outcome's moves run in trends: a move that undoes the one before (the A->B->A of
    # a market that flickers) is the exception, not one move in two as in a random walk.
    last: dict[int, int] = {}
    pairs = reversals = 0
    opening: dict[int, int] = {}
    for change, tick in zip(moves, ticks, strict=True):
        outcome = change["outcome_id"]
        opening.setdefault(outcome, LADDER_INDEX[change["odds_before"]])
        assert abs(LADDER_INDEX[change["odds_after"]] - opening[outcome]) <= MAX_DRIFT + 3
        if outcome in last:
            pairs += 1
            reversals += last[outcome] * tick < 0
        last[outcome] = tick
    assert pairs > 500
    assert reversals < 0.1 * pairs
    # Suspensions: a few minutes each, far fewer than moves.
    assert kinds["suspended"] < kinds["moved"] / 20
    suspended_at: dict[tuple[int, int | None], int] = {}
    for change in log:
        key = (change["market_id"], change["outcome_id"])
        if change["kind"] == "suspended":
            suspended_at[key] = change["step"]
        elif change["kind"] == "resumed":
            assert change["step"] - suspended_at.pop(key) <= CLOCKED.suspension_steps[1]


def test_an_event_is_removed_only_after_it_has_played() -> None:
    clock = ManualClock()
    simulator = clocked(clock)
    for minute in range(10 * 60):
        clock.at_minute(minute)
        list_json(simulator)
    in_play_from: dict[int, int] = {}
    removed = 0
    for change in simulator.change_log():
        if change["kind"] == "event_status" and change["in_play_after"]:
            in_play_from.setdefault(change["event_id"], change["step"])
        elif change["kind"] == "event_removed":
            removed += 1
            played = change["step"] - in_play_from[change["event_id"]]
            assert played >= CLOCKED.in_play_steps[0], change
    assert removed >= 10


@pytest.mark.parametrize("speed", [0, -1.0, True, float("inf"), "fast"])
def test_a_speed_must_be_a_positive_number(speed: Any) -> None:
    with pytest.raises(ValueError, match="speed must be a positive number"):
        SimulatorConfig(speed=speed)


def test_a_simulator_built_in_a_test_moves_one_step_per_serve_unless_given_a_speed() -> None:
    assert SimulatorConfig().speed is None
    with pytest.raises(ValueError, match="one step per serve"):
        MovingData(SimulatedData(today=TODAY)).clock_step()


async def test_the_in_process_endpoint_runs_on_a_clock_faster_than_real_time() -> None:
    simulator = await _start_simulator({})
    try:
        assert simulator.config.speed == defaults.SIMULATOR_IN_PROCESS_SPEED
        assert simulator.moving is not None
        assert simulator.moving.speed == defaults.SIMULATOR_IN_PROCESS_SPEED
    finally:
        await simulator.close()
    per_serve = await _start_simulator({"speed": None})
    try:
        assert per_serve.config.speed is None
    finally:
        await per_serve.close()
