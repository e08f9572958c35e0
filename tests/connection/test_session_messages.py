"""How messages reach the session: straight from the connection, whole and in order.

Against a small hand-written Socket.IO server on ``websockets`` that can send what
the simulator never does (fragmented messages, a close packet right after an ack).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from websockets.asyncio.messages import MAX_FRAGMENTS
from websockets.asyncio.server import ServerConnection, serve
from websockets.client import ClientProtocol as WebSocketClient
from websockets.datastructures import Headers
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from kwiff_scrapy.connection.errors import ConnectionLost
from kwiff_scrapy.connection.session import KwiffSession, SessionOptions
from kwiff_scrapy.protocol import AckReceived
from kwiff_scrapy.websockets_internals import SessionConnection

OPEN = '0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":60000}'
COMMAND = re.compile(r"42(\d+)(.*)", re.DOTALL)

Reply = Callable[[ServerConnection, int, list[object]], Awaitable[None]]


def answer(ack_id: int, envelope: object) -> str:
    return f"43{ack_id}" + json.dumps([{"data": envelope}], separators=(",", ":"))


async def fragmented(ws: ServerConnection, ack_id: int, args: list[object]) -> None:
    """The ack in three fragments, the first cutting the ack id in two."""
    frame = answer(ack_id, args[1])
    await ws.send([frame[:3], frame[3:10], frame[10:]])


async def too_many_fragments(ws: ServerConnection, ack_id: int, args: list[object]) -> None:
    await ws.send(["4"] + ["0"] * MAX_FRAGMENTS)


async def first_then_close(ws: ServerConnection, ack_id: int, args: list[object]) -> None:
    """Only the first command is answered, by its ack, a close packet and the end at once."""
    if ack_id == 0:
        await ws.send(answer(ack_id, args[1]))
        await ws.send("1")
        await ws.close()


@pytest.fixture
async def serve_socketio() -> AsyncIterator[Callable[[Reply], Awaitable[str]]]:
    servers = []

    async def start(reply: Reply) -> str:
        async def handler(ws: ServerConnection) -> None:
            await ws.send([OPEN])  # a one-fragment message: one frame with fin set
            await ws.send("40")
            async for message in ws:
                assert isinstance(message, str)
                matched = COMMAND.fullmatch(message)
                if matched:
                    await reply(ws, int(matched[1]), json.loads(matched[2]))

        server = await serve(handler, "127.0.0.1", 0, compression="deflate")
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/socket.io/?EIO=3&transport=websocket"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def open_session(url: str) -> KwiffSession:
    return await KwiffSession.open(SessionOptions(endpoint=url, origin=""))


async def test_a_fragmented_ack_is_joined_before_it_is_read(
    serve_socketio: Callable[[Reply], Awaitable[str]],
) -> None:
    url = await serve_socketio(fragmented)
    async with await open_session(url) as session:
        acks = await asyncio.gather(*(session.command("echo", {"n": n}) for n in range(12)))
    assert [ack.args[0]["data"]["payload"] for ack in acks] == [{"n": n} for n in range(12)]


async def test_the_messages_before_the_end_are_read_before_it(
    serve_socketio: Callable[[Reply], Awaitable[str]],
) -> None:
    url = await serve_socketio(first_then_close)
    session = await open_session(url)
    try:
        first, second = await asyncio.gather(
            session.command("echo", {"n": 1}),
            session.command("echo", {"n": 2}),
            return_exceptions=True,
        )
        assert isinstance(first, AckReceived)
        assert first.args[0]["data"]["payload"] == {"n": 1}
        # Failed by the close packet, not by the end of the connection that followed it.
        assert isinstance(second, ConnectionLost)
        assert "Engine.IO close packet" in str(second)
    finally:
        await session.close()
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("kwiff-session")] == []


async def test_the_connection_keeps_early_messages_and_joins_fragments() -> None:
    # No network: frames as websockets' protocol hands them to the connection.
    connection = SessionConnection(WebSocketClient(parse_uri("ws://127.0.0.1/")))
    connection.response = Response(101, "Switching Protocols", Headers())
    received: list[tuple[bytes, bool]] = []
    connection.process_event(Frame(Opcode.TEXT, b"0{}"))  # before the session attaches
    connection.process_event(Frame(Opcode.TEXT, b"4", fin=False))
    connection.process_event(Frame(Opcode.CONT, b"0"))
    connection.attach(lambda message, binary: received.append((message, binary)), lambda: None)
    assert received == [(b"0{}", False), (b"40", False)]
    connection.process_event(Frame(Opcode.BINARY, b"\x04", fin=False))
    connection.process_event(Frame(Opcode.CONT, bytearray(b"b"), fin=False))
    connection.process_event(Frame(Opcode.CONT, memoryview(b"in")))
    connection.process_event(Frame(Opcode.TEXT, b"430[]"))
    assert received[2:] == [(b"\x04bin", True), (b"430[]", False)]
    assert all(type(message) is bytes for message, _ in received)


async def test_a_message_of_too_many_fragments_ends_the_session_as_recv_would(
    serve_socketio: Callable[[Reply], Awaitable[str]],
) -> None:
    url = await serve_socketio(too_many_fragments)
    session = await open_session(url)
    try:
        with pytest.raises(ConnectionLost, match="frame size limit"):
            await session.command("echo", {})
    finally:
        await session.close()
