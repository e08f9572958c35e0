"""How the session's connection writes: frames of one loop turn leave in one write.

While the session has more than one command in flight, what the connection writes
during a loop turn is gathered and written at the end of it, in order; one command
at a time, the close frame and EOF are written at once, after anything gathered.
Each ``transport.write`` is a ``send`` system call: what is counted here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.client import ClientProtocol as WebSocketClient
from websockets.extensions import Extension
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.streams import StreamReader
from websockets.typing import ExtensionName
from websockets.uri import parse_uri

from kwiff_scrapy.connection.errors import SessionClosed
from kwiff_scrapy.connection.session import KwiffSession, SessionOptions
from kwiff_scrapy.websockets_internals import SessionConnection

OPEN = '0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":60000}'
COMMAND = re.compile(r"42(\d+)(.*)", re.DOTALL)


class Server:
    """A small Socket.IO server that records the ack ids of the commands, in order.

    It answers each command at once unless :attr:`answering` is cleared.
    """

    def __init__(self, *, echo: bool = False) -> None:
        self.received: list[int] = []
        self.answering = True
        #: Answer with the command frame as read (inflated) rather than its ack id.
        self.echo = echo
        self.url = ""

    async def handler(self, ws: ServerConnection) -> None:
        await ws.send(OPEN)
        await ws.send("40")
        async for message in ws:
            assert isinstance(message, str)
            matched = COMMAND.fullmatch(message)
            if matched:
                ack_id = int(matched[1])
                self.received.append(ack_id)
                if self.answering:
                    data = message if self.echo else ack_id
                    await ws.send(f"43{ack_id}" + json.dumps([{"data": data}]))


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    server = Server()
    async with serve(server.handler, "127.0.0.1", 0, compression="deflate") as running:
        port = running.sockets[0].getsockname()[1]
        server.url = f"ws://127.0.0.1:{port}/socket.io/?EIO=3&transport=websocket"
        yield server


class WriteRecorder:
    """Wraps a transport's ``write`` and ``write_eof`` and records their calls."""

    def __init__(self, transport: Any) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self._write = transport.write
        self._write_eof = transport.write_eof
        transport.write = self.write
        transport.write_eof = self.write_eof

    def write(self, data: bytes) -> None:
        self.calls.append(("write", bytes(data)))
        self._write(data)

    def write_eof(self) -> None:
        self.calls.append(("eof", b""))
        self._write_eof()

    @property
    def writes(self) -> int:
        return sum(kind == "write" for kind, _ in self.calls)


async def open_recorded(url: str) -> tuple[KwiffSession, WriteRecorder]:
    session = await KwiffSession.open(SessionOptions(endpoint=url))
    return session, WriteRecorder(session._ws.transport)


async def test_commands_sent_in_one_turn_leave_in_one_write_and_in_order(
    server: Server,
) -> None:
    session, recorder = await open_recorded(server.url)
    async with session:
        acks = await asyncio.gather(*(session.command("ticket:odds:get", {}) for _ in range(8)))
    assert [ack.args for ack in acks] == [[{"data": ack_id}] for ack_id in range(8)]
    assert server.received == list(range(8))
    # The first goes at once (nothing else in flight yet); the seven others together.
    frames = [frames_of(data) for kind, data in recorder.calls if kind == "write"]
    assert [len(written) for written in frames[:2]] == [1, 7]
    assert frames[2][0].opcode is Opcode.CLOSE  # the close, in a write of its own


async def test_one_command_at_a_time_is_written_at_once(server: Server) -> None:
    session, recorder = await open_recorded(server.url)
    async with session:
        for _ in range(3):
            writing = asyncio.ensure_future(session.command("ticket:odds:get", {}))
            await asyncio.sleep(0)  # the command's first step: it sends, no loop turn later
            assert recorder.writes == 1
            await writing
            recorder.calls.clear()
    assert server.received == [0, 1, 2]


