"""The simulator's moving data: every change it reports is what it served, and nothing else.

Most tests ask :meth:`KwiffSimulator.answer_json` directly (what a connection sends,
without the network); a few go over the wire: the first answer byte for byte, the answer
faults, and the command line's ``--change-log`` file.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import datetime
import functools
import itertools
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kwiff_scrapy.model.changes import EventSnapshot, diff_event
from kwiff_scrapy.model.items import EventChange, OddsChange
from kwiff_scrapy.model.parsing import parse_events
from kwiff_scrapy.protocol import SocketPacket, SocketPacketType, message_frame
from kwiff_scrapy.protocol.socketio import compact_json
from kwiff_scrapy.simulator import Faults, KwiffSimulator, SimulatedData, SimulatorConfig
from kwiff_scrapy.simulator.__main__ import build_parser, config_from_args
from kwiff_scrapy.simulator.fixtures import BASE_DATE, Fixture, base_date_for
from kwiff_scrapy.simulator.moves import (
    CHANGE_FIELDS,
    CHANGE_KINDS,
    NEW_EVENT_EVERY,
    SERVE_FIELDS,
)
from kwiff_scrapy.simulator.views import detail_view, list_view

from ..support.waiting import guarded
from .test_simulator import (
    FIXED_MS,
    HANG_GUARD,
    REPO_ROOT,
    ask,
    browser_session,
    command_frame,
    decode_ack,
    fixed_clock,
    frames_before_pong,
    handled,
    receive,
    session,
)

#: A fixed day, so that the dates (and so the bytes) do not depend on when tests run.
TODAY = datetime.date(2026, 1, 19)
FOOTBALL, BASKETBALL = 11, 36
UNKNOWN_ID = 1


def list_payload(sport: int = FOOTBALL, country: str = "GB") -> dict[str, Any]:
    return {"listId": "default", "sportId": sport, "country": country}


def still_data(**options: Any) -> SimulatedData:
    """The data at rest, as a moving simulator built with the same *options* starts."""
    return SimulatedData(
        options.get("seed", 2026),
        football_events=options.get("football_events", 111),
        clock=fixed_clock,
        today=TODAY,
    )


def moving(**options: Any) -> KwiffSimulator:
    """A moving simulator (not started: :meth:`answer_json` needs no network)."""
    config = SimulatorConfig.from_options({"moving": True, "today": TODAY, **options})
    return KwiffSimulator(config, data=still_data(**options))


def list_answer(simulator: KwiffSimulator, sport: int = FOOTBALL) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(simulator.answer_json("event:list", list_payload(sport)))
    return answer


def get_answer(simulator: KwiffSimulator, event_id: int) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(simulator.answer_json("event:get", {"eventId": event_id}))
    return answer


def events_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = answer["data"]["events"]
    return events


def markets_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    markets: list[dict[str, Any]] = (
        event["markets"] if "markets" in event else event["details"]["offers"]
    )
    return markets


def outcomes_of(market: dict[str, Any]) -> list[dict[str, Any]]:
    outcomes: list[dict[str, Any]] = market.get("outcomes") or market["selections"]
    return outcomes


def outcome_name(outcome: dict[str, Any]) -> str:
    name: str = outcome.get("outcomeName") or outcome["name"]
    return name


def fixtures_of(data: SimulatedData, later: int = 60) -> dict[int, Fixture]:
    """Every fixture the data starts with, and the first *later* new ones of each sport."""
    return _fixtures(data.seed, data.football_events, data.today, later)


@functools.lru_cache(maxsize=16)
def _fixtures(seed: int, football: int, today: datetime.date, later: int) -> dict[int, Fixture]:
    data = SimulatedData(seed, football_events=football, today=today)
    found = {}
    for sport in data.sports():
        for fixture in itertools.chain(
            data.fixtures(sport), itertools.islice(data.later_fixtures(sport), later)
        ):
            found[fixture.id] = fixture
    return found


# ------------------------------------------------------------------------ replaying the log


def apply_change(view: dict[str, Any], entry: dict[str, Any]) -> None:
    """Apply one change-log entry to an event's view (list or detail), checking its
    "before" values against the view: the log must say what the answers showed."""
    kind = entry["kind"]
    if kind == "event_status":
        assert view["bettingStatus"] == entry["status_before"]
        assert view.get("inPlay", False) == entry["in_play_before"]
        view["bettingStatus"] = entry["status_after"]
        view.pop("inPlay", None)
        if entry["in_play_after"]:
            view["inPlay"] = True
        return
    if kind in ("event_new", "event_removed"):
        return
    markets = {market["id"]: market for market in markets_of(view)}
    if entry["market_id"] not in markets:  # an unlisted market, in a list view
        assert entry["listed"] is False
        assert "details" in view
        return
    market = markets[entry["market_id"]]
    assert market["name"] == entry["market_name"]
    target = market
    if entry["outcome_id"] is not None:
        (target,) = [o for o in outcomes_of(market) if o["id"] == entry["outcome_id"]]
        assert outcome_name(target) == entry["outcome_name"]
    if kind == "moved":
        assert (target["odds"], target["fractional"]) == (
            entry["odds_before"],
            entry["fractional_before"],
        )
        assert entry["status_before"] is entry["status_after"] is None
        target["odds"], target["fractional"] = entry["odds_after"], entry["fractional_after"]
        return
    assert kind in ("suspended", "resumed"), kind
    assert target.get("status") == entry["status_before"]
    if entry["status_after"] is None:
        del target["status"]
    else:
        target["status"] = entry["status_after"]


class Replay:
    """Every event as the change log alone says it is: the data at rest moved by the
    log, one step at a time, in the list and the detail view."""

    def __init__(self, data: SimulatedData, log: Iterable[dict[str, Any]]) -> None:
        self.fixtures = fixtures_of(data)
        self.changes: dict[tuple[int, int], list[dict[str, Any]]] = collections.defaultdict(list)
        for entry in log:
            self.changes[entry["event_id"], entry["step"]].append(entry)
        self.models: dict[tuple[int, bool], tuple[int, dict[str, Any]]] = {}

    def view(self, event_id: int, step: int, *, detail: bool) -> dict[str, Any]:
        """The event at *step*: a step never goes back, each change is applied once."""
        fixture = self.fixtures[event_id]
        at, view = self.models.get(
            (event_id, detail),
            (0, copy.deepcopy(detail_view(fixture) if detail else list_view(fixture))),
        )
        assert at <= step
        for moved_to in range(at + 1, step + 1):
            for entry in self.changes[event_id, moved_to]:
                apply_change(view, entry)
        self.models[event_id, detail] = (step, view)
        return view


def check_served(simulator: KwiffSimulator, answers: dict[int, tuple[str, dict[str, Any]]]) -> None:
    """Each answer (by its number in the serve log) is exactly the data at rest moved by
    the change log up to the steps the serve log says it showed."""
    replay = Replay(simulator.data, simulator.change_log())
    serves: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for serve in simulator.serve_log():
        serves[serve["answer"]].append(serve)
    assert set(serves) <= set(answers)  # a list of no events (sport 17) serves none
    for number, (command, answer) in sorted(answers.items()):
        shown = [s for s in serves[number] if s["step"] is not None]
        assert {s["command"] for s in serves[number]} <= {command}
        if command == "event:list":
            expected = [replay.view(s["event_id"], s["step"], detail=False) for s in shown]
            assert events_of(answer) == expected
        else:
            (serve,) = serves[number]
            result = answer["data"]["result"]
            if serve["step"] is None:
                assert result is None
            else:
                assert result == replay.view(serve["event_id"], serve["step"], detail=True)


def run(simulator: KwiffSimulator, commands: Iterable[tuple[str, int]]) -> dict[int, Any]:
    """Send ``("list", sport)`` / ``("get", event id)`` commands; their answers by number."""
    answers = {}
    for number, (command, argument) in enumerate(commands, start=1):
        if command == "list":
            answers[number] = ("event:list", list_answer(simulator, argument))
        else:
            answers[number] = ("event:get", get_answer(simulator, argument))
    return answers


# ------------------------------------------------------------------------ the first answer


def test_the_first_list_and_get_are_the_data_at_rest_byte_for_byte() -> None:
    simulator = moving()
    data = still_data()
    for sport in (FOOTBALL, BASKETBALL):
        assert simulator.answer_json("event:list", list_payload(sport)) == compact_json(
            data.answer("event:list", list_payload(sport))
        )
    fresh = moving()
    for event in data.events(FOOTBALL)[:5]:
        payload = {"eventId": event["id"]}
        assert fresh.answer_json("event:get", payload) == compact_json(
            data.answer("event:get", payload)
        )
    assert simulator.change_log() == []


async def test_the_first_list_on_the_wire_is_the_frame_of_today() -> None:
    config = SimulatorConfig(moving=True, today=TODAY)
    async with KwiffSimulator(config, data=still_data()) as simulator, session(simulator) as ws:
        await ws.send(command_frame(7, "event:list", list_payload()))
        frame = await receive(ws)
    answer = still_data().answer("event:list", list_payload())
    assert frame == message_frame(SocketPacket(SocketPacketType.ACK, [answer], ack_id=7))


def test_a_still_simulator_gives_the_first_answer_every_time() -> None:
    simulator = KwiffSimulator(SimulatorConfig(today=TODAY), data=still_data())
    assert simulator.config.moving is False  # the default
    first_list = simulator.answer_json("event:list", list_payload())
    event_id = events_of(json.loads(first_list))[0]["id"]
    first_get = simulator.answer_json("event:get", {"eventId": event_id})
    for _ in range(4):
        assert simulator.answer_json("event:list", list_payload()) == first_list
        assert simulator.answer_json("event:get", {"eventId": event_id}) == first_get
    assert simulator.change_log() == simulator.serve_log() == []
    assert SimulatorConfig.from_options({"moving": False}) == SimulatorConfig()


def test_a_still_simulator_answers_exactly_what_its_data_answers() -> None:
    """At rest the answers come from cached JSON: the same bytes as the data's answer()."""
    simulator = KwiffSimulator(SimulatorConfig(today=TODAY), data=still_data())
    data = still_data()
    commands: list[tuple[str, Any]] = [
        ("event:list", list_payload(sport)) for sport in (FOOTBALL, BASKETBALL, 17)
    ]
    commands += [
        ("event:get", {"eventId": e["id"]}) for s in (FOOTBALL, BASKETBALL) for e in data.events(s)
    ]
    first = data.events(FOOTBALL)[0]["details"]["offers"]
    group = {
        "eventId": data.events(FOOTBALL)[0]["id"],
        "outcomeIds": [first[0]["outcomes"][0]["id"]],
    }
    commands += [
        ("event:get", {"eventId": UNKNOWN_ID}),
        ("event:get", {"eventId": str(data.events(FOOTBALL)[1]["id"])}),
        ("event:list", {"sportId": "x"}),
        ("event:get", None),
        ("ticket:odds:get", {"betBuilderOutcomeGroups": [group]}),
        ("user:get", {}),
    ]
    for _ in range(2):
        for message, payload in commands:
            assert simulator.answer_json(message, payload) == compact_json(
                data.answer(message, payload)
            )


