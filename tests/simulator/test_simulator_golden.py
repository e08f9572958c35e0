"""The simulator's answers, pinned: the same seed and day give the same bytes, in every version.

The other determinism tests compare two simulators of one run with each other, so a change
that alters both alike (a refactoring that reorders keys, rounds a price differently, or
writes a date another way) passes them. Here the SHA-256 of the answers to a fixed script of
commands is written down. When a change to the data is meant, compute the new digests and
replace them in the same commit, saying why the data changed.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from kwiff_scrapy.protocol import socketio
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData, SimulatorConfig, moves, server

TODAY = datetime.date(2026, 1, 19)
FIXED_MS = 1_768_921_926_610
FOOTBALL, BASKETBALL = 11, 36


def fixed_clock() -> int:
    return FIXED_MS


def simulator(*, moving: bool, **options: Any) -> KwiffSimulator:
    """A simulator of the defaults but *options* on :data:`TODAY` (not started: no network)."""
    config = SimulatorConfig.from_options({"moving": moving, "today": TODAY, **options})
    data = SimulatedData(
        config.seed, football_events=config.football_events, clock=fixed_clock, today=TODAY
    )
    return KwiffSimulator(config, data=data)


def script(sim: KwiffSimulator) -> list[tuple[str, Any]]:
    """Lists of both sports, a few events (and one unknown), bet-builder groups, and errors."""
    football, basketball = sim.data.fixtures(FOOTBALL), sim.data.fixtures(BASKETBALL)
    events = [f.id for f in football[:: max(1, len(football) // 4)]] + [basketball[3].id, 1]
    outcomes = [o.id for market in football[1].markets for o in market.outcomes]
    other = football[2].markets[0].outcomes[0].id
    groups = [
        {"eventId": football[1].id, "outcomeIds": [outcomes[0], outcomes[5], outcomes[30]]},
        {"eventId": football[1].id, "outcomeIds": [outcomes[0], outcomes[1]]},  # one market
        {"outcomeIds": [outcomes[0], other]},  # two events
        {"outcomeIds": [1]},  # unknown
    ]
    return [
        ("event:list", {"listId": "default", "sportId": FOOTBALL, "country": "GB"}),
        ("event:list", {"listId": "default", "sportId": BASKETBALL, "country": "GB"}),
        *[("event:get", {"eventId": event_id}) for event_id in events],
        ("ticket:odds:get", {"betBuilderOutcomeGroups": groups}),
        ("event:get", {"eventId": "not a number"}),
        ("no:such:command", {}),
    ]


def digest(sim: KwiffSimulator, rounds: int) -> str:
    commands = script(sim)
    sha = hashlib.sha256()
    for _ in range(rounds):
        for message, payload in commands:
            sha.update(sim.answer_json(message, payload).encode())
            sha.update(b"\n")
    return sha.hexdigest()


def logs_digest(sim: KwiffSimulator) -> str:
    text = repr((sim.change_log(), sim.serve_log()))
    return hashlib.sha256(text.encode()).hexdigest()


CASES: dict[str, tuple[Callable[[], KwiffSimulator], int, str]] = {
    "still, defaults": (
        lambda: simulator(moving=False),
        1,
        "fb43bcb6f55038425f4dba9738ff20a8d9fef2372e17fc7014dce3cfa6321dea",
    ),
    "still, seed 7, 9 football events": (
        lambda: simulator(moving=False, seed=7, football_events=9),
        1,
        "9504fe2684848be16eca70b0ac689cff6b4ccd7757ac7016a24c6c69740140db",
    ),
    "moving, defaults, 12 rounds": (
        lambda: simulator(moving=True),
        12,
        "6fa92f7927d114ac586ac68a7277aaf86abe69385a1bb4e61580de7164f80095",
    ),
}

#: The digest of the change and serve logs of the moving case above. Changed when the
#: change log gained its ``scenario`` key (null here) and the serve log its answer's
#: ``timestamp``: the entries without them still give the digest before,
#: 8e54dd8d49ba685ca6c5c9a89d087596e9f20dedd022eaac2a436608a441d3d4.
MOVING_LOGS = "5e6a453865f11e2b23f16118e68c906b3d7d0bff9223decb0c2099398e942e72"


@pytest.mark.parametrize("case", CASES)
def test_the_answers_to_a_fixed_script_are_the_pinned_bytes(case: str) -> None:
    build, rounds, expected = CASES[case]
    assert digest(build(), rounds) == expected


def test_the_moving_logs_are_the_pinned_entries() -> None:
    sim = simulator(moving=True)
    digest(sim, 12)
    assert logs_digest(sim) == MOVING_LOGS


def test_the_defaults_are_the_pinned_data() -> None:
    """The default seed and size are part of the bytes: a config built with no options."""
    config = SimulatorConfig()
    assert (config.seed, config.football_events) == (2026, 111)
    assert SimulatedData(today=TODAY, clock=fixed_clock).events(FOOTBALL) == (
        simulator(moving=False).data.events(FOOTBALL)
    )


def test_the_simulator_writes_json_with_the_codecs_encoder() -> None:
    """One compact encoder for the wire: the simulator's answers cannot drift from the codec's."""
    assert moves.compact_json is server.compact_json is socketio.compact_json