async def test_close_writes_what_was_gathered_first(server: Server) -> None:
    server.answering = False
    session, recorder = await open_recorded(server.url)
    commands = [asyncio.ensure_future(session.command("ticket:odds:get", {})) for _ in range(5)]
    await asyncio.sleep(0)  # every command sent: the first written, the others gathered
    assert session._ws._gathered
    await session.close()  # in the same turn, before the gathered frames were flushed
    results = await asyncio.gather(*commands, return_exceptions=True)
    assert all(isinstance(result, SessionClosed) for result in results)
    calls = [(kind, [frame.opcode for frame in frames_of(data)]) for kind, data in recorder.calls]
    assert calls == [
        ("write", [Opcode.TEXT]),
        ("write", [Opcode.TEXT] * 4),
        ("write", [Opcode.CLOSE]),
        ("eof", []),  # when the server has closed its end
    ]
    assert server.received == list(range(5))


# -- the connection alone, on a transport that only records --------------------


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closing, "written after the transport closed"
        self.calls.append(("write", bytes(data)))

    def write_eof(self) -> None:
        self.calls.append(("eof", b""))

    def can_write_eof(self) -> bool:
        return True

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def open_connection(in_flight: list[int]) -> tuple[SessionConnection, FakeTransport]:
    protocol = WebSocketClient(parse_uri("ws://127.0.0.1/"))
    protocol.send_request(protocol.connect())  # the opening handshake, sans I/O
    peer = ServerProtocol()
    peer.receive_data(b"".join(protocol.data_to_send()))
    [request] = peer.events_received()
    assert isinstance(request, Request)
    peer.send_response(peer.accept(request))
    protocol.receive_data(b"".join(peer.data_to_send()))
    protocol.events_received()
    assert protocol.state is State.OPEN
    connection = SessionConnection(protocol, ping_interval=None, ping_timeout=None)
    transport = FakeTransport()
    connection.connection_made(transport)
    connection.attach(lambda message, binary: None, lambda: None, in_flight)
    return connection, transport


def send_text(connection: SessionConnection, text: bytes) -> None:
    """What ``send()`` does, short of waiting for the buffer to drain."""
    connection.protocol.send_text(text)
    connection.send_data()


def texts(calls: list[tuple[str, bytes]]) -> list[list[bytes]]:
    """The payloads of the frames of each write (``[]`` for EOF)."""
    return [[bytes(frame.data) for frame in frames_of(data)] for _, data in calls]


async def test_gathering_follows_the_commands_in_flight() -> None:
    in_flight = [0, 1]
    connection, transport = open_connection(in_flight)
    send_text(connection, b"a")
    send_text(connection, b"b")
    assert transport.calls == []
    await asyncio.sleep(0)
    assert texts(transport.calls) == [[b"a", b"b"]]
    send_text(connection, b"c")
    del in_flight[1:]  # one command left: written at once, after what was gathered
    send_text(connection, b"d")
    assert texts(transport.calls) == [[b"a", b"b"], [b"c"], [b"d"]]
    await asyncio.sleep(0)
    assert len(transport.calls) == 3  # nothing left for the end of the turn


async def test_eof_comes_after_what_was_gathered() -> None:
    connection, transport = open_connection([0, 1])
    send_text(connection, b"a")
    send_text(connection, b"b")
    connection.eof_received()  # the server ended the connection: the client sends EOF
    assert [kind for kind, _ in transport.calls] == ["write", "eof"]
    assert texts(transport.calls[:1]) == [[b"a", b"b"]]
    await asyncio.sleep(0)
    assert len(transport.calls) == 2


async def test_nothing_is_written_once_the_transport_is_closed() -> None:
    connection, transport = open_connection([0, 1])
    send_text(connection, b"a")
    transport.abort()  # e.g. no pong: the session aborts the connection
    await asyncio.sleep(0)
    assert transport.calls == []
    connection.connection_lost(None)
    assert not connection._gathered
    assert connection._flush is None


async def test_a_failed_write_at_the_end_of_the_turn_aborts_the_connection() -> None:
    connection, transport = open_connection([0, 1])

    def refuse(data: bytes | bytearray | memoryview) -> None:
        raise OSError("the socket refused")

    transport.write = refuse  # type: ignore[method-assign]
    send_text(connection, b"a")
    await asyncio.sleep(0)
    assert transport.closing
    assert isinstance(connection.connection_exc, OSError)


