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

import itertools
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .engineio import (
    EnginePacket,
    EnginePacketType,
    OpenInfo,
    decode_engine_packet,
    encode_engine_packet,
    parse_open_data,
)
from .errors import InvalidState, ProtocolError, excerpt
from .socketio import (
    DEFAULT_NAMESPACE,
    SocketPacket,
    SocketPacketType,
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


@dataclass(frozen=True, slots=True)
class AckReceived:
    """The answer to a command still waiting for it."""

    ack_id: int
    args: list[Any]
    raw_args: str
    """The ACK's JSON array as received (the answer, ready to become a response body)."""


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
        try:
            return self._receive(frame)
        except ProtocolError as exc:
            if exc.frame_length == len(frame) and exc.frame == frame[: len(exc.frame)]:
                raise
            raise ProtocolError(exc.reason, frame) from exc

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
        packet = SocketPacket(
            SocketPacketType.EVENT, [COMMAND_EVENT, envelope], self.namespace, ack_id
        )
        frame = message_frame(packet)
        self._pending.add(ack_id)
        return ack_id, frame

    def abandon(self, ack_id: int) -> None:
        """The I/O layer gave up on *ack_id* (timeout, cancellation, failed send).

        Its ack, if it comes, will be a :class:`LateAck`. An id that is not pending
        (answered, abandoned already, never sent) is left as it is.
        """
        if ack_id in self._pending:
            self._pending.remove(ack_id)
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
        for ack_id in sorted(unanswered):
            self._abandoned.add(ack_id)
        return unanswered

    @staticmethod
    def ping_frame(data: str = "") -> str:
        return encode_engine_packet(EnginePacket(EnginePacketType.PING, data))

    @staticmethod
    def close_frame() -> str:
        return encode_engine_packet(EnginePacket(EnginePacketType.CLOSE))


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
