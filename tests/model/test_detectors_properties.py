"""Properties of the detectors: the base of "replay equals live"."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from kwiff_scrapy.model.changes import Change
from kwiff_scrapy.model.detectors import SignalDetectors
from kwiff_scrapy.model.signal_rules import SignalRule, parse_rules
from kwiff_scrapy.model.signals import OddsSignal

from .signal_feed import Prices, Watch

#: Low thresholds and short windows, so that random walks fire every kind now and then.
RULES = [
    {"kind": "drop", "change": 0.05, "minutes": 10, "cooldown": 5},
    {"kind": "drift", "points": 0.02, "minutes": 10, "cooldown": 5, "growth": 0.2},
    {"kind": "steam", "change": 0.03, "outcomes": 2, "minutes": 10, "cooldown": 5},
    {"kind": "margin", "points": 0.01, "minutes": 10, "cooldown": 5},
    {"kind": "suspensions", "count": 2, "seconds": 300, "cooldown": 2},
]
BASE: Prices = {
    "Match Result": {"Home": 2.0, "Draw": 3.4, "Away": 4.0},
    "Total Goals": {"Over 2.5": 1.9, "Under 2.5": 1.9},
}


def rules() -> list[SignalRule]:
    return parse_rules(RULES)


@dataclass(frozen=True)
class Step:
    """One answer about one event: how far the clock moved and how each price moved."""

    event_id: int
    minutes: float
    factors: tuple[float, ...]
    suspended: frozenset[str]


def polls_of(steps: list[Step]) -> list[list[Change]]:
    watch = Watch()
    clock = 0.0
    prices = {event_id: {m: dict(o) for m, o in BASE.items()} for event_id in (1, 2)}
    polls = []
    last_event = None
    for step in steps:
        # Two answers about one event at one time would be one poll: the clock moves on.
        clock += step.minutes or (0.5 if step.event_id == last_event else 0)
        last_event = step.event_id
        book = prices[step.event_id]
        factors = iter(step.factors)
        for outcomes in book.values():
            for name in outcomes:
                outcomes[name] = max(1.01, round(outcomes[name] * next(factors), 2))
        polls.append(watch.poll(clock, book, step.event_id, step.suspended))
    return polls


steps_strategy = st.lists(
    st.builds(
        Step,
        event_id=st.sampled_from([1, 2]),
        minutes=st.sampled_from([0, 0.5, 1, 2, 5]),
        factors=st.tuples(*[st.sampled_from([0.9, 0.97, 1.0, 1.0, 1.03, 1.1])] * 5),
        suspended=st.sets(st.sampled_from(list(BASE))).map(frozenset),
    ),
    max_size=40,
)


def live(polls: list[list[Change]]) -> list[OddsSignal]:
    """As the watch feeds them: each answer's changes, then the end of the answer."""
    detectors = SignalDetectors(rules())
    return [signal for changes in polls for signal in detectors.feed(changes) + detectors.flush()]


def in_batches(changes: list[Change], cuts: list[int]) -> list[OddsSignal]:
    detectors = SignalDetectors(rules())
    signals: list[OddsSignal] = []
    start = 0
    for cut in [*sorted(cuts), len(changes)]:
        signals += detectors.feed(changes[start:cut])
        start = max(start, cut)
    return signals + detectors.flush()


@settings(max_examples=150, deadline=None)
@given(steps=steps_strategy, data=st.data())
def test_one_batch_or_many_give_the_same_signals(steps: list[Step], data: st.DataObject) -> None:
    polls = polls_of(steps)
    changes = [change for poll in polls for change in poll]
    cuts = data.draw(st.lists(st.integers(0, len(changes)), max_size=8))
    one_batch = in_batches(changes, [])
    assert in_batches(changes, cuts) == one_batch
    assert live(polls) == one_batch


def test_a_long_random_walk_fires_every_kind_and_batching_does_not_matter() -> None:
    chance = random.Random(18)
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
    changes = [change for poll in polls for change in poll]
    signals = live(polls)
    assert {signal.kind for signal in signals} == {
        "drop",
        "drift",
        "steam",
        "margin",
        "suspensions",
    }
    assert in_batches(changes, chance.sample(range(len(changes)), 50)) == signals
    assert in_batches(changes, []) == signals
