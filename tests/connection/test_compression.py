"""Commands under 1 KiB leave uncompressed; larger ones, and everything received, deflated.

RFC 7692 lets either end send a message uncompressed (RSV1 clear) once
permessage-deflate is negotiated; the server must read both kinds, in any order,
with the compressor's context carried across the uncompressed ones.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)
from websockets.frames import Frame, Opcode

from kwiff_scrapy.connection.compression import (
    UNCOMPRESSED_BELOW,
    ClientDeflateFactory,
    SmallMessagesUncompressed,
)
from kwiff_scrapy.connection.session import KwiffSession, SessionOptions

from .test_session_writes import Server, WriteRecorder, frames_of


@pytest.fixture
async def echo_url() -> AsyncIterator[str]:
    """A server answering each command with the frame it read (inflated by websockets)."""
    server = Server(echo=True)
    async with serve(server.handler, "127.0.0.1", 0, compression="deflate") as running:
        port = running.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/socket.io/?EIO=3&transport=websocket"


def padded(size: int) -> dict[str, str]:
    """A payload whose command frame is at least *size* bytes, and compresses well."""
    return {"pad": "odds " * (size // 5)}


async def test_small_commands_leave_uncompressed_large_ones_deflated(echo_url: str) -> None:
    session = await KwiffSession.open(SessionOptions(endpoint=echo_url))
    recorder = WriteRecorder(session._ws.transport)
    payloads = [{"eventId": 1}, padded(4 * UNCOMPRESSED_BELOW), {"eventId": 2}, padded(3000)]
    async with session:
        acks = [await session.command("event:get", payload) for payload in payloads]
    # The server read every command whole: small and large, in turn, context carried over.
    for payload, ack in zip(payloads, acks, strict=True):
        assert json.dumps(payload, separators=(",", ":")) in ack.args[0]["data"]
    # One command at a time: one frame per write. RSV1 (0x40 of the first byte) marks
    # a compressed message.
    writes = [data for kind, data in recorder.calls if kind == "write"]
    commands = [data for data in writes if data[0] & 0x0F == Opcode.TEXT]
    assert [bool(data[0] & 0x40) for data in commands] == [False, True, False, True]
    assert len(commands[1]) < UNCOMPRESSED_BELOW  # 4 KiB of padding, deflated
    assert b'"payload":{"eventId":1}' in frames_of(commands[0])[0].data  # as it is


async def test_the_offer_is_websockets_own_deflate_offer(echo_url: str) -> None:
    ours = ClientDeflateFactory().get_request_params()
    websockets_default = ClientPerMessageDeflateFactory(compress_settings={"memLevel": 5})
    assert ours == websockets_default.get_request_params()
    session = await KwiffSession.open(SessionOptions(endpoint=echo_url))
    async with session:
        (extension,) = session._ws.protocol.extensions
        assert isinstance(extension, SmallMessagesUncompressed)


def test_control_frames_and_fragmented_messages_are_encoded_as_before() -> None:
    ours = SmallMessagesUncompressed(False, False, 15, 15)
    reference = PerMessageDeflate(False, False, 15, 15)
    ping = Frame(Opcode.PING, b"2")
    assert ours.encode(ping) is ping
    # A message in fragments is compressed from its first (small) frame on.
    fragments = [Frame(Opcode.TEXT, b"42", fin=False), Frame(Opcode.CONT, b"0[]", fin=True)]
    assert [ours.encode(f) for f in fragments] == [reference.encode(f) for f in fragments]
    assert ours.encode(Frame(Opcode.TEXT, b"x" * (UNCOMPRESSED_BELOW - 1))).rsv1 is False
    assert ours.encode(Frame(Opcode.BINARY, b"x" * UNCOMPRESSED_BELOW)).rsv1 is True


def test_an_uncompressed_message_leaves_the_compressor_context_as_it_was() -> None:
    ours = SmallMessagesUncompressed(False, False, 15, 15)
    decoder = zlib.decompressobj(wbits=-15)
    texts = [b"a" * 2000, b"small", b"a" * 2000 + b"b" * 10, b"also small"]
    for text in texts:
        frame = ours.encode(Frame(Opcode.TEXT, text))
        if frame.rsv1:
            assert decoder.decompress(frame.data + b"\x00\x00\xff\xff") == text
        else:
            assert frame.data == text
