"""The asyncio session against the simulator on loopback (no Scrapy involved)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import pytest

from kwiff_scrapy.connection.errors import (
    ConnectFailed,
    ConnectionLost,
    HandshakeRefused,
    SessionClosed,
)
from kwiff_scrapy.connection.session import KwiffSession, SessionOptions
from kwiff_scrapy.protocol import AckReceived
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData
from kwiff_scrapy.simulator.server import ERROR_MESSAGE, UNKNOWN_ACK_OFFSET

from ..conftest import StartSimulator
from ..support.processes import closed_port
from ..support.waiting import guarded

EVENT_IDS = [event["id"] for event in SimulatedData().events(11, "GB")]


class Recorder:
    def __init__(self) -> None:
        self.stats: Counter[str] = Counter()
        self.events: list[tuple[str, list[Any]]] = []
        self._counted = asyncio.Event()

    def stat(self, key: str, count: int) -> None:
        self.stats[key] += count
        self._counted.set()

    def event(self, name: str, args: list[Any]) -> None:
        self.events.append((name, args))

    async def until(self, key: str, count: int) -> None:
        """Wait until the session has counted *count* of *key* (checked at each count)."""

        async def counted() -> None:
            while self.stats[key] < count:
                self._counted.clear()
                await self._counted.wait()

        await guarded(counted(), f"the session counting {count} {key}")


async def open_session(
    simulator: KwiffSimulator, recorder: Recorder | None = None, **options: Any
) -> KwiffSession:
    recorder = recorder or Recorder()
    return await KwiffSession.open(
        SessionOptions(endpoint=simulator.url, **options),
        on_stat=recorder.stat,
        on_event=recorder.event,
    )


@pytest.mark.parametrize("event_before_connect", [True, False])
async def test_ready_after_open_and_connect_in_either_order(
    start_simulator: StartSimulator, event_before_connect: bool
) -> None:
    simulator = await start_simulator(event_before_connect=event_before_connect)
    recorder = Recorder()
    async with await open_session(simulator, recorder) as session:
        assert not session.closed
        ack = await session.command(
            "event:list", {"listId": "default", "sportId": 11, "country": "GB"}
        )
    assert isinstance(ack, AckReceived)
    assert recorder.stats["connections_opened"] == 1
    assert recorder.stats["connections_closed"] == 1  # once, when the session closed
    events = ack.args[0]["data"]["events"]
    assert [e["id"] for e in events] == [e["id"] for e in SimulatedData().events(11, "GB")]
    assert ack.raw_args.startswith("[{")
    assert recorder.stats["bytes_received"] > 1_048_576  # the 111-event frame is over 1 MiB
    # The unsolicited `response` event of the opening sequence reached the callback.
    assert [name for name, _ in recorder.events] == ["response"]
    assert recorder.stats["unsolicited_events"] == 1


async def test_many_commands_in_flight_each_get_their_own_ack(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(response_delay=0.2)
    ids = [e["id"] for e in SimulatedData().events(11, "GB")[:30]]
    recorder = Recorder()
    async with await open_session(simulator, recorder) as session:
        acks = await asyncio.gather(*(session.command("event:get", {"eventId": i}) for i in ids))
    assert [ack.args[0]["data"]["result"]["id"] for ack in acks] == ids
    assert len({ack.ack_id for ack in acks}) == len(ids)
    assert recorder.stats["connections_opened"] == 1
    assert recorder.stats["commands_sent"] == recorder.stats["acks_received"] == len(ids)
    assert simulator.connections == 1


async def test_heartbeat_keeps_an_answering_connection_alive(
    start_simulator: StartSimulator,
) -> None:
    # Pings often; a pong has all the time a loaded machine may need (not a speed test).
    simulator = await start_simulator(ping_interval_ms=50, ping_timeout_ms=10_000)
    async with await open_session(simulator) as session:
        # The client pings again only once the last ping's pong came: three pings, two rounds.
        await guarded(
            simulator.wait_until(lambda: simulator.pings_received >= 3 or session.closed),
            "a third ping",
        )
        assert not session.closed
        ack = await session.command("event:get", {"eventId": 1})  # no such event
        assert ack.args[0] == {"timestamp": ack.args[0]["timestamp"], "data": {"result": None}}


async def test_no_pong_marks_the_connection_dead_and_fails_waiting_commands(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(
        ping_interval_ms=50, ping_timeout_ms=150, answer_pings=False, silent=True
    )
    session = await open_session(simulator)
    try:
        async with asyncio.timeout(5):  # far longer than ping interval + timeout
            with pytest.raises(ConnectionLost, match="no pong"):
                await session.command("event:list", {"sportId": 11})
        assert session.closed
    finally:
        await session.close()


async def test_a_dropped_connection_fails_every_waiting_command_at_once(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(drop_after=3)
    simulator.hold_answers()  # no command can end but by the drop
    session = await open_session(simulator)
    try:
        results = await guarded(
            asyncio.gather(
                *(session.command("event:get", {"eventId": i}) for i in range(3)),
                return_exceptions=True,
            ),
            "the commands failing with the dropped connection",
        )
        assert all(isinstance(r, ConnectionLost) for r in results), results
        assert session.closed
        with pytest.raises(SessionClosed):
            await session.command("event:get", {"eventId": 1})
    finally:
        await session.close()


async def test_malformed_frames_are_counted_and_skipped(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(garbage_frame=True)
    recorder = Recorder()
    async with await open_session(simulator, recorder) as session:
        acks = [await session.command("event:get", {"eventId": i}) for i in range(3)]
    assert len(acks) == 3
    assert recorder.stats["malformed_frames"] == 3


async def test_an_ack_after_its_command_gave_up_is_counted_as_late(
    start_simulator: StartSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    simulator = await start_simulator()
    simulator.hold_answers()  # until the first command has given up
    recorder = Recorder()
    first, second = EVENT_IDS[:2]
    with caplog.at_level(logging.DEBUG, logger="kwiff_scrapy.connection.session"):
        async with await open_session(simulator, recorder) as session:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await session.command("event:get", {"eventId": first})
            # The first command's ack comes late and must not answer this one.
            answering = asyncio.create_task(session.command("event:get", {"eventId": second}))
            await guarded(
                simulator.wait_until(lambda: simulator.commands_received == 2), "the second command"
            )
            simulator.release_answers()
            answered = await guarded(answering, "the second command's answer")
            await recorder.until("acks_late", 1)
    assert (answered.ack_id, answered.args[0]["data"]["result"]["id"]) == (1, second)
    assert recorder.stats["acks_late"] == 1
    assert recorder.stats["acks_received"] == 1
    assert "Dropped the late ack 0 (its command had given up)" in caplog.messages


async def test_handshake_without_user_agent_is_refused_with_403(simulator: KwiffSimulator) -> None:
    with pytest.raises(HandshakeRefused) as caught:
        await open_session(simulator, user_agent="")
    assert caught.value.status == 403
    assert "Cookie uuid must equal the identifier" in str(caught.value)
    assert simulator.handshakes_refused == 1


async def test_refused_connection_is_a_connect_failure() -> None:
    with closed_port() as port:
        options = SessionOptions(endpoint=f"ws://127.0.0.1:{port}/socket.io/", open_timeout=5)
        with pytest.raises(ConnectFailed) as caught:
            await KwiffSession.open(options)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


async def test_a_frame_over_the_size_limit_ends_the_session_with_a_clear_reason(
    simulator: KwiffSimulator,
) -> None:
    session = await open_session(simulator, max_frame_size=100_000)
    try:
        with pytest.raises(ConnectionLost, match="DOWNLOAD_MAXSIZE"):
            await session.command(
                "event:list", {"listId": "default", "sportId": 11, "country": "GB"}
            )
    finally:
        await session.close()


async def test_close_fails_waiting_commands_and_leaves_no_tasks(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(silent=True)
    recorder = Recorder()
    session = await open_session(simulator, recorder)
    waiting = asyncio.create_task(session.command("event:get", {"eventId": 1}))
    await recorder.until("commands_sent", 1)  # sent: now it waits for its ack
    await session.close()
    with pytest.raises(SessionClosed):
        await waiting
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("kwiff-session")] == []


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("error_packet_after", f"Socket.IO ERROR packet: {ERROR_MESSAGE!r}"),
        ("close_packet_after", "Engine.IO close packet"),
    ],
)
async def test_an_error_or_close_packet_fails_every_waiting_command_at_once(
    start_simulator: StartSimulator, fault: str, reason: str
) -> None:
    # Commands 1 and 2 wait (their answers are far off) when command 3 brings the
    # packet; after an ERROR the server stays open and silent, so only the packet
    # itself can end them.
    simulator = await start_simulator(**{fault: 3}, response_delay=60)
    session = await open_session(simulator)
    try:
        results = await asyncio.gather(
            *(session.command("event:get", {"eventId": i}) for i in EVENT_IDS[:3]),
            return_exceptions=True,
        )
        assert [type(r) for r in results] == [ConnectionLost] * 3, results
        assert all(reason in str(r) for r in results), results
        assert session.closed
        assert session.in_flight == 0
    finally:
        await session.close()


@pytest.mark.parametrize(
    ("fault", "stat", "message"),
    [
        ("duplicate_ack", "acks_duplicate", "Dropped a second ack for command {id}"),
        (
            "unknown_ack",
            "acks_unknown",
            'Dropped an ack with an unknown id {unknown}: \'[{{"timestamp":',
        ),
    ],
)
async def test_unexpected_acks_are_counted_logged_and_dropped(
    start_simulator: StartSimulator,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    stat: str,
    message: str,
) -> None:
    simulator = await start_simulator(**{fault: True})
    recorder = Recorder()
    with caplog.at_level(logging.WARNING, logger="kwiff_scrapy.connection.session"):
        async with await open_session(simulator, recorder) as session:
            acks = [await session.command("event:get", {"eventId": i}) for i in EVENT_IDS[:3]]
            await recorder.until(stat, 3)  # the last duplicate follows its answer
    assert [ack.ack_id for ack in acks] == [0, 1, 2]
    assert [ack.args[0]["data"]["result"]["id"] for ack in acks] == EVENT_IDS[:3]
    assert recorder.stats["acks_received"] == 3
    assert recorder.stats[stat] == 3
    for ack_id in range(3):
        expected = message.format(id=ack_id, unknown=UNKNOWN_ACK_OFFSET + ack_id)
        assert any(m.startswith(expected) for m in caplog.messages), (expected, caplog.messages)


async def test_hooks_may_be_none(simulator: KwiffSimulator) -> None:
    options = SessionOptions(endpoint=simulator.url)
    async with await KwiffSession.open(options, on_stat=None, on_event=None) as session:
        ack = await session.command("event:get", {"eventId": EVENT_IDS[0]})
    assert ack.args[0]["data"]["result"]["id"] == EVENT_IDS[0]


async def test_at_most_max_in_flight_commands_wait_at_once_the_others_in_turn(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(response_delay=0.05)
    async with await open_session(simulator, max_in_flight=2) as session:
        acks = await asyncio.gather(
            *(session.command("event:get", {"eventId": i}) for i in EVENT_IDS[:6])
        )
        assert session.in_flight == 0
    # First come, first served: the ack ids follow the order of the calls.
    assert [ack.ack_id for ack in acks] == list(range(6))
    assert [ack.args[0]["data"]["result"]["id"] for ack in acks] == EVENT_IDS[:6]
    assert simulator.max_in_flight_seen == 2


async def test_a_command_cancelled_while_waiting_for_a_slot_takes_none(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(response_delay=0.05)
    recorder = Recorder()
    async with await open_session(simulator, recorder, max_in_flight=1) as session:
        first = asyncio.create_task(session.command("event:get", {"eventId": EVENT_IDS[0]}))
        await recorder.until("commands_sent", 1)
        waiting = asyncio.create_task(session.command("event:get", {"eventId": EVENT_IDS[1]}))
        await asyncio.sleep(0)  # it waits for the slot the first holds
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        third = await session.command("event:get", {"eventId": EVENT_IDS[2]})
        assert (await first).ack_id == 0
        assert third.ack_id == 1  # the cancelled command never sent anything
        # Three more in turn: the slot was not lost.
        acks = await asyncio.gather(
            *(session.command("event:get", {"eventId": i}) for i in EVENT_IDS[:3])
        )
    assert [ack.ack_id for ack in acks] == [2, 3, 4]
    assert simulator.max_in_flight_seen == 1


async def test_a_command_handed_a_slot_as_it_is_cancelled_passes_the_slot_on(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(silent=True)
    recorder = Recorder()
    async with await open_session(simulator, recorder, max_in_flight=1) as session:
        first = asyncio.create_task(session.command("event:get", {"eventId": 1}))
        await recorder.until("commands_sent", 1)
        waiting = asyncio.create_task(session.command("event:get", {"eventId": 2}))
        await asyncio.sleep(0)  # it waits for the slot the first holds
        first.cancel()
        await asyncio.sleep(0)  # the first ends and hands its slot to the waiting command...
        waiting.cancel()  # ...which is cancelled before it could use it
        for task in (first, waiting):
            with pytest.raises(asyncio.CancelledError):
                await task
        third = asyncio.create_task(session.command("event:get", {"eventId": 3}))
        await recorder.until("commands_sent", 2)  # the slot was passed on, not lost
        assert session.in_flight == 1
        third.cancel()
    assert recorder.stats["commands_sent"] == 2
