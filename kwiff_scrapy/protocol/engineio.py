"""Engine.IO protocol 3 packets (sans-I/O).

Grammar of one WebSocket text frame::

    frame   = type [ data ]
    type    = "0" / "1" / "2" / "3" / "4" / "5" / "6"
              ; open close ping pong message upgrade noop
    data    = *CHAR            ; JSON for open, text for ping/pong, a Socket.IO packet for message

In EIO 3 the client sends ``2`` (ping) and the server answers ``3`` (pong) with the
same text. Binary frames carry binary attachments, which this codec does not support.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction
from typing import TypeGuard

from .errors import ProtocolError


class EnginePacketType(IntEnum):
    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


@dataclass(frozen=True, slots=True)
class EnginePacket:
    type: EnginePacketType
    data: str = ""


@dataclass(frozen=True, slots=True)
class OpenInfo:
    """The session parameters of an ``open`` packet; intervals in seconds."""

    sid: str
    upgrades: tuple[str, ...]
    ping_interval: float
    ping_timeout: float


def encode_engine_packet(packet: EnginePacket) -> str:
    return f"{int(packet.type)}{packet.data}"


def decode_engine_packet(frame: str | bytes) -> EnginePacket:
    """Decode one WebSocket frame; raise :class:`ProtocolError` if it is not EIO 3 text."""
    if not isinstance(frame, str):
        raise ProtocolError("binary frames are not supported (no binary packets expected)", frame)
    if not frame:
        raise ProtocolError("empty frame", frame)
    digit = frame[0]
    if not ("0" <= digit <= "6"):
        raise ProtocolError(f"unknown Engine.IO packet type {digit!r}", frame)
    return EnginePacket(EnginePacketType(ord(digit) - 48), frame[1:])


def parse_open_data(data: str) -> OpenInfo:
    """Parse the JSON of an ``open`` packet (``pingInterval``/``pingTimeout`` in ms)."""
    try:
        info = json.loads(data)
    except ValueError as exc:
        raise ProtocolError("open packet data is not JSON", data) from exc
    except RecursionError as exc:
        raise ProtocolError("open packet data is nested too deeply", data) from exc
    if not isinstance(info, dict):
        raise ProtocolError("open packet data is not a JSON object", data)
    interval, timeout = info.get("pingInterval"), info.get("pingTimeout")
    if not _is_positive_number(interval) or not _is_positive_number(timeout):
        raise ProtocolError("open packet lacks positive pingInterval/pingTimeout", data)
    upgrades = info.get("upgrades") or []
    if not isinstance(upgrades, list):
        raise ProtocolError("open packet upgrades is not a list", data)
    try:  # str() of a (strange) nested sid or upgrade can recurse as deeply as the JSON
        sid, upgrade_names = str(info.get("sid", "")), tuple(str(u) for u in upgrades)
    except RecursionError as exc:
        raise ProtocolError("open packet data is nested too deeply", data) from exc
    return OpenInfo(
        sid=sid,
        upgrades=upgrade_names,
        ping_interval=interval / 1000,
        ping_timeout=timeout / 1000,
    )


def encode_open_data(info: OpenInfo) -> str:
    return json.dumps(
        {
            "sid": info.sid,
            "upgrades": list(info.upgrades),
            "pingInterval": _seconds_to_ms(info.ping_interval),
            "pingTimeout": _seconds_to_ms(info.ping_timeout),
        },
        separators=(",", ":"),
    )


def _seconds_to_ms(seconds: float) -> int:
    """The whole number of ms that :func:`parse_open_data` turns into *seconds*.

    Inverts ``ms / 1000`` exactly where a whole number does (``round(seconds * 1000)``
    in floating point is one off for some large intervals), else the nearest whole
    ms but at least 1: an open packet with a 0 interval would be refused.
    """
    estimate = round(Fraction(seconds) * 1000)  # exact arithmetic: at most a tie away
    for candidate in (estimate, estimate - 1, estimate + 1):
        if candidate > 0 and candidate / 1000 == seconds:
            return candidate
    return max(estimate, 1)


def _is_positive_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 2**53
