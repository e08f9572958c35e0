"""kwiff_watch with KWIFF_SIGNALS against the moving simulator: signals come out as items,
and replaying the changes the watch yielded through new detectors gives the same signals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kwiff_scrapy.integration.signal_settings import load_signal_rules
from kwiff_scrapy.model.detectors import SignalDetectors
from kwiff_scrapy.model.items import EventChange, OddsChange
from kwiff_scrapy.model.signals import OddsSignal

from ..conftest import StartSimulator
from ..support.watching import watch

#: Thresholds low enough for the simulator's random steps over a few polls.
RULES = [
    {"kind": "drop", "change": 0.01, "cooldown": 0},
    {"kind": "drift", "change": 0.01, "cooldown": 0},
    {"kind": "steam", "change": 0.01, "outcomes": 2, "cooldown": 0},
    {"kind": "margin", "points": 0.001, "cooldown": 0},
    {"kind": "suspensions", "count": 1, "cooldown": 0},
]


def signals_of(items: list[Any]) -> list[OddsSignal]:
    return [item for item in items if isinstance(item, OddsSignal)]


async def test_the_watch_yields_signals_and_a_replay_of_its_changes_gives_the_same(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(moving=True)
    run = await watch(simulator, polls=6, settings={"KWIFF_SIGNALS": json.dumps(RULES)})

    live = signals_of(run.items)
    assert {signal.kind for signal in live} >= {"drop", "drift", "margin"}
    changes = [item for item in run.items if isinstance(item, OddsChange | EventChange)]
    replay = SignalDetectors(load_signal_rules(RULES))
    assert replay.feed(changes) + replay.flush() == live
    for rule in {signal.rule for signal in live}:
        fired = sum(signal.rule == rule for signal in live)
        assert run.stat(f"kwiff/watch/signals/{rule}") == fired


async def test_signals_are_off_unless_asked_for(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(moving=True)
    run = await watch(simulator, polls=3)
    assert signals_of(run.items) == []
    assert [item for item in run.items if isinstance(item, OddsChange)]


async def test_an_empty_rule_list_fires_nothing(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(moving=True)
    settings = {"KWIFF_SIGNALS_ENABLED": True, "KWIFF_SIGNALS": "[]"}
    run = await watch(simulator, polls=2, settings=settings)
    assert signals_of(run.items) == []
    assert [item for item in run.items if isinstance(item, OddsChange)]


async def test_a_bad_rule_stops_the_watch_before_it_starts(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(moving=True)
    with pytest.raises(ValueError, match=r"unknown kind 'stem' \(did you mean 'steam'\?\)"):
        await watch(simulator, polls=1, settings={"KWIFF_SIGNALS": '[{"kind": "stem"}]'})
    assert simulator.commands_received == 0