# ------------------------------------------------------------------- changes are the log


def test_each_list_differs_from_the_last_by_exactly_its_changes() -> None:
    simulator = moving()
    previous = list_answer(simulator)
    fixtures = fixtures_of(simulator.data)
    seen_kinds: collections.Counter[str] = collections.Counter()
    for number in range(2, 12):
        answer = list_answer(simulator)
        changes = [e for e in simulator.change_log() if e["answer"] == number]
        assert changes, "a list step changes something"
        assert answer != previous
        expected = {event["id"]: copy.deepcopy(event) for event in events_of(previous)}
        for entry in changes:
            seen_kinds[entry["kind"]] += 1
            if entry["kind"] == "event_new":
                expected[entry["event_id"]] = list_view(fixtures[entry["event_id"]])
            elif entry["kind"] == "event_removed":
                del expected[entry["event_id"]]
            else:
                apply_change(expected[entry["event_id"]], entry)
        assert {event["id"]: event for event in events_of(answer)} == expected
        previous = answer
    assert {"moved", "suspended", "resumed", "event_status", "event_new"} <= set(seen_kinds)
    # A few polls of the 111-event list show dozens of changes each.
    assert seen_kinds["moved"] / 10 >= 24


def test_each_detail_differs_from_the_last_by_exactly_its_changes() -> None:
    simulator = moving()
    event_id = still_data().events(FOOTBALL)[0]["id"]
    previous = get_answer(simulator, event_id)["data"]["result"]
    kinds = set()
    for step in range(1, 30):
        result = get_answer(simulator, event_id)["data"]["result"]
        changes = [e for e in simulator.change_log() if e["answer"] == step + 1]
        assert all(e["step"] == step and e["event_id"] == event_id for e in changes)
        kinds |= {e["kind"] for e in changes}
        if result is None:
            assert [e["kind"] for e in changes] == ["event_removed"]
            break
        expected = copy.deepcopy(previous)
        for entry in changes:
            apply_change(expected, entry)
        assert result == expected
        previous = result
    else:
        pytest.fail("the first event of the list ends within 30 of its own steps")
    assert {"moved", "event_status", "event_removed"} <= kinds
    assert get_answer(simulator, event_id)["data"] == {"result": None}


