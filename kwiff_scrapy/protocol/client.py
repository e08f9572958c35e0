"""The client side of a Kwiff connection as a state machine (sans-I/O).

Feed it every frame received with :meth:`ClientProtocol.receive`; it returns what the
frame means as one :data:`ServerEvent`. Ask it for the frames to send
(:meth:`ClientProtocol.command_frame`, :meth:`ClientProtocol.ping_frame`), and tell it
what only the I/O layer knows (:meth:`ClientProtocol.abandon`,
:meth:`ClientProtocol.close`). It never touches a socket and keeps no clock: timing
belongs to the I/O layer, every connection fact belongs here.

States::

    OPENING --open packet and "40", in either order--> READY     one Ready event
    OPENING, READY --"1", "41", "44" or close()-----> CLOSED    waiting ids handed back

Acks, by what became of the command whose ack id they carry::

    waiting for its ack (pending)          AckReceived   the id becomes answered
    given up on (abandon(), or close())    LateAck
    answered already                       DuplicateAck
    anything else (or long forgotten)      UnknownAck

Each command's ack id is reported by :class:`AckReceived` at most once. The last
:data:`RECENT_IDS_KEPT` abandoned and answered ids are remembered; older ones make
an :class:`UnknownAck`.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import Any, Self

from .engineio import (
    EnginePacket,
    EnginePacketType,
    OpenInfo,
    decode_engine_packet,
    encode_engine_packet,
    parse_open_data,
)
from .errors import InvalidState, ProtocolError, excerpt
from .jsondecode import is_json_array, loads
from .socketio import (
    DEFAULT_NAMESPACE,
    SocketPacket,
    SocketPacketType,
    compact_json,
    decode_socket_packet,
    encode_socket_packet,
)

COMMAND_EVENT = "command"

#: How many ack ids of abandoned (timed-out, cancelled, unsent) and of answered
#: commands a connection remembers, so that a late or repeated ack is told apart
#: from an unknown one.
RECENT_IDS_KEPT = 4096

#: How much of an unexpected ack's JSON its event keeps for a log line.
ACK_EXCERPT_CHARS = 80

#: An answer this large (an ``event:list`` is ~1.2 MB) is checked on arrival and decoded
#: when first read; smaller ones are decoded at once, which costs less than deciding.
LAZY_DECODE_BYTES = 1 << 16

#: The head of an ACK frame in the default namespace: ``43`` and the ack id. An id
#: of more than 20 digits (never pending) is left to the general path.
_ACK_HEAD = re.compile(r"43([0-9]{1,20})(?![0-9])")
_ACK_HEAD_UTF8 = re.compile(rb"43([0-9]{1,20})(?![0-9])")


class ConnectionState(Enum):
    """Where a connection is in its life; it only ever moves down this list."""

    OPENING = "opening"
    """Waiting for the open packet and the namespace CONNECT (``40``)."""
    READY = "ready"
    """Both arrived: commands can be sent."""
    CLOSED = "closed"
    """Ended by the server or by the I/O layer; never left again."""


@dataclass(frozen=True, slots=True)
class Ready:
    """The opening sequence is complete (reported once per connection)."""

    info: OpenInfo


class AckReceived:
    """The answer to a command still waiting for it.

    ``args`` is the ACK's JSON array decoded; ``raw_args`` the array's JSON text
    exactly as received and ``body`` the same text in UTF-8 (``surrogatepass``), the
    answer ready to become a response body. The protocol keeps only one of the two
    texts (``body`` for an ack it decoded from a frame, so that a large answer exists
    once) and makes the other when asked. A large answer is checked when it arrives but
    decoded only when ``args`` is first read (:meth:`undecoded`), so that a caller can
    decode ``body`` its own way instead (straight into typed objects) and pay once.
    Equal when ``ack_id``, ``args`` and ``raw_args`` are.
    """

    __slots__ = ("_args", "_body", "_raw_args", "ack_id")
    __match_args__ = ("ack_id", "args", "raw_args")

    def __init__(
        self,
        ack_id: int,
        args: list[Any],
        raw_args: str | None = None,
        *,
        body: bytes | None = None,
    ) -> None:
        if (raw_args is None) == (body is None):
            raise TypeError("AckReceived takes the ACK's JSON text as raw_args or as body")
        self.ack_id = ack_id
        self._args: list[Any] | None = args
        self._raw_args = raw_args
        self._body = body

    @classmethod
    def undecoded(cls, ack_id: int, body: bytes) -> Self:
        """The ack of *body*, strict UTF-8 already known to hold a JSON array
        (:func:`~kwiff_scrapy.protocol.jsondecode.is_json_array`), decoded when first read."""
        ack = cls(ack_id, [], body=body)
        ack._args = None
        return ack

    @property
    def args(self) -> list[Any]:
        """The ACK's JSON array, decoded (on first use, for an :meth:`undecoded` ack)."""
        if self._args is None:
            assert self._body is not None
            self._args = loads(self._body)
        return self._args

    @property
    def args_if_decoded(self) -> list[Any] | None:
        """:attr:`args` if decoded already, else None (reading it would decode ``body``)."""
        return self._args

    @property
    def raw_args(self) -> str:
        """The ACK's JSON array as received."""
        if self._raw_args is not None:
            return self._raw_args
        assert self._body is not None
        return self._body.decode("utf-8", "surrogatepass")

    @property
    def body(self) -> bytes:
        """:attr:`raw_args` in UTF-8 (``surrogatepass``)."""
        if self._body is not None:
            return self._body
        assert self._raw_args is not None
        return self._raw_args.encode("utf-8", "surrogatepass")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AckReceived):
            return NotImplemented
        return (self.ack_id, self.args, self.raw_args) == (other.ack_id, other.args, other.raw_args)

    __hash__ = None  # type: ignore[assignment]  # args is a list, as in the dataclass it was

    def __repr__(self) -> str:
        return (
            f"AckReceived(ack_id={self.ack_id!r}, args={self.args!r}, raw_args={self.raw_args!r})"
        )


