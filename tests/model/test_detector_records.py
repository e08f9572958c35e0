"""One event's detector state as JSON (model/detector_records.py): the base of signals in a
shared watch, where each poll's worker carries on from the event's state in Redis."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings

from kwiff_scrapy.model.changes import Change
from kwiff_scrapy.model.detector_records import (
    event_record,
    event_state,
    record_rules,
    rules_fingerprint,
)
from kwiff_scrapy.model.detectors import SignalDetectors
from kwiff_scrapy.model.signal_rules import parse_rules
from kwiff_scrapy.model.signals import OddsSignal

from .signal_feed import Watch, result
from .test_detectors_properties import BASE, RULES, Step, live, polls_of, rules, steps_strategy

FINGERPRINT = rules_fingerprint(rules())


def through_records(polls: list[list[Change]]) -> tuple[list[OddsSignal], dict[int, str]]:
    """As a shared watch runs them: fresh detectors per answer, each event's state taken
    from a store of JSON text and written back after the answer."""
    store: dict[int, str] = {}
    signals: list[OddsSignal] = []
    for changes in polls:
        detectors = SignalDetectors(rules())
        ids = list(dict.fromkeys(change.event_id for change in changes))
        for event_id in ids:
            if event_id in store:
                detectors.restore(event_state(json.loads(store[event_id])))
        signals += detectors.feed(changes) + detectors.flush()
        for event_id in ids:
            state = detectors.event_state(event_id)
            if state is None:
                store.pop(event_id, None)
            else:
                text = json.dumps(event_record(state, FINGERPRINT), allow_nan=False)
                store[event_id] = text
    return signals, store


@settings(max_examples=150, deadline=None)
@given(steps=steps_strategy)
def test_each_event_carried_through_json_gives_the_signals_of_one_process(
    steps: list[Step],
) -> None:
    polls = polls_of(steps)
    assert through_records(polls)[0] == live(polls)


def test_a_long_random_walk_through_records_fires_every_kind_as_one_process_does() -> None:
    chance = random.Random(7)
    steps = [
        Step(
            event_id=chance.choice([1, 2]),
            minutes=chance.choice([0, 1, 2]),
            factors=tuple(chance.choice([0.9, 0.97, 1.0, 1.0, 1.03, 1.1]) for _ in range(5)),
            suspended=frozenset(m for m in BASE if chance.random() < 0.1),
        )
        for _ in range(400)
    ]
    polls = polls_of(steps)
    signals, store = through_records(polls)
    assert signals == live(polls)
    kinds = {signal.kind for signal in signals}
    assert kinds == {"drop", "drift", "steam", "margin", "suspensions"}
    # Bounded: the windows are 10 minutes; 400 polls of two events keep a few dozen prices.
    for text in store.values():
        record = json.loads(text)
        prices = sum(len(o[5]) for market in record["markets"] for o in market[4])
        assert prices <= 5 * 25, prices


def test_a_removed_event_leaves_no_state() -> None:
    watch = Watch()
    detectors = SignalDetectors(rules())
    detectors.feed(watch.poll(0, result(2.0, 3.4, 4.0)))
    detectors.flush()
    assert detectors.event_state(1) is not None
    detectors.feed(watch.remove(5))
    detectors.flush()
    assert detectors.event_state(1) is None


def test_cooldowns_over_are_not_written() -> None:
    watch = Watch()
    detectors = SignalDetectors(parse_rules([{"kind": "drop", "change": 0.05, "cooldown": 10}]))
    for minutes, home in ((0, 2.0), (1, 1.8)):
        detectors.feed(watch.poll(minutes, result(home, 3.4, 4.0)))
        assert detectors.flush() or minutes == 0
    state = detectors.event_state(1)
    assert state is not None
    assert len(event_record(state, "x")["cooldowns"]) == 1
    detectors.feed(watch.poll(30, result(1.8, 3.5, 4.0)))
    detectors.flush()
    state = detectors.event_state(1)
    assert state is not None
    assert event_record(state, "x")["cooldowns"] == []


@pytest.mark.parametrize(
    "record",
    [
        None,
        [],
        {"v": 0, "rules": FINGERPRINT},
        {"v": 1, "rules": FINGERPRINT},
        {"v": 1, "rules": FINGERPRINT, "id": "1"},
        {"__reduce__": "os.system"},
    ],
)
def test_anything_else_is_refused(record: Any) -> None:
    with pytest.raises(ValueError, match="not a detector state"):
        event_state(record)


def test_a_record_with_a_wrong_field_is_refused() -> None:
    watch = Watch()
    detectors = SignalDetectors(rules())
    detectors.feed(watch.poll(0, result(2.0, 3.4, 4.0)))
    detectors.flush()
    state = detectors.event_state(1)
    assert state is not None
    record = event_record(state, FINGERPRINT)
    assert event_state(json.loads(json.dumps(record))).markets.keys() == state.markets.keys()
    record["markets"][0][4][0][4] = "yes"  # an outcome's open flag
    with pytest.raises(ValueError, match="open"):
        event_state(record)


def test_the_fingerprint_follows_the_rules() -> None:
    assert rules_fingerprint(rules()) == FINGERPRINT
    assert rules_fingerprint(parse_rules(RULES[:-1])) != FINGERPRINT
    changed = [{**RULES[0], "change": 0.06}, *RULES[1:]]
    assert rules_fingerprint(parse_rules(changed)) != FINGERPRINT
    assert record_rules({"v": 1, "rules": FINGERPRINT}) == FINGERPRINT
