"""The simulator's scenarios through a watch with the default signal rules: each scenario
fires its signal once, at the poll of its documented step, and the quiet noise around
them fires nothing (docs/signals.md, docs/simulator.md)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from kwiff_scrapy.model.items import OddsChange
from kwiff_scrapy.model.signals import OddsSignal
from kwiff_scrapy.simulator import SimulatedData, SimulatorConfig
from kwiff_scrapy.simulator.scenarios import SCENARIOS, SPORT, Scenario

from ..conftest import StartSimulator
from ..support.watching import watch

#: Steps 0 to 29 of the first list's events: every scenario plays out, then nothing.
POLLS = 30


def event_of(scenario: Scenario) -> int:
    return SimulatedData().fixtures(SPORT)[scenario.position].id


def fired_at(scenario: Scenario, log: list[dict[str, Any]], items: list[Any]) -> set[str | None]:
    """The ``fetched_at`` of the answer that showed the scenario's changes of its step
    ``at``, from the watch's own change items."""
    made = [e for e in log if e["scenario"] == scenario.name and e["step"] == scenario.at]
    assert made, f"the change log has no change of {scenario.name} at step {scenario.at}"
    times = set()
    for entry in made:
        for item in items:
            if not isinstance(item, OddsChange) or item.event_id != event_of(scenario):
                continue
            if entry["outcome_id"] is not None:
                same = item.outcome_id == entry["outcome_id"] and item.odds == entry["odds_after"]
            else:
                same = item.market_id == entry["market_id"] and item.kind == entry["kind"]
            if same:
                times.add(item.fetched_at)
    return times


async def test_each_scenario_fires_its_signal_once_at_its_step_and_the_noise_nothing(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(moving=True, scenarios=True)
    run = await watch(simulator, polls=POLLS, settings={"KWIFF_SIGNALS_ENABLED": True})
    assert [failed for _, _, failed in run.polls] == [False] * POLLS
    log = simulator.change_log()
    signals = [item for item in run.items if isinstance(item, OddsSignal)]

    # One signal per scenario, of its kind, on its event; nothing else.
    assert sorted((s.kind, s.event_id) for s in signals) == sorted(
        (scenario.fires, event_of(scenario)) for scenario in SCENARIOS
    )
    for scenario in SCENARIOS:
        (signal,) = [s for s in signals if s.event_id == event_of(scenario)]
        assert {signal.fetched_at} == fired_at(scenario, log, run.items), scenario.name

    # The change log names each scenario's changes, at the steps it scripts, and only them.
    named = Counter(entry["scenario"] for entry in log if entry["scenario"] is not None)
    assert set(named) == {scenario.name for scenario in SCENARIOS}
    for scenario in SCENARIOS:
        steps = {e["step"] for e in log if e["scenario"] == scenario.name}
        assert {e["event_id"] for e in log if e["scenario"] == scenario.name} == {
            event_of(scenario)
        }
        resumed = {at + steps for at, each in scenario.suspend.items() for _, steps in each}
        assert steps == set(scenario.moves) | set(scenario.suspend) | resumed

    # The noise is there: many prices moved, on events with no scenario.
    scenario_events = {event_of(scenario) for scenario in SCENARIOS}
    noise = [
        item
        for item in run.items
        if isinstance(item, OddsChange)
        and item.kind == "moved"
        and item.event_id not in scenario_events
    ]
    assert len(noise) > 200, len(noise)


def test_scenarios_need_the_per_serve_clock() -> None:
    with pytest.raises(ValueError, match="scenarios need moving data on the per-serve clock"):
        SimulatorConfig(moving=True, speed=60.0, scenarios=True)
    with pytest.raises(ValueError, match="scenarios need moving data"):
        SimulatorConfig(scenarios=True)
    assert SimulatorConfig.from_options({"moving": True, "scenarios": True}).scenarios
