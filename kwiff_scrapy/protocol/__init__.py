"""Sans-I/O codec for Kwiff's wire protocol: Engine.IO 3 carrying Socket.IO revision 4.

Nothing here opens a socket or reads a clock: functions and classes turn text into
packets and packets into text, and :class:`ClientProtocol` keeps a connection's state
(readiness, which command each ack answers), so every front end (the Scrapy handler,
the async client, the simulator) shares one implementation and the codec can be fuzzed.
"""

from . import jsondecode
from .client import (
    RECENT_IDS_KEPT,
    AckReceived,
    ClientProtocol,
    ConnectionState,
    DuplicateAck,
    EventReceived,
    Ignored,
    LateAck,
    NamespaceError,
    PongReceived,
    Ready,
    ServerClosed,
    ServerEvent,
    UnknownAck,
    command_envelope,
    message_frame,
)
from .engineio import (
    EnginePacket,
    EnginePacketType,
    OpenInfo,
    decode_engine_packet,
    encode_engine_packet,
    encode_open_data,
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

__all__ = [
    "DEFAULT_NAMESPACE",
    "RECENT_IDS_KEPT",
    "AckReceived",
    "ClientProtocol",
    "ConnectionState",
    "DuplicateAck",
    "EnginePacket",
    "EnginePacketType",
    "EventReceived",
    "Ignored",
    "InvalidState",
    "LateAck",
    "NamespaceError",
    "OpenInfo",
    "PongReceived",
    "ProtocolError",
    "Ready",
    "ServerClosed",
    "ServerEvent",
    "SocketPacket",
    "SocketPacketType",
    "UnknownAck",
    "command_envelope",
    "decode_engine_packet",
    "decode_socket_packet",
    "encode_engine_packet",
    "encode_open_data",
    "encode_socket_packet",
    "excerpt",
    "jsondecode",
    "message_frame",
    "parse_open_data",
]