@dataclass(frozen=True, slots=True)
class LateAck:
    """An ack for a command the I/O layer gave up on, or that was waiting at close."""

    ack_id: int
    args_excerpt: str
    """A printable excerpt of the ACK's JSON array, for a log line."""


@dataclass(frozen=True, slots=True)
class DuplicateAck:
    """A second ack for a command that was answered already."""

    ack_id: int
    args_excerpt: str


@dataclass(frozen=True, slots=True)
class UnknownAck:
    """An ack for an id this connection never sent (or sent too long ago to remember)."""

    ack_id: int
    args_excerpt: str


@dataclass(frozen=True, slots=True)
class EventReceived:
    name: str
    args: list[Any]


@dataclass(frozen=True, slots=True)
class PongReceived:
    data: str


@dataclass(frozen=True, slots=True)
class ServerClosed:
    """The server ended the connection (Engine.IO close or Socket.IO DISCONNECT)."""

    reason: str
    unanswered: frozenset[int] = frozenset()
    """Ack ids of the commands that were waiting: fail them; a later ack is late."""


@dataclass(frozen=True, slots=True)
class NamespaceError:
    """A Socket.IO ERROR packet: the server refuses the namespace, the connection is over."""

    namespace: str
    data: Any
    unanswered: frozenset[int] = frozenset()
    """Ack ids of the commands that were waiting, as for :class:`ServerClosed`."""


@dataclass(frozen=True, slots=True)
class Ignored:
    """A valid frame with nothing to act on (noop, upgrade, another namespace...)."""

    what: str


ServerEvent = (
    Ready
    | AckReceived
    | LateAck
    | DuplicateAck
    | UnknownAck
    | EventReceived
    | PongReceived
    | ServerClosed
    | NamespaceError
    | Ignored
)


def command_envelope(
    message: str,
    payload: Any,
    *,
    timestamp_ms: int,
    user_agent: str,
    webapp_version: str,
) -> dict[str, Any]:
    """The argument of a ``command`` EVENT, as the Kwiff web app builds it."""
    return {
        "message": message,
        "payload": payload,
        "timestamp": timestamp_ms,
        "userAgent": user_agent,
        "webappVersion": webapp_version,
    }


