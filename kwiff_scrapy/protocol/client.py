"""The client side of a Kwiff connection as a state machine (sans-I/O).

Feed it every frame received with :meth:`ClientProtocol.receive`; it returns what the
frame means as one :data:`ServerEvent`. Ask it for the frames to send
(:meth:`ClientProtocol.command_frame`, :meth:`ClientProtocol.ping_frame`). It never
touches a socket and keeps no clock: timing belongs to the I/O layer.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from .engineio import (
    EnginePacket,
    EnginePacketType,
    OpenInfo,
    decode_engine_packet,
    encode_engine_packet,
    parse_open_data,
)
from .errors import ProtocolError
from .socketio import (
    DEFAULT_NAMESPACE,
    SocketPacket,
    SocketPacketType,
    decode_socket_packet,
    encode_socket_packet,
)

COMMAND_EVENT = "command"


@dataclass(frozen=True, slots=True)
class Opened:
    info: OpenInfo


@dataclass(frozen=True, slots=True)
class NamespaceConnected:
    namespace: str


@dataclass(frozen=True, slots=True)
class AckReceived:
    ack_id: int
    args: list[Any]
    raw_args: str
    """The ACK's JSON array as received (the answer, ready to become a response body)."""


@dataclass(frozen=True, slots=True)
class EventReceived:
    name: str
    args: list[Any]


@dataclass(frozen=True, slots=True)
class PongReceived:
    data: str


@dataclass(frozen=True, slots=True)
class ServerClosed:
    reason: str


@dataclass(frozen=True, slots=True)
class NamespaceError:
    namespace: str
    data: Any


@dataclass(frozen=True, slots=True)
class Ignored:
    """A valid frame with nothing to act on (noop, upgrade, another namespace...)."""

    what: str


ServerEvent = (
    Opened
    | NamespaceConnected
    | AckReceived
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
    """Tracks the opening sequence and numbers the commands of one connection."""

    def __init__(self, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.namespace = namespace
        self.open_info: OpenInfo | None = None
        self.namespace_connected = False
        self._ack_ids = itertools.count()

    @property
    def ready(self) -> bool:
        """True once both the open packet and the namespace CONNECT have arrived."""
        return self.open_info is not None and self.namespace_connected

    def receive(self, frame: str | bytes) -> ServerEvent:
        """Interpret one received frame; raise :class:`ProtocolError` if it is malformed.

        The error's ``frame`` is always the whole received frame, not the part of it
        (the open JSON, the Socket.IO packet) that a lower layer was decoding.
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
            self.open_info = parse_open_data(engine.data)
            return Opened(self.open_info)
        if kind is EnginePacketType.PONG:
            return PongReceived(engine.data)
        if kind is EnginePacketType.CLOSE:
            return ServerClosed("the server sent an Engine.IO close packet")
        if kind is EnginePacketType.PING:
            # EIO 3 servers never ping; tolerate it rather than drop the connection.
            return Ignored("ping from server")
        return Ignored(kind.name.lower())

    def _receive_socket_packet(self, packet: SocketPacket) -> ServerEvent:
        if packet.namespace != self.namespace:
            return Ignored(f"packet for namespace {packet.namespace!r}")
        kind = packet.type
        if kind is SocketPacketType.ACK:
            assert packet.ack_id is not None  # guaranteed by decode_socket_packet
            return AckReceived(packet.ack_id, packet.data, packet.raw_data)
        if kind is SocketPacketType.EVENT:
            return EventReceived(packet.data[0], packet.data[1:])
        if kind is SocketPacketType.CONNECT:
            self.namespace_connected = True
            return NamespaceConnected(packet.namespace)
        if kind is SocketPacketType.DISCONNECT:
            self.namespace_connected = False
            return ServerClosed(f"the server disconnected namespace {packet.namespace!r}")
        if kind is SocketPacketType.ERROR:
            return NamespaceError(packet.namespace, packet.data)
        raise ProtocolError(f"unexpected {kind.name} packet", encode_socket_packet(packet))

    def command_frame(self, envelope: dict[str, Any]) -> tuple[int, str]:
        """Return a fresh ack id and the frame that sends *envelope* as a ``command``."""
        ack_id = next(self._ack_ids)
        packet = SocketPacket(
            SocketPacketType.EVENT, [COMMAND_EVENT, envelope], self.namespace, ack_id
        )
        return ack_id, message_frame(packet)

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
