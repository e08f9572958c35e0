"""What the package assumes of websockets' and Scrapy's internals, checked.

Two modules lean on names a library does not publish, and list them at their top:
``websockets_internals.py`` (written against websockets 17.4) and
``integration/scrapy_internals.py`` (written against Scrapy 2.19.0);
``connection/compression.py`` reads ``PerMessageDeflate``'s attributes. Each test here
checks one of those names (that it exists, with the signature used) or the
behaviour relied on, and fails the day a release changes it. The last tests check
that no other module uses those names: the fences stay the only places to look.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import scrapy
import websockets
from scrapy.http import TextResponse
from scrapy.http.response import text as scrapy_text_response
from scrapy.statscollectors import MemoryStatsCollector, StatsCollector
from scrapy.utils.test import get_crawler
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import Connection
from websockets.asyncio.messages import MAX_FRAGMENTS
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosedError
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from kwiff_scrapy.integration.http import KwiffRequest, KwiffResponse
from kwiff_scrapy.integration.scrapy_internals import (
    NOT_DECODED,
    cache_decoded_json,
    decoded_json,
    stats_incrementer,
)
from kwiff_scrapy.websockets_internals import SessionConnection, abort_connection

from .support.waiting import guarded, until

WEBSOCKETS_WRITTEN_AGAINST = "17.4"
SCRAPY_WRITTEN_AGAINST = "2.19.0"

#: A deadline for what the event loop does on its own, not a measure of time.
HANG_GUARD = 10.0

PACKAGE = Path(__file__).resolve().parents[1] / "kwiff_scrapy"
WEBSOCKETS_FENCE = PACKAGE / "websockets_internals.py"
SCRAPY_FENCE = PACKAGE / "integration" / "scrapy_internals.py"


def websockets_changed(what: str) -> str:
    return (
        f"websockets {websockets.__version__} changed {what} (written against "
        f"{WEBSOCKETS_WRITTEN_AGAINST}): see {WEBSOCKETS_FENCE.relative_to(PACKAGE.parent)}"
    )


def scrapy_changed(what: str) -> str:
    return (
        f"Scrapy {scrapy.__version__} changed {what} (written against "
        f"{SCRAPY_WRITTEN_AGAINST}): see {SCRAPY_FENCE.relative_to(PACKAGE.parent)}"
    )


def parameters(function: Callable[..., Any]) -> list[tuple[str, object]]:
    """The names of *function*'s parameters, each with its default (``EMPTY`` if none)."""
    return [(p.name, p.default) for p in inspect.signature(function).parameters.values()]


EMPTY = inspect.Parameter.empty


# -- websockets: a connection on a transport that only records -------------------------


class RecordingTransport(asyncio.Transport):
    """Keeps what is written; ``wait_for_writes(n)`` returns once *n* writes were made."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.aborted = False
        self._written = asyncio.Event()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))
        self._written.set()

    async def wait_for_writes(self, count: int) -> None:
        await until(
            lambda: len(self.writes) >= count,
            f"{count} write(s) to the transport",
            changed=self._written,
            guard=HANG_GUARD,
        )

    def write_eof(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return True

    def is_closing(self) -> bool:
        return self.aborted

    def close(self) -> None:
        self.aborted = True

    def abort(self) -> None:
        self.aborted = True

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


C = TypeVar("C", bound=ClientConnection)


def open_connection(cls: type[C]) -> tuple[C, RecordingTransport, ServerProtocol]:
    """An open connection of *cls*, its transport, and the server's end (all sans network)."""
    client = ClientProtocol(parse_uri("ws://127.0.0.1/"))
    client.send_request(client.connect())
    server = ServerProtocol()
    server.receive_data(b"".join(client.data_to_send()))
    [request] = server.events_received()
    assert isinstance(request, Request)
    server.send_response(server.accept(request))
    client.receive_data(b"".join(server.data_to_send()))
    [response] = client.events_received()
    assert isinstance(response, Response)
    connection = cls(client, ping_interval=None, ping_timeout=None)
    connection.response = response  # what ClientConnection.process_event would have kept
    transport = RecordingTransport()
    connection.connection_made(transport)
    return connection, transport, server


def frames_sent(server: ServerProtocol, transport: RecordingTransport) -> list[Frame]:
    """The frames the client wrote, read by the server's end."""
    server.receive_data(b"".join(transport.writes))
    transport.writes.clear()
    events = server.events_received()
    assert all(isinstance(event, Frame) for event in events)
    return [event for event in events if isinstance(event, Frame)]