class ClientProtocol:
    """One connection's state: the opening sequence, its commands and their acks."""

    def __init__(
        self, namespace: str = DEFAULT_NAMESPACE, *, ids_kept: int = RECENT_IDS_KEPT
    ) -> None:
        self.namespace = namespace
        self.state = ConnectionState.OPENING
        self.open_info: OpenInfo | None = None
        """The open packet's parameters, once it has arrived."""
        self._namespace_connected = False
        self._ack_ids = itertools.count()
        self._pending: set[int] = set()
        #: Pending ids whose acks are left undecoded whatever their size (:meth:`undecoded`).
        self._undecoded: set[int] = set()
        self._abandoned = _RecentIds(ids_kept)
        self._answered = _RecentIds(ids_kept)

    @property
    def pending(self) -> frozenset[int]:
        """Ack ids of the commands waiting for their ack (a snapshot)."""
        return frozenset(self._pending)

    # -- receiving -------------------------------------------------------------

    def receive(self, frame: str | bytes) -> ServerEvent:
        """Interpret one received frame; raise :class:`ProtocolError` if it is malformed.

        A malformed frame changes nothing. The error's ``frame`` is always the whole
        received frame, not the part of it (the open JSON, the Socket.IO packet) that
        a lower layer was decoding.
        """
        if type(frame) is str and frame.startswith("43"):
            ack = self._receive_pending_ack(frame)
            if ack is not None:
                return ack
        try:
            return self._receive(frame)
        except ProtocolError as exc:
            if exc.frame_length == len(frame) and exc.frame == frame[: len(exc.frame)]:
                raise
            raise ProtocolError(exc.reason, frame) from exc

    def receive_utf8(self, frame: bytes) -> ServerEvent:
        """Interpret one received *text* frame given as its UTF-8 bytes, not yet decoded.

        What ``websockets``' ``recv(decode=False)`` returns for a text frame: an
        answer then goes from the socket to :attr:`AckReceived.body` without ever
        being a ``str``. Otherwise as :meth:`receive` given the decoded text; a frame
        that is not valid UTF-8 is a :class:`ProtocolError`. (Binary frames go to
        :meth:`receive`, which refuses them.)
        """
        if frame.startswith(b"43"):
            ack = self._receive_pending_ack(frame)
            if ack is not None:
                return ack
        try:
            text = frame.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"a text frame is not valid UTF-8 ({exc.reason})", frame) from exc
        return self.receive(text)

    def _receive_pending_ack(self, frame: str | bytes) -> AckReceived | None:
        """The fast path of the frame that matters: ``43<id>[...]`` answering a pending command.

        The same result as the general path, without its copies of the frame (the
        Engine.IO data, then the Socket.IO payload): the JSON becomes the ack's
        ``body`` (one copy, in UTF-8) and is decoded from there. Returns None, having
        changed nothing, for anything else (another namespace, an id not pending, a
        payload that is not a JSON array): the general path decides.
        """
        if self.namespace != DEFAULT_NAMESPACE:
            return None
        if isinstance(frame, str):
            text_head = _ACK_HEAD.match(frame)
            if text_head is None:
                return None
            ack_id, end = int(text_head[1]), text_head.end()
        else:
            utf8_head = _ACK_HEAD_UTF8.match(frame)
            if utf8_head is None:
                return None
            ack_id, end = int(utf8_head[1]), utf8_head.end()
        if ack_id not in self._pending:
            return None
        text = isinstance(frame, str)
        if isinstance(frame, str):
            # The codec's own encoding of a str, which may hold lone surrogates.
            body = frame[end:].encode("utf-8", "surrogatepass")
        else:
            body = frame[end:]  # a text frame: strict UTF-8
        lazy = len(body) >= LAZY_DECODE_BYTES or ack_id in self._undecoded
        if not text and lazy and is_json_array(body):
            ack = AckReceived.undecoded(ack_id, body)
        else:
            try:
                args = loads(body, surrogatepass=text)
            except (ValueError, RecursionError):
                return None  # the general path raises the ProtocolError
            if type(args) is not list:
                return None
            ack = AckReceived(ack_id, args, body=body)
        self._pending.remove(ack_id)
        self._undecoded.discard(ack_id)
        self._answered.add(ack_id)
        return ack

    def _receive(self, frame: str | bytes) -> ServerEvent:
        engine = decode_engine_packet(frame)
        kind = engine.type
        if kind is EnginePacketType.MESSAGE:
            return self._receive_socket_packet(decode_socket_packet(engine.data))
        if kind is EnginePacketType.OPEN:
            return self._receive_open(engine.data)
        if kind is EnginePacketType.PONG:
            return PongReceived(engine.data)
        if kind is EnginePacketType.CLOSE:
            return ServerClosed("the server sent an Engine.IO close packet", self.close())
        if kind is EnginePacketType.PING:
            # EIO 3 servers never ping; tolerate it rather than drop the connection.
            return Ignored("ping from server")
        return Ignored(kind.name.lower())

    def _receive_open(self, data: str) -> ServerEvent:
        if self.open_info is not None:
            return Ignored("a repeated open packet")
        if self.state is ConnectionState.CLOSED:
            return Ignored("an open packet on a closed connection")
        self.open_info = parse_open_data(data)
        return self._opening_step("open packet (waiting for the namespace CONNECT)")

    def _receive_socket_packet(self, packet: SocketPacket) -> ServerEvent:
        if packet.namespace != self.namespace:
            return Ignored(f"packet for namespace {packet.namespace!r}")
        kind = packet.type
        if kind is SocketPacketType.ACK:
            assert packet.ack_id is not None  # guaranteed by decode_socket_packet
            return self._receive_ack(packet.ack_id, packet.data, packet.raw_data)
        if kind is SocketPacketType.EVENT:
            return EventReceived(packet.data[0], packet.data[1:])
        if kind is SocketPacketType.CONNECT:
            if self._namespace_connected:
                return Ignored("a repeated namespace CONNECT")
            if self.state is ConnectionState.CLOSED:
                return Ignored("a namespace CONNECT on a closed connection")
            self._namespace_connected = True
            return self._opening_step("namespace CONNECT (waiting for the open packet)")
        if kind is SocketPacketType.DISCONNECT:
            reason = f"the server disconnected namespace {packet.namespace!r}"
            return ServerClosed(reason, self.close())
        if kind is SocketPacketType.ERROR:
            return NamespaceError(packet.namespace, packet.data, self.close())
        raise ProtocolError(f"unexpected {kind.name} packet", encode_socket_packet(packet))

    def _opening_step(self, waiting: str) -> ServerEvent:
        """Become READY if both halves of the opening sequence are in, whatever their order."""
        if self.open_info is None or not self._namespace_connected:
            return Ignored(waiting)
        self.state = ConnectionState.READY
        return Ready(self.open_info)

    def _receive_ack(self, ack_id: int, args: list[Any], raw_args: str) -> ServerEvent:
        if ack_id in self._pending:
            self._pending.remove(ack_id)
            self._undecoded.discard(ack_id)
            self._answered.add(ack_id)
            return AckReceived(ack_id, args, raw_args)
        shown = excerpt(raw_args, ACK_EXCERPT_CHARS)
        if ack_id in self._abandoned:
            return LateAck(ack_id, shown)
        if ack_id in self._answered:
            return DuplicateAck(ack_id, shown)
        return UnknownAck(ack_id, shown)

    # -- sending and what the I/O layer knows ------------------------------------

    def command_frame(self, envelope: dict[str, Any]) -> tuple[int, str]:
        """Return a fresh ack id and the frame that sends *envelope* as a ``command``.

        The id is pending from now on: its ack will be :class:`AckReceived` unless the
        I/O layer gives up on it first (:meth:`abandon`). Raise :class:`InvalidState`
        once the connection is closed.
        """
        if self.state is ConnectionState.CLOSED:
            raise InvalidState("cannot send a command: the connection is closed")
        ack_id = next(self._ack_ids)
        if self.namespace == DEFAULT_NAMESPACE:
            # message_frame() of the packet below, spelled out: one per command.
            frame = f"42{ack_id}{compact_json([COMMAND_EVENT, envelope])}"
        else:
            packet = SocketPacket(
                SocketPacketType.EVENT, [COMMAND_EVENT, envelope], self.namespace, ack_id
            )
            frame = message_frame(packet)
        self._pending.add(ack_id)
        return ack_id, frame

    def command_frame_for(
        self,
        message: str,
        payload: Any,
        *,
        timestamp_ms: int,
        user_agent: str,
        webapp_version: str,
    ) -> tuple[int, str]:
        """:meth:`command_frame` of the :func:`command_envelope` of the same arguments.

        The same id and the same frame, character for character, without building the
        envelope or encoding its constant part (the user agent and web app version,
        encoded once) for every command: only the message and the payload are.
        """
        if self.namespace != DEFAULT_NAMESPACE:
            envelope = command_envelope(
                message,
                payload,
                timestamp_ms=timestamp_ms,
                user_agent=user_agent,
                webapp_version=webapp_version,
            )
            return self.command_frame(envelope)
        if self.state is ConnectionState.CLOSED:
            raise InvalidState("cannot send a command: the connection is closed")
        # As the JSON encoder writes an int (a bool or a subclass goes the general way).
        timestamp = str(timestamp_ms) if type(timestamp_ms) is int else compact_json(timestamp_ms)
        frame = "".join(
            (
                _ENVELOPE_HEAD,
                compact_json(message),
                _PAYLOAD_KEY,
                compact_json(payload),
                _TIMESTAMP_KEY,
                timestamp,
                _envelope_tail(user_agent, webapp_version),
            )
        )
        ack_id = next(self._ack_ids)
        self._pending.add(ack_id)
        return ack_id, f"42{ack_id}{frame}"

    def undecoded(self, ack_id: int) -> None:
        """Leave the ack of pending *ack_id* undecoded whatever its size, as large ones are
        (:meth:`AckReceived.undecoded`): for a caller that reads the answer's bytes its own
        way (straight into typed objects) and would otherwise pay for decoding it twice."""
        if ack_id in self._pending:
            self._undecoded.add(ack_id)

    def abandon(self, ack_id: int) -> None:
        """The I/O layer gave up on *ack_id* (timeout, cancellation, failed send).

        Its ack, if it comes, will be a :class:`LateAck`. An id that is not pending
        (answered, abandoned already, never sent) is left as it is.
        """
        if ack_id in self._pending:
            self._pending.remove(ack_id)
            self._undecoded.discard(ack_id)
            self._abandoned.add(ack_id)

    def close(self) -> frozenset[int]:
        """Mark the connection closed, whatever ended it; return the ids still waiting.

        The I/O layer calls it when the transport is lost or it closes the connection
        itself (a close packet, DISCONNECT or ERROR from the server closes it during
        :meth:`receive`, and the event carries the ids). The returned commands will get
        no answer: fail them at once. Their acks, should they still come, are late.
        Calling it again returns an empty set.
        """
        self.state = ConnectionState.CLOSED
        unanswered, self._pending = frozenset(self._pending), set()
        self._undecoded.clear()
        for ack_id in sorted(unanswered):
            self._abandoned.add(ack_id)
        return unanswered

    @staticmethod
    def ping_frame(data: str = "") -> str:
        return encode_engine_packet(EnginePacket(EnginePacketType.PING, data))

    @staticmethod
    def close_frame() -> str:
        return encode_engine_packet(EnginePacket(EnginePacketType.CLOSE))


