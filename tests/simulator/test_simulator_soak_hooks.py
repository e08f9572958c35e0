"""What a long run needs of the simulator: dropping every connection on request (SIGUSR1 on
the command line), and each serve-log entry stamped with its answer's timestamp, which a
history's ``fetched_at`` carries (bench/soak_watch.py matches the two)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys

import pytest
from websockets.exceptions import ConnectionClosedError

from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData, SimulatorConfig
from kwiff_scrapy.simulator.moves import SERVE_FIELDS

from ..support.waiting import guarded
from .test_simulator import (
    REPO_ROOT,
    ask,
    browser_session,
    command_frame,
    receive,
    session,
)
from .test_simulator_clock import MINUTE_MS, ORIGIN_MS, list_payload
from .test_simulator_moves import TODAY

HANG_GUARD = 10.0


async def test_drop_connections_aborts_every_session_and_the_server_carries_on() -> None:
    config = SimulatorConfig(response_delay=5.0)  # the second command stays in flight
    async with KwiffSimulator(config) as sim:
        async with session(sim) as one, session(sim) as two:
            await one.send(command_frame(1, "event:get", {"eventId": 1}))
            await sim.wait_until(lambda: sim.commands_received == 1)
            assert sim.drop_connections() == 2
            for ws in (one, two):
                with pytest.raises(ConnectionClosedError) as caught:
                    await receive(ws)
                assert caught.value.rcvd is None  # no close frame: an aborted TCP connection
        assert sim.dropped_in_flight == 1  # the command never answered
        await sim.wait_until(lambda: sim.active_connections == 0)
    async with KwiffSimulator() as sim:
        assert sim.drop_connections() == 0
        async with session(sim) as again:  # nothing to drop; new sessions are served
            assert (await ask(again, 1, "event:get", {"eventId": 1})).ack_id == 1


async def test_sigusr1_drops_the_command_lines_connections_and_it_goes_on_serving() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kwiff_scrapy.simulator", "--port", "0", "-v",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = await guarded(process.stdout.readline(), "its first line", guard=HANG_GUARD)
        line = first.decode()
        match = re.fullmatch(r"Kwiff simulator listening on (\S+)\n", line)
        assert match, line
        async with browser_session(match[1]) as ws:
            assert (await ask(ws, 1, "event:get", {"eventId": 1})).ack_id == 1
            process.send_signal(signal.SIGUSR1)
            with pytest.raises(ConnectionClosedError) as caught:
                await guarded(receive(ws), "the drop on SIGUSR1", guard=HANG_GUARD)
            assert caught.value.rcvd is None
        async with browser_session(match[1]) as ws:  # still serving
            assert (await ask(ws, 1, "event:get", {"eventId": 1})).ack_id == 1
    finally:
        if process.returncode is None:
            process.terminate()
        _, stderr = await guarded(process.communicate(), "its end", guard=HANG_GUARD)
    assert process.returncode == 0, stderr.decode()
    assert "dropped 1 connection(s) on request" in stderr.decode()


class TickingClock:
    """A wall clock that moves on a minute each time it is read: any two reads during one
    answer would tell different steps."""

    def __init__(self) -> None:
        self.ms = ORIGIN_MS + 30 * MINUTE_MS

    def __call__(self) -> int:
        self.ms += MINUTE_MS
        return self.ms


def test_each_serve_carries_its_answers_timestamp_and_shows_that_times_step() -> None:
    clock = TickingClock()
    data = SimulatedData(football_events=10, clock=clock, today=TODAY)
    config = SimulatorConfig(moving=True, speed=1.0, football_events=10, today=TODAY)
    sim = KwiffSimulator(config, data=data)
    answers = [json.loads(sim.answer_json("event:list", list_payload())) for _ in range(3)]
    first_id = answers[0]["data"]["events"][0]["id"]
    answers.append(json.loads(sim.answer_json("event:get", {"eventId": first_id})))
    serves = sim.serve_log()
    assert all(tuple(entry) == SERVE_FIELDS for entry in serves)
    for number, answer in enumerate(answers, start=1):
        entries = [entry for entry in serves if entry["answer"] == number]
        assert entries
        assert {entry["timestamp"] for entry in entries} == {answer["timestamp"]}
        # The first events joined at step 0: the step each shows is its timestamp's minute.
        minute = (answer["timestamp"] - ORIGIN_MS) // MINUTE_MS
        assert entries[0]["step"] == minute
    assert len({answer["timestamp"] for answer in answers}) == 4