class AsSent:
    """An extension that leaves a frame as sent (compressed: ``rsv1`` set), only lets it pass."""

    name = ExtensionName("as-sent")

    def decode(self, frame: Frame, *, max_size: int | None = None) -> Frame:
        return dataclasses.replace(frame, rsv1=False)

    def encode(self, frame: Frame) -> Frame:
        return frame


def frames_of(data: bytes) -> list[Frame]:
    """The frames in what a client wrote (unmasked; payloads as sent, not inflated)."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames = []
    while not run(reader.at_eof()):
        parse = Frame.parse(reader.read_exact, mask=True, extensions=[cast(Extension, AsSent())])
        frames.append(run(parse))
    return frames


def run(generator: Any) -> Any:
    """Run a websockets generator-based parser on data already all there."""
    try:
        while True:
            next(generator)
    except StopIteration as done:
        return done.value


async def test_a_command_goes_straight_to_the_protocol_unless_send_must_wait() -> None:
    in_flight = [0]
    connection, transport = open_connection(in_flight)
    assert connection.send_text_at_once("a")
    assert texts(transport.calls) == [[b"a"]]
    in_flight.append(1)
    assert connection.send_text_at_once("b")
    assert connection.send_text_at_once("c")
    await asyncio.sleep(0)
    assert texts(transport.calls) == [[b"a"], [b"b", b"c"]]
    connection.pause_writing()  # the write buffer is full: send() waits for it to drain
    assert not connection.send_text_at_once("d")
    connection.resume_writing()
    transport.close()
    assert not connection.send_text_at_once("d")
    assert len(transport.calls) == 2


async def test_a_command_on_a_closing_connection_goes_the_way_of_send() -> None:
    connection, transport = open_connection([0])
    connection.protocol.send_close()
    connection.send_data()
    assert not connection.send_text_at_once("a")
    assert [frame.opcode for frame in frames_of(transport.calls[0][1])] == [Opcode.CLOSE]


async def test_a_failed_write_at_once_aborts_the_connection() -> None:
    connection, transport = open_connection([0])

    def refuse(data: bytes | bytearray | memoryview) -> None:
        raise OSError("the socket refused")

    transport.write = refuse  # type: ignore[method-assign]
    assert connection.send_text_at_once("a")  # sent as far as the command knows: it then
    assert transport.closing  # fails with the connection, as every waiting command does
    assert isinstance(connection.connection_exc, OSError)


async def test_a_long_burst_leaves_in_writes_of_at_most_the_gather_limit() -> None:
    connection, transport = open_connection([0, 1])
    connection.gather_limit = 3
    for text in (b"a", b"b", b"c", b"d", b"e", b"f", b"g"):
        send_text(connection, text)
    assert texts(transport.calls) == [[b"a", b"b", b"c"], [b"d", b"e", b"f"]]
    await asyncio.sleep(0)
    assert texts(transport.calls) == [[b"a", b"b", b"c"], [b"d", b"e", b"f"], [b"g"]]


async def test_a_command_failed_while_its_send_waits_leaves_no_unread_failure(
    server: Server,
) -> None:
    """The connection is closing (a close frame has left), so the command waits in
    ``send()`` for the end; at the end the session fails the command's future, and
    ``send()`` raises. The command raises ``ConnectionLost``, and the future's failure
    is read: otherwise it is logged as "Future exception was never retrieved" when the
    future is collected (at the end of a pytest run on Python 3.11, inside pytest's own
    ``ast.parse``, which that log's traceback re-enters: a SystemError)."""
    from kwiff_scrapy.connection.errors import ConnectionLost

    session = await KwiffSession.open(SessionOptions(endpoint=server.url))
    async with session:
        session._ws.protocol.send_close()  # as when the server said goodbye: CLOSING
        session._ws.send_data()
        command = asyncio.ensure_future(session.command("ticket:odds:get", {}))
        await asyncio.sleep(0)
        (future,) = session._waiting.values()  # sent, waiting in send() for the end
        with pytest.raises(ConnectionLost):
            await command
    # Read by the command: asyncio's flag for "log it when collected" is off (checked
    # first: reading the exception here would turn it off).
    assert future._log_traceback is False  # type: ignore[attr-defined]
    assert future.exception() is session._failure  # the session failed it