#: The parts of ``["command",{...}]`` around the values, as ``compact_json`` writes them
#: in the key order of :func:`command_envelope`.
_ENVELOPE_HEAD = f"[{compact_json(COMMAND_EVENT)},{{{compact_json('message')}:"
_PAYLOAD_KEY = f",{compact_json('payload')}:"
_TIMESTAMP_KEY = f",{compact_json('timestamp')}:"


@functools.lru_cache(maxsize=16)
def _envelope_tail(user_agent: str, webapp_version: str) -> str:
    """``,"userAgent":...,"webappVersion":...}]``: the same for every command of a session."""
    user_agent_json, version_json = compact_json(user_agent), compact_json(webapp_version)
    return f',"userAgent":{user_agent_json},"webappVersion":{version_json}}}]'


def message_frame(packet: SocketPacket) -> str:
    """The WebSocket frame (an Engine.IO ``message``) that carries *packet*."""
    return encode_engine_packet(
        EnginePacket(EnginePacketType.MESSAGE, encode_socket_packet(packet))
    )


class _RecentIds:
    """The last *limit* ids added, with constant-time membership: bounded memory."""

    __slots__ = ("_ids", "_limit")

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"cannot keep a negative number of ids ({limit})")
        self._limit = limit
        self._ids: OrderedDict[int, None] = OrderedDict()

    def add(self, ack_id: int) -> None:
        self._ids[ack_id] = None
        self._ids.move_to_end(ack_id)
        if len(self._ids) > self._limit:
            self._ids.popitem(last=False)

    def __contains__(self, ack_id: object) -> bool:
        return ack_id in self._ids