def from_server(server: ServerProtocol) -> bytes:
    return b"".join(server.data_to_send())


# -- websockets: names and signatures ----------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "name", "expected"),
    [
        # Overridden by SessionConnection.
        (Connection, "process_event", [("self", EMPTY), ("event", EMPTY)]),
        (ClientConnection, "process_event", [("self", EMPTY), ("event", EMPTY)]),
        (Connection, "send_data", [("self", EMPTY)]),
        (Connection, "connection_lost", [("self", EMPTY), ("exc", EMPTY)]),
        # Called by it.
        (Connection, "set_connection_exc", [("self", EMPTY), ("exc", EMPTY)]),
        (Protocol, "send_text", [("self", EMPTY), ("data", EMPTY), ("fin", True)]),
        (Protocol, "data_to_send", [("self", EMPTY)]),
        (Protocol, "fail", [("self", EMPTY), ("code", EMPTY), ("reason", "")]),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_websockets_keeps_each_method_relied_on_with_its_signature(
    owner: type, name: str, expected: list[tuple[str, object]]
) -> None:
    method = getattr(owner, name, None)
    assert method is not None, websockets_changed(f"{owner.__name__}.{name}: it is gone")
    assert parameters(method) == expected, websockets_changed(
        f"{owner.__name__}.{name}'s signature"
    )


def test_websockets_close_exc_is_a_property_of_the_connection() -> None:
    assert isinstance(inspect.getattr_static(Connection, "close_exc", None), property), (
        websockets_changed("Connection.close_exc")
    )


async def test_websockets_connection_has_the_attributes_relied_on() -> None:
    connection, transport, _ = open_connection(SessionConnection)
    assert connection.send_in_progress is None, websockets_changed("Connection.send_in_progress")
    assert connection.paused is False, websockets_changed("Connection.paused")
    assert connection.transport is transport, websockets_changed("Connection.transport")
    assert connection.loop is asyncio.get_running_loop(), websockets_changed("Connection.loop")
    assert isinstance(connection.protocol, ClientProtocol), websockets_changed(
        "Connection.protocol"
    )
    assert connection.protocol.state is State.OPEN, websockets_changed("Protocol.state")
    assert isinstance(MAX_FRAGMENTS, int), websockets_changed("messages.MAX_FRAGMENTS")
    assert MAX_FRAGMENTS >= 1, websockets_changed("messages.MAX_FRAGMENTS")


# -- websockets: the behaviour relied on -------------------------------------------------


async def test_websockets_hands_every_received_frame_to_process_event() -> None:
    connection, transport, server = open_connection(SessionConnection)
    received: list[tuple[bytes, bool]] = []
    connection.attach(lambda message, binary: received.append((message, binary)), lambda: None)
    server.send_text(b"hello")
    server.send_binary(b"\x04", fin=False)
    server.send_continuation(b"bin", fin=True)
    server.send_ping(b"are you there")
    connection.data_received(from_server(server))
    assert received == [(b"hello", False), (b"\x04bin", True)], websockets_changed(
        "how data_received hands frames to process_event"
    )
    # The ping went on to websockets' own process_event, whose pong left through send_data.
    [pong] = frames_sent(server, transport)
    assert (pong.opcode, pong.data) == (Opcode.PONG, b"are you there"), websockets_changed(
        "the reply to a ping"
    )


class CountingSendData(ClientConnection):
    """A connection that counts the calls of ``send_data`` (the one place writes leave)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.send_data_calls = 0

    def send_data(self) -> None:
        self.send_data_calls += 1
        super().send_data()


async def test_websockets_writes_every_frame_through_send_data() -> None:
    connection, transport, server = open_connection(CountingSendData)
    await connection.send("a command")
    assert connection.send_data_calls == 1, websockets_changed("send(): no longer via send_data")
    await connection.pong(b"p")
    assert connection.send_data_calls == 2, websockets_changed("pong(): no longer via send_data")
    closing = asyncio.create_task(connection.close())
    await transport.wait_for_writes(3)
    assert connection.send_data_calls == 3, websockets_changed("close(): no longer via send_data")
    assert [frame.opcode for frame in frames_sent(server, transport)] == [
        Opcode.TEXT,
        Opcode.PONG,
        Opcode.CLOSE,
    ]
    connection.connection_lost(None)  # the server's end closes the TCP connection
    await guarded(closing, "the closing handshake's end", guard=HANG_GUARD)


async def test_websockets_send_in_progress_marks_a_fragmented_message_being_sent() -> None:
    connection, transport, server = open_connection(SessionConnection)
    connection.attach(lambda message, binary: None, lambda: None)
    release = asyncio.Event()

    async def fragments() -> AsyncIterator[str]:
        yield "first "
        await release.wait()
        yield "last"

    sending = asyncio.create_task(connection.send(fragments()))
    await transport.wait_for_writes(1)
    assert connection.send_in_progress is not None, websockets_changed("send_in_progress")
    assert not connection.send_text_at_once("must wait"), "a frame between two fragments"
    release.set()
    await guarded(sending, "the fragmented message's last fragment", guard=HANG_GUARD)
    assert connection.send_in_progress is None, websockets_changed("send_in_progress")
    assert connection.send_text_at_once("at once")
    *fragmented, alone = frames_sent(server, transport)
    assert [f.opcode for f in fragmented] == [Opcode.TEXT] + [Opcode.CONT] * (len(fragmented) - 1)
    assert b"".join(f.data for f in fragmented) == b"first last"
    assert (alone.opcode, alone.data) == (Opcode.TEXT, b"at once")


async def test_websockets_paused_follows_the_transports_flow_control() -> None:
    connection, _, _ = open_connection(SessionConnection)
    connection.attach(lambda message, binary: None, lambda: None)
    connection.pause_writing()
    assert connection.paused is True, websockets_changed("Connection.paused")
    assert not connection.send_text_at_once("must wait for the buffer to drain")
    connection.resume_writing()
    assert connection.paused is False, websockets_changed("Connection.paused")
    assert connection.send_text_at_once("at once")


async def test_websockets_connection_lost_leaves_close_exc_final_with_the_first_cause() -> None:
    connection, _, _ = open_connection(SessionConnection)
    seen_at_the_end: list[tuple[State, BaseException]] = []
    connection.attach(
        lambda message, binary: None,
        lambda: seen_at_the_end.append((connection.state, connection.close_error)),
    )
    first = OSError("the first cause")
    connection.set_connection_exc(first)
    connection.set_connection_exc(OSError("a later cause"))
    connection.connection_lost(None)
    [(state, error)] = seen_at_the_end
    assert state is State.CLOSED, websockets_changed("the state connection_lost leaves")
    assert isinstance(error, ConnectionClosedError), websockets_changed("Connection.close_exc")
    assert error.__cause__ is first, websockets_changed("set_connection_exc / close_exc's cause")


async def test_websockets_protocol_fail_sends_the_close_code_and_reads_no_further() -> None:
    connection, transport, server = open_connection(SessionConnection)
    server.send_text(b"after the failure")
    arriving_after = from_server(server)
    connection.protocol.fail(CloseCode.MESSAGE_TOO_BIG, "too many fragments")
    assert connection.protocol.state is State.CLOSING, websockets_changed("Protocol.fail's state")
    connection.send_data()
    [close] = frames_sent(server, transport)
    assert close.opcode is Opcode.CLOSE
    assert Close.parse(close.data).code == CloseCode.MESSAGE_TOO_BIG
    connection.protocol.receive_data(arriving_after)
    assert connection.protocol.events_received() == [], websockets_changed("Protocol.fail")
    connection.connection_lost(None)
    sent = connection.close_error.sent
    # What the session's message about an oversized frame checks (code 1009).
    assert sent is not None, websockets_changed("close_exc.sent")
    assert sent.code == 1009, websockets_changed("close_exc.sent")


async def test_websockets_transport_abort_ends_the_connection() -> None:
    connection, transport, _ = open_connection(SessionConnection)
    abort_connection(connection)
    assert transport.aborted, websockets_changed("Connection.transport")


def test_websockets_permessage_deflate_keeps_its_arguments_as_attributes() -> None:
    # connection/compression.py rebuilds the agreed extension from them.
    arguments = [name for name, _ in parameters(PerMessageDeflate.__init__)][1:]
    assert arguments == [
        "remote_no_context_takeover",
        "local_no_context_takeover",
        "remote_max_window_bits",
        "local_max_window_bits",
        "compress_settings",
    ], websockets_changed("PerMessageDeflate's arguments")
    agreed = PerMessageDeflate(True, False, 12, 11, {"memLevel": 5})
    assert [getattr(agreed, name, None) for name in arguments] == [
        True,
        False,
        12,
        11,
        {"memLevel": 5},
    ], websockets_changed("PerMessageDeflate's attributes")


# -- Scrapy ------------------------------------------------------------------------------


def ack_request() -> KwiffRequest:
    return KwiffRequest("event:list", {"listId": "default"})


ACK = '[{"data":{"events":[]}}]'


def test_scrapy_marks_an_undecoded_body_with_NONE() -> None:
    marker = getattr(scrapy_text_response, "_NONE", None)
    assert marker is not None, scrapy_changed("scrapy.http.response.text._NONE: it is gone")
    assert NOT_DECODED is marker
    response = TextResponse("https://example.com/", body=b"[1]", encoding="utf-8")
    assert decoded_json(response) is NOT_DECODED, scrapy_changed("TextResponse's cached JSON")


def test_scrapy_json_returns_the_cached_decoding_and_keeps_its_own() -> None:
    given = TextResponse("https://example.com/", body=b"[1]", encoding="utf-8")
    cached = ["decoded already"]
    cache_decoded_json(given, cached)
    assert given.json() is cached, scrapy_changed("TextResponse.json(): the cache is not read")
    fresh = TextResponse("https://example.com/", body=b"[1]", encoding="utf-8")
    assert fresh.json() == [1]
    assert decoded_json(fresh) == [1], scrapy_changed("TextResponse.json(): the cache is not kept")


def test_a_kwiff_response_knows_whether_its_body_is_decoded() -> None:
    undecoded = KwiffResponse.from_ack(ack_request(), ACK, None)
    assert not undecoded.decoded, scrapy_changed("TextResponse's marker of an undecoded body")
    assert undecoded.json() == [{"data": {"events": []}}]
    assert undecoded.decoded
    args = [{"data": {"events": []}}]
    decoded = KwiffResponse.from_ack(ack_request(), ACK, args)
    assert decoded.decoded
    assert decoded.json() is args, scrapy_changed("TextResponse.json(): the cache is not read")


def test_scrapy_stats_inc_value_keeps_its_signature() -> None:
    assert parameters(StatsCollector.inc_value) == [
        ("self", EMPTY),
        ("key", EMPTY),
        ("count", 1),
        ("start", 0),
        ("spider", None),
    ], scrapy_changed("StatsCollector.inc_value's signature")


@pytest.mark.parametrize("collector_class", [StatsCollector, MemoryStatsCollector])
def test_the_class_inc_value_counts_as_the_instances(collector_class: type[StatsCollector]) -> None:
    collector = collector_class(get_crawler())
    increment = stats_incrementer(collector)
    increment("kwiff/test", 2)
    increment("kwiff/test", 3)
    collector.inc_value("kwiff/test", 4)
    assert collector.get_value("kwiff/test") == 9, scrapy_changed("StatsCollector.inc_value")


def test_scrapy_wraps_the_instances_inc_value() -> None:
    # The shortcut's reason: were the wrapper gone, collector.inc_value would do as well.
    collector = StatsCollector(get_crawler())
    assert hasattr(collector.inc_value, "__wrapped__"), scrapy_changed(
        "StatsCollector.__getattribute__: inc_value is no longer wrapped, "
        "stats_incrementer can use collector.inc_value"
    )


# -- the fences are the only places ------------------------------------------------------

#: Names only the fences may use, with the fence that names them.
FENCED_NAMES: list[tuple[str, Path]] = [
    *(
        (pattern, WEBSOCKETS_FENCE)
        for pattern in (
            r"\bprocess_event\b",
            r"\bsend_data\b",
            r"\bconnection_lost\b",
            r"\bsend_in_progress\b",
            r"\.paused\b",
            r"\bset_connection_exc\b",
            r"\bclose_exc\b",
            r"\bdata_to_send\b",
            r"\bprotocol\.fail\b",
            r"\.transport\b",
            r"\bMAX_FRAGMENTS\b",
        )
    ),
    *(
        (pattern, SCRAPY_FENCE)
        for pattern in (r"\b_NONE\b", r"\b_cached_decoded_json\b", r"type\([^)]*\)\.inc_value")
    ),
]


@pytest.mark.parametrize(("pattern", "fence"), FENCED_NAMES, ids=[p for p, _ in FENCED_NAMES])
def test_only_the_fence_uses_a_private_library_name(pattern: str, fence: Path) -> None:
    assert re.search(pattern, fence.read_text(encoding="utf-8")), f"{fence.name} no longer uses it"
    users = [
        str(path.relative_to(PACKAGE.parent))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != fence and re.search(pattern, path.read_text(encoding="utf-8"))
    ]
    assert users == [], f"{pattern} used outside {fence.name}: move it there, and list it"