def test_lists_and_gets_show_one_state_per_event() -> None:
    simulator = moving()
    ids = [e["id"] for e in still_data().events(FOOTBALL)[:3]]
    commands = [("list", FOOTBALL), *(("get", i) for i in ids), ("list", FOOTBALL)] * 4
    answers = run(simulator, commands)
    check_served(simulator, answers)
    # Each serve moves the event one step: list, get, list, get... of the same event.
    steps = [s["step"] for s in simulator.serve_log() if s["event_id"] == ids[0]]
    assert steps == list(range(len(steps)))


commands_strategy = st.lists(
    st.one_of(
        st.tuples(st.just("list"), st.sampled_from([FOOTBALL, BASKETBALL, 17])),
        st.tuples(st.just("get"), st.integers(min_value=0, max_value=12)),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands=commands_strategy, seed=st.integers(min_value=0, max_value=3))
def test_any_sequence_of_commands_is_the_log_replayed(
    commands: list[tuple[str, int]], seed: int
) -> None:
    simulator = moving(seed=seed, football_events=6)
    data = simulator.data
    # Event ids to ask for: the first ones, some new ones (known only once listed), none.
    pool = [
        *(f.id for sport in data.sports() for f in data.fixtures(sport)[:4]),
        *(f.id for sport in data.sports() for f in itertools.islice(data.later_fixtures(sport), 3)),
        UNKNOWN_ID,
    ]
    resolved = [(c, a if c == "list" else pool[a % len(pool)]) for c, a in commands]
    check_served(simulator, run(simulator, resolved))
    log = simulator.change_log()
    assert [e["seq"] for e in log] == list(range(len(log)))
    assert all(list(e) == list(CHANGE_FIELDS) and e["kind"] in CHANGE_KINDS for e in log)
    assert all(list(s) == list(SERVE_FIELDS) for s in simulator.serve_log())
    json.dumps(log)  # plain JSON


def test_what_a_watch_sees_is_what_the_log_says() -> None:
    """The watch's snapshot comparison, fed successive lists, finds exactly the listed
    changes of the log: one per outcome (a whole market's suspension: one per outcome)."""
    simulator = moving()

    def snapshots() -> dict[int, EventSnapshot]:
        events = parse_events(list_answer(simulator)["data"])
        return {event.event_id: EventSnapshot.of(event) for event in events}

    previous = snapshots()
    for number in range(2, 16):
        current = snapshots()
        found: collections.Counter[tuple[Any, ...]] = collections.Counter()
        for event_id in previous.keys() | current.keys():
            for change in diff_event(previous.get(event_id), current.get(event_id)):
                if isinstance(change, OddsChange):
                    found[event_id, change.kind, change.outcome_id, change.odds] += 1
                else:
                    assert isinstance(change, EventChange)
                    found[event_id, f"event_{change.kind}", None, None] += 1
        expected: collections.Counter[tuple[Any, ...]] = collections.Counter()
        for entry in simulator.change_log():
            if entry["answer"] != number or entry["listed"] is False:
                continue
            event_id, kind = entry["event_id"], entry["kind"]
            if kind in ("event_new", "event_removed", "event_status"):
                expected[event_id, kind, None, None] += 1
            if kind == "event_new":
                for outcome_id, point in current[event_id].outcomes.items():
                    expected[event_id, "new", outcome_id, point.odds] += 1
            elif kind == "event_removed":
                for outcome_id in previous[event_id].outcomes:
                    expected[event_id, "removed", outcome_id, None] += 1
            elif kind != "event_status":
                now = current[event_id].outcomes
                outcome_ids = (
                    [entry["outcome_id"]]
                    if entry["outcome_id"] is not None
                    else [k for k, p in now.items() if p.market_id == entry["market_id"]]
                )
                for outcome_id in outcome_ids:
                    expected[event_id, kind, outcome_id, now[outcome_id].odds] += 1
                if kind == "moved":
                    assert now[entry["outcome_id"]].odds == entry["odds_after"]
        assert found == expected
        previous = current


# ------------------------------------------------------------------------ lists and events


def test_new_events_appear_every_few_list_steps_with_fresh_ids() -> None:
    simulator = moving()
    first_ids = {e["id"] for e in events_of(list_answer(simulator))}
    later = list(itertools.islice(simulator.data.later_fixtures(FOOTBALL), 3))
    all_first = {f.id for sport in (FOOTBALL, BASKETBALL) for f in simulator.data.fixtures(sport)}
    assert not {f.id for f in later} & all_first
    assert min(f.id for f in later) > max(f.id for f in simulator.data.fixtures(FOOTBALL))
    assert get_answer(simulator, later[0].id)["data"] == {"result": None}  # not yet
    appeared = []
    for _ in range(3 * NEW_EVENT_EVERY):  # list steps 1 to 6: new events at 2, 4, 6
        answer = list_answer(simulator)
        new = [e for e in simulator.change_log() if e["kind"] == "event_new"]
        appeared = [e["event_id"] for e in new]
        listed = [e["id"] for e in events_of(answer)]
        assert set(appeared) <= set(listed)
        starts = [(e["startDate"], e["competition"]["id"], e["id"]) for e in events_of(answer)]
        assert starts == sorted(starts)  # new events take their place in kick-off order
    assert appeared == [f.id for f in later]
    assert [e["step"] for e in new] == [0, 0, 0]
    assert not set(appeared) & first_ids
    event = get_answer(simulator, later[0].id)["data"]["result"]
    assert len(markets_of(event)) == len(later[0].markets)  # every market
    assert event["startDate"][:10] > TODAY.isoformat()  # upcoming, as every event
    # Basketball's list has its own clock: nothing new yet.
    assert len(events_of(list_answer(simulator, BASKETBALL))) == 40


def test_events_go_in_play_then_end_leave_the_list_and_get_answers_null() -> None:
    simulator = moving()
    first = events_of(list_answer(simulator))
    assert all("inPlay" not in event for event in first)
    removed: list[dict[str, Any]] = []
    for _ in range(40):
        answer = list_answer(simulator)
        removed = [e for e in simulator.change_log() if e["kind"] == "event_removed"]
        if removed:
            break
    else:
        pytest.fail("an event ends within 40 list steps")
    gone = removed[0]
    # Events go in play in kick-off order (two steps apart) and stay 6 to 16 steps: the
    # first to end is one of the first to kick off.
    assert gone["event_id"] in {event["id"] for event in first[:10]}
    assert gone["in_play_before"] is True
    went_in_play = [
        e
        for e in simulator.change_log()
        if e["kind"] == "event_status" and e["event_id"] == gone["event_id"] and e["in_play_after"]
    ]
    assert len(went_in_play) == 1
    assert gone["event_id"] not in {e["id"] for e in events_of(answer)}
    assert any(event.get("inPlay") is True for event in events_of(answer))
    assert get_answer(simulator, gone["event_id"])["data"] == {"result": None}
    assert simulator.serve_log()[-1]["step"] is None
    assert gone["event_id"] not in {e["id"] for e in events_of(list_answer(simulator))}


def test_an_event_that_ends_through_event_get_leaves_the_list_too() -> None:
    simulator = moving(football_events=3)
    event_id = events_of(list_answer(simulator))[0]["id"]
    # It goes in play within a few steps and ends within moves.IN_PLAY_STEPS after that.
    for _ in range(100):
        if get_answer(simulator, event_id)["data"]["result"] is None:
            break
    else:
        raise AssertionError(f"event {event_id} never ended in 100 event:get answers")
    listed = [e["id"] for e in events_of(list_answer(simulator))]
    assert event_id not in listed
    assert [e["kind"] for e in simulator.change_log() if e["event_id"] == event_id][-1] == (
        "event_removed"
    )


def test_the_list_keeps_about_its_size() -> None:
    simulator = moving(football_events=20)
    sizes = [len(events_of(list_answer(simulator))) for _ in range(200)]
    assert sizes[0] == 20
    assert all(15 <= size <= 30 for size in sizes), sizes


def test_suspended_markets_and_outcomes_carry_a_status_and_resume() -> None:
    simulator = moving()
    for _ in range(15):
        list_answer(simulator)
    log = simulator.change_log()
    market_level = [e for e in log if e["kind"] == "suspended" and e["outcome_id"] is None]
    outcome_level = [e for e in log if e["kind"] == "suspended" and e["outcome_id"] is not None]
    assert market_level
    assert outcome_level
    resumed = {
        (e["event_id"], e["market_id"], e["outcome_id"]) for e in log if e["kind"] == "resumed"
    }
    assert {(e["event_id"], e["market_id"], e["outcome_id"]) for e in market_level} & resumed
    assert all(e["status_after"] == "SUSPENDED" for e in market_level + outcome_level)


def test_odds_move_along_the_ladder_with_the_odd_big_jump() -> None:
    from kwiff_scrapy.simulator.prices import LADDER

    position = {price.fractional: index for index, price in enumerate(LADDER)}
    simulator = moving()
    for _ in range(20):
        list_answer(simulator)
    moves = [e for e in simulator.change_log() if e["kind"] == "moved"]
    distances = collections.Counter(
        abs(position[e["fractional_after"]] - position[e["fractional_before"]]) for e in moves
    )
    assert set(distances) <= {1, 2, 4, 5, 6, 7, 8}
    assert distances[1] > distances[2] > sum(distances[d] for d in range(4, 9)) > 0


def test_bet_builder_prices_come_from_the_latest_state_shown() -> None:
    simulator = moving()
    for _ in range(6):
        list_answer(simulator)
    log = simulator.change_log()
    latest: dict[int, dict[str, Any]] = {}
    for entry in log:
        if entry["outcome_id"] is not None:
            latest[entry["outcome_id"]] = entry
    moved = next(e for e in latest.values() if e["kind"] == "moved")
    suspended = next(e for e in latest.values() if e["kind"] == "suspended")
    served = len(simulator.serve_log())

    def price(entry: dict[str, Any]) -> Any:
        group = {"eventId": entry["event_id"], "outcomeIds": [entry["outcome_id"]]}
        answer = json.loads(
            simulator.answer_json("ticket:odds:get", {"betBuilderOutcomeGroups": [group]})
        )
        return answer["data"]["betBuilderOutcomeGroups"][0]["fractionalOdds"]

    assert price(moved) == moved["fractional_after"]
    assert price(suspended) is None
    assert (len(simulator.serve_log()), simulator.change_log()) == (served, log)  # no serve


def test_invalid_payloads_and_other_commands_move_nothing() -> None:
    simulator = moving()
    still = still_data()
    for message, payload in [
        ("event:list", {"sportId": "eleven"}),
        ("event:get", {}),
        ("event:list", []),
        ("user:get", {}),
    ]:
        assert json.loads(simulator.answer_json(message, payload)) == still.answer(message, payload)
    assert simulator.serve_log() == []
    assert simulator.answer_json("event:list", list_payload()) == compact_json(
        still.answer("event:list", list_payload())
    )


def test_the_country_does_not_change_the_list_clock_or_data() -> None:
    one, other = moving(), moving()
    for country in ("GB", "IE", "GB"):
        assert one.answer_json("event:list", list_payload(country=country)) == (
            other.answer_json("event:list", list_payload())
        )


# --------------------------------------------------------------------------- determinism


def commands_for(simulator: KwiffSimulator) -> list[tuple[str, int]]:
    ids = [f.id for f in simulator.data.fixtures(FOOTBALL)[:4]]
    return [("list", FOOTBALL), ("get", ids[0]), ("list", BASKETBALL), ("list", FOOTBALL)] + [
        ("get", i) for i in ids
    ] * 3


def test_same_seed_and_commands_give_the_same_answers_and_logs_another_seed_differs() -> None:
    one, two, other = moving(), moving(), moving(seed=7)
    first = run(one, commands_for(one))
    assert run(two, commands_for(two)) == first
    assert one.change_log() == two.change_log()
    assert one.serve_log() == two.serve_log()
    run(other, commands_for(other))
    assert other.change_log() != one.change_log()


def test_a_step_depends_on_the_event_and_the_step_not_on_how_it_was_reached() -> None:
    by_lists, by_gets = moving(), moving()
    event_id = by_lists.data.fixtures(FOOTBALL)[10].id
    for _ in range(6):
        list_answer(by_lists)
        get_answer(by_gets, event_id)
    # Step 6 of the event, shown by the 7th list of one and the 7th get of the other.
    (listed,) = [e for e in events_of(list_answer(by_lists)) if e["id"] == event_id]
    detail = get_answer(by_gets, event_id)["data"]["result"]

    def shown(event: dict[str, Any]) -> dict[int, Any]:
        return {
            market["id"]: (
                market.get("status"),
                [
                    (o["id"], o["odds"], o["fractional"], o.get("status"))
                    for o in outcomes_of(market)
                ],
            )
            for market in markets_of(event)
        }

    in_detail = shown(detail)
    assert shown(listed) == {market_id: in_detail[market_id] for market_id in shown(listed)}
    header = ("bettingStatus", "inPlay", "startDate", "homeTeam", "awayTeam")
    assert [listed.get(key) for key in header] == [detail.get(key) for key in header]

    def changes(simulator: KwiffSimulator) -> list[tuple[Any, ...]]:
        return [
            tuple(v for k, v in entry.items() if k not in ("seq", "answer", "command"))
            for entry in simulator.change_log()
            if entry["event_id"] == event_id
        ]

    assert changes(by_lists) == changes(by_gets)


# -------------------------------------------------------------------------------- the logs


def test_the_logs_are_bounded_and_keep_counting() -> None:
    simulator = moving(max_log_entries=5)
    for _ in range(4):
        list_answer(simulator)
    log = simulator.change_log()
    assert len(log) == 5
    total = simulator.moving.changes_made if simulator.moving else 0
    assert total > 5
    assert [e["seq"] for e in log] == list(range(total - 5, total))
    assert simulator.change_log(since=total - 2) == log[-2:]
    assert simulator.change_log(since=0) == log
    assert [s["seq"] for s in simulator.serve_log()][-1] == 4 * 111 + 2 - 1  # 2 new events
    assert len(simulator.serve_log()) == 5
    nothing = moving(max_log_entries=0)
    list_answer(nothing)
    list_answer(nothing)
    assert nothing.change_log() == nothing.serve_log() == []


def test_listeners_hear_each_answers_entries_before_it_is_sent() -> None:
    simulator = moving()
    heard: list[list[dict[str, Any]]] = []
    served: list[list[dict[str, Any]]] = []
    simulator.add_change_listener(heard.append)
    simulator.add_serve_listener(served.append)
    for _ in range(3):
        list_answer(simulator)
    assert [e for batch in heard for e in batch] == simulator.change_log()
    assert [e for batch in served for e in batch] == simulator.serve_log()
    assert [len(batch) for batch in served] == [111, 111, 112]
    assert {e["answer"] for e in heard[0]} == {2}  # the first answer changed nothing


def test_config_fields_for_moving_today_and_the_log_bound() -> None:
    config = SimulatorConfig.from_options(
        {"moving": True, "today": "2026-03-01", "max_log_entries": 10}
    )
    assert (config.moving, config.today, config.max_log_entries) == (
        True,
        datetime.date(2026, 3, 1),
        10,
    )
    assert config == SimulatorConfig(
        moving=True, today=datetime.date(2026, 3, 1), max_log_entries=10
    )
    for options, message in [
        ({"today": "yesterday"}, "today must be a date"),
        ({"today": datetime.datetime(2026, 3, 1)}, "today must be a date"),
        ({"moving": "yes"}, "moving must be true or false"),
        ({"max_log_entries": -1}, "max_log_entries must not be negative"),
    ]:
        with pytest.raises(ValueError, match=message):
            SimulatorConfig.from_options(options)


# ------------------------------------------------------------------------------ the dates


def test_dates_are_upcoming_from_today_and_keep_their_weekly_pattern() -> None:
    def starts(today: datetime.date) -> list[datetime.datetime]:
        events = SimulatedData(today=today).events(FOOTBALL)
        return [
            datetime.datetime.fromisoformat(e["startDate"].replace("Z", "+00:00")) for e in events
        ]

    assert base_date_for(datetime.date(2026, 1, 19)) == BASE_DATE
    assert base_date_for(datetime.date(2026, 1, 20)) == BASE_DATE + datetime.timedelta(days=7)
    reference = starts(datetime.date(2026, 1, 19))
    for today in (
        datetime.date(2026, 1, 20),
        datetime.date(2026, 12, 1),
        datetime.date(2031, 2, 28),
    ):
        moved = starts(today)
        assert min(moved).date() > today
        assert (min(moved).date() - today).days <= 7
        shifts = {b - a for a, b in zip(reference, moved, strict=True)}
        assert len(shifts) == 1  # every date moved by the same whole number of weeks
        (shift,) = shifts
        assert shift.days % 7 == 0
        assert shift.seconds == 0
        assert SimulatedData(today=today).events(FOOTBALL) == SimulatedData(today=today).events(
            FOOTBALL
        )
    assert starts(datetime.date(2026, 1, 19))[0] == datetime.datetime(
        2026, 1, 20, 17, 45, tzinfo=datetime.UTC
    )


def test_today_defaults_to_the_current_utc_date_and_reaches_the_simulator() -> None:
    before = datetime.datetime.now(datetime.UTC).date()
    data = SimulatedData()
    after = datetime.datetime.now(datetime.UTC).date()
    assert data.today in {before, after}
    assert all(e["startDate"][:10] > data.today.isoformat() for e in data.events(FOOTBALL))
    day = datetime.date(2027, 6, 15)
    simulator = KwiffSimulator(SimulatorConfig(today=day))
    assert simulator.data.today == day
    assert simulator.data.events(BASKETBALL) == SimulatedData(today=day).events(BASKETBALL)
    args = build_parser().parse_args(["--today", "2027-06-15"])
    assert config_from_args(args).today == day


# ------------------------------------------------------------------------- answer faults


def test_answer_faults_accept_string_keys_and_refuse_what_is_not_a_fault() -> None:
    config = SimulatorConfig.from_options({"answer_faults": {"2": "error", 3: "malformed"}})
    assert config.faults.answer_faults == {2: "error", 3: "malformed"}
    assert config.faults == Faults(answer_faults={2: "error", 3: "malformed"})
    for faults, message in [
        ({"2": "boom"}, r"answer_faults\[2\] must be one of 'silent', 'error', 'malformed'"),
        ({"0": "error"}, "answer_faults keys are command numbers counted from 1"),
        ({"x": "error"}, "answer_faults keys are command numbers counted from 1"),
        ({True: "error"}, "answer_faults keys are command numbers counted from 1"),
        (["error"], "answer_faults must map command numbers"),
    ]:
        with pytest.raises(ValueError, match=message):
            SimulatorConfig.from_options({"answer_faults": faults})
    args = build_parser().parse_args(["--answer-fault", "2=error", "--answer-fault", "5=silent"])
    assert config_from_args(args).faults.answer_faults == {2: "error", 5: "silent"}


@pytest.mark.parametrize("text", ["2", "x=error", "0=error", "2=boom"])
def test_the_answer_fault_flag_refuses_a_bad_value(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--answer-fault", text])
    assert "--answer-fault" in capsys.readouterr().err


async def test_answer_faults_answer_wrongly_and_move_nothing() -> None:
    faults = {2: "error", 3: "malformed", 4: "silent", 6: "error"}
    config = SimulatorConfig(moving=True, today=TODAY, faults=Faults(answer_faults=faults))
    reference = moving()
    expected = [list_answer(reference) for _ in range(3)]
    event_id = expected[0]["data"]["events"][0]["id"]
    async with KwiffSimulator(config, data=still_data()) as simulator, session(simulator) as ws:
        first = await ask(ws, 1, "event:list", list_payload())
        error = await ask(ws, 2, "event:list", list_payload())
        malformed = await ask(ws, 3, "event:get", {"eventId": event_id})
        await ws.send(command_frame(4, "event:list", list_payload()))  # never answered
        second = await ask(ws, 5, "event:list", list_payload())
        await ask(ws, 6, "event:get", {"eventId": event_id})
        await ws.send(command_frame(7, "event:list", list_payload()))
        await handled(simulator, 7)
        frames = await frames_before_pong(ws)
        assert [decode_ack(frame).ack_id for frame in frames] == [7]  # nothing for 4
        third = decode_ack(frames[0])
        assert simulator.acks_sent == 6
        serves = {s["answer"] for s in simulator.serve_log()}
    assert first.args == [expected[0]]
    assert error.args == [
        {
            "timestamp": FIXED_MS,
            "data": None,
            "error": {"code": "INTERNAL", "message": "simulated internal error"},
        }
    ]
    assert malformed.args == [{"timestamp": FIXED_MS, "data": {"unexpected": True}}]
    assert second.args == [expected[1]]  # as if the faulted answers had never been asked
    assert third.args == [expected[2]]
    assert serves == {1, 2, 3}


async def test_answer_faults_follow_faulty_connections() -> None:
    config = SimulatorConfig(
        moving=True, today=TODAY, faults=Faults(answer_faults={1: "error"}), faulty_connections=1
    )
    async with KwiffSimulator(config, data=still_data()) as simulator:
        async with session(simulator) as ws:
            assert (await ask(ws, 1, "event:get", {"eventId": UNKNOWN_ID})).args[0]["error"]
        async with session(simulator) as ws:
            answer = await ask(ws, 1, "event:get", {"eventId": UNKNOWN_ID})
            assert answer.args == [{"timestamp": FIXED_MS, "data": {"result": None}}]


# ------------------------------------------------------------------------ the command line


async def test_the_cli_appends_the_change_log_to_a_file_as_changes_happen(tmp_path: Path) -> None:
    changes, serves = tmp_path / "changes.jsonl", tmp_path / "serves.jsonl"
    changes.write_text("")  # appended to, not replaced
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kwiff_scrapy.simulator", "--port", "0", "--today", TODAY.isoformat(),
        "--per-serve", "--football-events", "8",
        "--change-log", str(changes), "--serve-log", str(serves),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    reference = moving(football_events=8)
    commands: list[tuple[str, int]] = []
    stamps: list[int] = []
    try:
        assert process.stdout is not None
        first = await guarded(process.stdout.readline(), "its first line", guard=HANG_GUARD)
        line = first.decode()
        match = re.fullmatch(r"Kwiff simulator listening on (ws://\S+)\n", line)
        assert match, line
        async with browser_session(match[1]) as ws:
            event_id = reference.data.fixtures(FOOTBALL)[0].id
            for ack_id in range(1, 7):
                command = ("list", FOOTBALL) if ack_id % 3 else ("get", event_id)
                commands.append(command)
                message = "event:list" if command[0] == "list" else "event:get"
                payload = list_payload() if command[0] == "list" else {"eventId": event_id}
                stamps.append((await ask(ws, ack_id, message, payload)).args[0]["timestamp"])
                run(reference, [command])
                # Written and flushed before the answer was sent.
                logged = [json.loads(line) for line in changes.read_text().splitlines()]
                assert logged == reference.change_log()
    finally:
        if process.returncode is None:
            process.terminate()
        _, stderr = await guarded(process.communicate(), "its end", guard=HANG_GUARD)
    assert process.returncode == 0, stderr.decode()
    logged = [json.loads(line) for line in changes.read_text().splitlines()]
    assert logged
    assert logged == reference.change_log()
    assert {entry["kind"] for entry in logged} >= {"moved"}
    served = [json.loads(line) for line in serves.read_text().splitlines()]
    # The same serves, each stamped with its answer's own time (the reference's clock is
    # fixed, the command line's is not).
    assert [{**entry, "timestamp": None} for entry in served] == [
        {**entry, "timestamp": None} for entry in reference.serve_log()
    ]
    assert [entry["timestamp"] for entry in served] == [
        stamps[entry["answer"] - 1] for entry in served
    ]
    assert len(commands) == 6


def test_the_cli_moves_unless_still() -> None:
    assert config_from_args(build_parser().parse_args([])).moving is True
    assert config_from_args(build_parser().parse_args(["--still"])).moving is False
    args = build_parser().parse_args(["--max-log-entries", "10"])
    assert config_from_args(args).max_log_entries == 10
