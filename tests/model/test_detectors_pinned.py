"""The detectors' signals pinned over a seeded feed: those main's detectors gave (before
the replay's speed-ups of 2026-12-07), field by field, for the default rules, the property
tests' rules and a set with every filter, short and long windows and two rules of a kind;
fed poll by poll as the watch does, and in chunks as a replay does.

A changed digest means a changed signal: find which with :func:`signals_of` and the
code of the commit that pinned it, and fix the detectors, not the digest, unless a rule's
meaning was changed on purpose."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import random

import pytest

from kwiff_scrapy.integration.signal_settings import load_signal_rules
from kwiff_scrapy.model.changes import Change
from kwiff_scrapy.model.detectors import SignalDetectors
from kwiff_scrapy.model.signal_rules import SignalRule, parse_rules
from kwiff_scrapy.model.signals import OddsSignal

from .signal_feed import Prices, Watch

MARKETS: Prices = {
    "Match Result": {"Home": 2.1, "Draw": 3.4, "Away": 3.6},
    "Total Goals": {"Over 2.5": 1.9, "Under 2.5": 1.95},
    "Double Chance": {"Home or Draw": 1.3, "Away or Draw": 1.75, "Home or Away": 1.36},
    # Last, so that its going and coming back leaves the other markets' ids as they are.
    "Correct Score": {"1-0": 8.0, "0-0": 9.0, "1-1": 7.5, "2-1": 13.0, "0-1": 11.0, "Other": 5.0},
}
#: Each price's factor at a poll: mostly still, now and then a step or a jump.
FACTORS = (0.85, 0.94, 0.97, 1.0, 1.0, 1.0, 1.0, 1.03, 1.06, 1.18)

PROPERTY_RULES = [
    {"kind": "drop", "change": 0.05, "minutes": 10, "cooldown": 5},
    {"kind": "drift", "points": 0.02, "minutes": 10, "cooldown": 5, "growth": 0.2},
    {"kind": "steam", "change": 0.03, "outcomes": 2, "minutes": 10, "cooldown": 5},
    {"kind": "margin", "points": 0.01, "minutes": 10, "cooldown": 5},
    {"kind": "suspensions", "count": 2, "seconds": 300, "cooldown": 2},
]
FILTERED_RULES = [
    {"name": "d1", "kind": "drop", "change": 0.08, "minutes": 90, "cooldown": 20,
     "markets": ["Match Result", "Correct Score"], "max_odds": 9},
    {"name": "d2", "kind": "drop", "points": 0.03, "minutes": 3, "cooldown": 2,
     "min_odds": 1.5, "in_play": "yes"},
    {"name": "dr", "kind": "drift", "change": 0.1, "points": 0.04, "minutes": 120,
     "cooldown": 30, "in_play": "no"},
    {"name": "s1", "kind": "steam", "change": 0.04, "minutes": 20, "cooldown": 15,
     "markets": ["Match Result", "Total Goals"]},
    {"name": "s2", "kind": "steam", "change": 0.02, "outcomes": 3, "minutes": 60,
     "cooldown": 30, "max_odds": 10},
    {"name": "s3", "kind": "steam", "change": 0.06, "outcomes": 2, "minutes": 200,
     "cooldown": 60, "competitions": ["Premier League"]},
    {"name": "d3", "kind": "drop", "change": 0.05, "minutes": 30, "cooldown": 10,
     "competitions": ["La Liga"]},
    {"name": "m1", "kind": "margin", "points": 0.01, "minutes": 45, "cooldown": 10,
     "max_odds": 12},
    {"name": "m2", "kind": "margin", "points": 0.02, "minutes": 5, "cooldown": 5,
     "markets": ["Correct Score", "Total Goals"]},
    {"name": "su", "kind": "suspensions", "count": 2, "seconds": 600, "cooldown": 5,
     "markets": ["Match Result", "Double Chance", "Correct Score"], "min_odds": 1.2},
    {"name": "su2", "kind": "suspensions", "count": 1, "seconds": 60, "cooldown": 1},
]  # fmt: skip


def rule_sets() -> dict[str, list[SignalRule]]:
    return {
        "default": load_signal_rules(None),
        "property": parse_rules(PROPERTY_RULES),
        "filtered": parse_rules(FILTERED_RULES),
    }


#: Made by main's detectors (commit cddb152) from :func:`feed`: (signals, digest).
PINNED = {
    "default": (3125, "841cba6f3a0e8f8b327367a4feaf199526ddddb27c15ba4a950c7e4910b526c3"),
    "property": (9742, "5ac593bb25a00e85dd6fcc5b765120d061084a8df2e9fc2e9c6f20214dbacf37"),
    "filtered": (7297, "d0ccbae970222e7cd821e2d699b5d16228d2503b6ca72ebf8f31ee6258a92084"),
}


def feed(seed: int = 11, polls: int = 1500) -> list[list[Change]]:
    """Three events' answers, one at a time: prices walking, markets suspended, the
    correct score gone now and then, an event gone and back, answers out of order, and
    the second half in play."""
    rng = random.Random(seed)
    watch = Watch()
    books = {event_id: copy.deepcopy(MARKETS) for event_id in (1, 2, 3)}
    competitions = {1: "Premier League", 2: "La Liga", 3: "Premier League"}
    minutes = 0.0
    last: tuple[int, float] | None = None
    answers: list[list[Change]] = []
    for n in range(polls):
        event_id = rng.choice((1, 2, 3))
        minutes += rng.choice((0.0, 0.5, 1.0, 1.0, 2.0, 5.0))
        if (event_id, minutes) == last:  # two answers of one event at one time: one poll
            minutes += 1.0
        if rng.random() < 0.01 and event_id in watch.snapshots:
            answers.append(watch.remove(minutes, event_id))
            last = (event_id, minutes)
            continue
        book = books[event_id]
        for outcomes in book.values():
            for name in outcomes:
                outcomes[name] = min(
                    80.0, max(1.01, round(outcomes[name] * rng.choice(FACTORS), 2))
                )
        shown = {m: o for m, o in book.items() if m != "Correct Score" or rng.random() > 0.05}
        suspended = frozenset(m for m in shown if rng.random() < 0.04)
        # Now and then an answer comes back later than the one after it.
        at = minutes - 0.5 if rng.random() < 0.03 else minutes
        if (event_id, at) == last:
            at = minutes
        last = (event_id, at)
        answers.append(
            watch.poll(
                at,
                shown,
                event_id,
                suspended,
                in_play=n > polls // 2,
                competition_name=competitions[event_id],
            )
        )
    return answers


def signals_of(
    detectors_class: type[SignalDetectors], rules: list[SignalRule], answers: list[list[Change]]
) -> tuple[list[OddsSignal], list[OddsSignal]]:
    """The signals poll by poll (each answer fed, then flushed) and in chunks of 7."""
    live = detectors_class(rules)
    by_poll = [signal for changes in answers for signal in live.feed(changes) + live.flush()]
    replay = detectors_class(rules)
    every = [change for changes in answers for change in changes]
    in_chunks = [
        signal
        for start in range(0, len(every), 7)
        for signal in replay.feed(every[start : start + 7])
    ] + replay.flush()
    return by_poll, in_chunks


def digest(signals: list[OddsSignal]) -> str:
    lines = (json.dumps(dataclasses.asdict(signal), sort_keys=True) for signal in signals)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@pytest.mark.parametrize("name", ["default", "property", "filtered"])
def test_the_signals_are_main_s_field_by_field(name: str) -> None:
    by_poll, in_chunks = signals_of(SignalDetectors, rule_sets()[name], feed())
    assert in_chunks == by_poll
    assert (len(by_poll), digest(by_poll)) == PINNED[name]
