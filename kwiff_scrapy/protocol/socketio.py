"""Socket.IO protocol revision 4 packets (the Socket.IO 2.x server generation), sans-I/O.

Grammar of the text inside one Engine.IO ``message`` packet::

    packet      = type [ attachments "-" ] [ namespace "," ] [ ack-id ] [ json ]
    type        = "0" / "1" / "2" / "3" / "4" / "5" / "6"
                  ; CONNECT DISCONNECT EVENT ACK ERROR BINARY_EVENT BINARY_ACK
    attachments = 1*DIGIT          ; binary types only
    namespace   = "/" *( CHAR except "," )   ; absent means "/"
    ack-id      = 1*DIGIT          ; any length: it ends where the JSON starts
    json        = a JSON document  ; an array for EVENT and ACK

A namespace with no terminating comma runs to the end of the packet, as in the
reference implementation. Binary packet types are recognised but refused with a
:class:`ProtocolError`: the Kwiff service has not been seen to use them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from .errors import ProtocolError
from .jsondecode import loads

DEFAULT_NAMESPACE = "/"

#: The JSON text of a payload as the codec sends it: compact, not ASCII-escaped.
compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class SocketPacketType(IntEnum):
    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


BINARY_TYPES = frozenset({SocketPacketType.BINARY_EVENT, SocketPacketType.BINARY_ACK})


@dataclass(frozen=True, slots=True)
class SocketPacket:
    """One Socket.IO packet.

    ``data`` is the decoded JSON payload (``None`` when absent); ``raw_data`` is the
    JSON text exactly as received, so that a large answer can be handed on without
    being encoded again. ``raw_data`` takes no part in equality.
    """

    type: SocketPacketType
    data: Any = None
    namespace: str = DEFAULT_NAMESPACE
    ack_id: int | None = None
    raw_data: str = field(default="", compare=False, repr=False)


def encode_socket_packet(packet: SocketPacket) -> str:
    """Encode *packet*; raise :class:`ProtocolError` for what the wire cannot express."""
    if packet.type in BINARY_TYPES:
        raise ProtocolError("binary Socket.IO packets are not supported", packet.type.name)
    parts = [str(int(packet.type))]
    if packet.namespace != DEFAULT_NAMESPACE:
        if not packet.namespace.startswith("/") or "," in packet.namespace:
            raise ProtocolError("a namespace starts with '/' and has no ','", packet.namespace)
        parts.append(packet.namespace + ",")
    if packet.ack_id is not None:
        if packet.ack_id < 0:
            raise ProtocolError("ack ids are non-negative", str(packet.ack_id))
        parts.append(str(packet.ack_id))
    if packet.data is not None:
        if not isinstance(packet.data, list | dict | str):
            # A bare number or boolean would run into the ack id on the wire.
            raise ProtocolError("packet data must be an array, object or string", repr(packet.data))
        parts.append(packet.raw_data or compact_json(packet.data))
    return "".join(parts)


def decode_socket_packet(text: str) -> SocketPacket:
    """Decode the Socket.IO packet in *text*; raise :class:`ProtocolError` if malformed."""
    if not isinstance(text, str):  # e.g. the payload of a binary frame, handed on by mistake
        raise ProtocolError("a Socket.IO packet is text, not binary data", text)
    if not text:
        raise ProtocolError("empty Socket.IO packet", text)
    digit = text[0]
    if not ("0" <= digit <= "6"):
        raise ProtocolError(f"unknown Socket.IO packet type {digit!r}", text)
    packet_type = SocketPacketType(ord(digit) - 48)
    if packet_type in BINARY_TYPES:
        raise ProtocolError(
            f"{packet_type.name} packets (binary attachments) are not supported", text
        )

    position = 1
    namespace = DEFAULT_NAMESPACE
    if text.startswith("/", position):
        comma = text.find(",", position)
        end = len(text) if comma == -1 else comma
        namespace = text[position:end]
        position = end + 1 if comma != -1 else end

    digits_end = position
    while digits_end < len(text) and "0" <= text[digits_end] <= "9":
        digits_end += 1
    ack_id = _parse_ack_id(text[position:digits_end], text) if digits_end > position else None

    raw_data = text[digits_end:]
    data = _decode_json(raw_data, text) if raw_data else None
    _check_shape(packet_type, data, ack_id, text)
    return SocketPacket(packet_type, data, namespace, ack_id, raw_data)


def _parse_ack_id(digits: str, text: str) -> int:
    try:
        return int(digits)
    except ValueError as exc:  # more digits than int() accepts from a string
        raise ProtocolError(f"ack id of {len(digits)} digits is too long", text) from exc


def _decode_json(raw: str, text: str) -> Any:
    try:
        return loads(raw)
    except ValueError as exc:
        raise ProtocolError(f"packet payload is not valid JSON ({exc})", text) from exc
    except RecursionError as exc:
        raise ProtocolError("packet payload is nested too deeply", text) from exc


def _check_shape(packet_type: SocketPacketType, data: Any, ack_id: int | None, text: str) -> None:
    if packet_type is SocketPacketType.EVENT:
        if not (isinstance(data, list) and data and isinstance(data[0], str)):
            raise ProtocolError("an EVENT payload is an array starting with the event name", text)
    elif packet_type is SocketPacketType.ACK:
        if ack_id is None:
            raise ProtocolError("an ACK packet has no ack id", text)
        if not isinstance(data, list):
            raise ProtocolError("an ACK payload is an array", text)
