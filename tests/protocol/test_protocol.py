"""Tests for the sans-I/O codec in :mod:`kwiff_scrapy.protocol`.

Three layers: exact unit tests of every packet type in both directions (frames taken
from ``PROTOCOL.md``), malformed input that must end in a :class:`ProtocolError`, and
Hypothesis properties (round trips, and fuzzers that may only ever see a
``ProtocolError``).
"""

from __future__ import annotations

import itertools
import json
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kwiff_scrapy.protocol import (
    DEFAULT_NAMESPACE,
    AckReceived,
    ClientProtocol,
    ConnectionState,
    EnginePacket,
    EnginePacketType,
    EventReceived,
    Ignored,
    NamespaceError,
    OpenInfo,
    PongReceived,
    ProtocolError,
    Ready,
    ServerClosed,
    SocketPacket,
    SocketPacketType,
    UnknownAck,
    command_envelope,
    decode_engine_packet,
    decode_socket_packet,
    encode_engine_packet,
    encode_open_data,
    encode_socket_packet,
    excerpt,
    message_frame,
    parse_open_data,
)

# --------------------------------------------------------------------------- fixtures

#: The open packet of PROTOCOL.md's opening sequence (intervals in ms on the wire).
OPEN_FRAME = '0{"sid":"abc123","upgrades":[],"pingInterval":25000,"pingTimeout":60000}'
OPEN_INFO = OpenInfo(sid="abc123", upgrades=(), ping_interval=25.0, ping_timeout=60.0)
#: The unsolicited ``response`` EVENT the service sends while opening.
RESPONSE_FRAME = '42["response",{"user":null,"socket":{"id":"s1"}}]'
CONNECT_FRAME = "40"

#: PROTOCOL.md's example command envelope.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
ENVELOPE = command_envelope(
    "event:list",
    {"listId": "default", "sportId": 11, "country": "GB"},
    timestamp_ms=1768921912089,
    user_agent=USER_AGENT,
    webapp_version="1.0.1.1768909734556",
)
ENVELOPE_JSON = (
    '{"message":"event:list",'
    '"payload":{"listId":"default","sportId":11,"country":"GB"},'
    '"timestamp":1768921912089,'
    f'"userAgent":"{USER_AGENT}",'
    '"webappVersion":"1.0.1.1768909734556"}'
)

# Hypothesis settings: the fuzzers run many cheap examples, the round trips fewer
# (their examples are bigger). ``database=None`` keeps runs from writing to the repo.
FUZZ = settings(max_examples=2000, deadline=None, database=None)
ROUND_TRIP = settings(max_examples=1000, deadline=None, database=None)


def receive_on_fresh_client(frame: str | bytes) -> object:
    return ClientProtocol().receive(frame)


def ready_client(namespace: str = DEFAULT_NAMESPACE) -> ClientProtocol:
    client = ClientProtocol(namespace)
    client.receive(OPEN_FRAME)
    client.receive("40" if namespace == DEFAULT_NAMESPACE else f"40{namespace},")
    assert client.state is ConnectionState.READY
    return client


def client_waiting_for(ack_id: int, namespace: str = DEFAULT_NAMESPACE) -> ClientProtocol:
    """A ready client that has sent commands with ack ids 0 to *ack_id*, all unanswered."""
    client = ready_client(namespace)
    for _ in range(ack_id + 1):
        client.command_frame(ENVELOPE)
    return client


# ============================================================== Engine.IO, exact frames


class TestEngineDecode:
    def test_open_packet_from_protocol_md(self) -> None:
        packet = decode_engine_packet(OPEN_FRAME)
        assert packet == EnginePacket(EnginePacketType.OPEN, OPEN_FRAME[1:])
        assert parse_open_data(packet.data) == OPEN_INFO

    def test_open_intervals_are_converted_to_seconds(self) -> None:
        info = parse_open_data(
            '{"sid":"s","upgrades":["websocket"],"pingInterval":1500,"pingTimeout":250}'
        )
        assert info == OpenInfo("s", ("websocket",), 1.5, 0.25)

    def test_open_packet_without_sid_or_upgrades_is_tolerated(self) -> None:
        assert parse_open_data('{"pingInterval":25000,"pingTimeout":60000}') == OpenInfo(
            "", (), 25.0, 60.0
        )

    @pytest.mark.parametrize(
        ("frame", "expected"),
        [
            ("1", EnginePacket(EnginePacketType.CLOSE)),
            ("2", EnginePacket(EnginePacketType.PING)),
            ("2probe", EnginePacket(EnginePacketType.PING, "probe")),
            ("3", EnginePacket(EnginePacketType.PONG)),
            ("3probe", EnginePacket(EnginePacketType.PONG, "probe")),
            ('42["x"]', EnginePacket(EnginePacketType.MESSAGE, '2["x"]')),
            ("4", EnginePacket(EnginePacketType.MESSAGE)),
            ("5", EnginePacket(EnginePacketType.UPGRADE)),
            ("6", EnginePacket(EnginePacketType.NOOP)),
        ],
    )
    def test_decodes_each_packet_type(self, frame: str, expected: EnginePacket) -> None:
        assert decode_engine_packet(frame) == expected


class TestEngineEncode:
    @pytest.mark.parametrize(
        ("packet", "frame"),
        [
            (EnginePacket(EnginePacketType.OPEN, '{"sid":"x"}'), '0{"sid":"x"}'),
            (EnginePacket(EnginePacketType.CLOSE), "1"),
            (EnginePacket(EnginePacketType.PING), "2"),
            (EnginePacket(EnginePacketType.PING, "probe"), "2probe"),
            (EnginePacket(EnginePacketType.PONG, "probe"), "3probe"),
            (EnginePacket(EnginePacketType.MESSAGE, "40"), "440"),
            (EnginePacket(EnginePacketType.UPGRADE), "5"),
            (EnginePacket(EnginePacketType.NOOP), "6"),
        ],
    )
    def test_encodes_each_packet_type(self, packet: EnginePacket, frame: str) -> None:
        assert encode_engine_packet(packet) == frame

    def test_open_data_is_the_protocol_md_json_in_milliseconds(self) -> None:
        assert "0" + encode_open_data(OPEN_INFO) == OPEN_FRAME

    @pytest.mark.parametrize("ms", [25000, 4434700595741311, 2**52 - 1])
    def test_open_data_keeps_whole_millisecond_intervals_exact(self, ms: int) -> None:
        # round(seconds * 1000) gives 4434700595741310 for the second one.
        info = parse_open_data(json.dumps({"pingInterval": ms, "pingTimeout": 60000}))
        assert json.loads(encode_open_data(info))["pingInterval"] == ms
        assert parse_open_data(encode_open_data(info)) == info

    def test_open_data_round_trips_intervals_beyond_float_resolution(self) -> None:
        # From 2**52 ms on, ms / 1000 no longer tells neighbouring values apart; the
        # encoded interval must still decode to the same seconds.
        info = parse_open_data(json.dumps({"pingInterval": 2**53 - 1, "pingTimeout": 2**52 + 1}))
        assert parse_open_data(encode_open_data(info)) == info

    def test_open_data_intervals_are_whole_milliseconds_and_never_zero(self) -> None:
        info = OpenInfo("s", (), ping_interval=0.0123, ping_timeout=0.0004)
        encoded = json.loads(encode_open_data(info))
        assert (encoded["pingInterval"], encoded["pingTimeout"]) == (12, 1)
        assert parse_open_data(encode_open_data(info)) == OpenInfo("s", (), 0.012, 0.001)

    def test_client_ping_and_close_frames(self) -> None:
        assert ClientProtocol.ping_frame() == "2"
        assert ClientProtocol.ping_frame("probe") == "2probe"
        assert ClientProtocol.close_frame() == "1"


# ============================================================== Socket.IO, exact frames

EVENT_17_JSON = '["command",{"message":"event:get","payload":{"eventId":10748848}}]'
ACK_17_JSON = '[{"timestamp":1768921912389,"data":{"result":{"id":10748848}}}]'

#: (text inside an Engine.IO message, the packet it is) -- both directions.
SOCKET_EXAMPLES: list[tuple[str, SocketPacket]] = [
    ("0", SocketPacket(SocketPacketType.CONNECT)),
    ("0/admin,", SocketPacket(SocketPacketType.CONNECT, namespace="/admin")),
    ("1", SocketPacket(SocketPacketType.DISCONNECT)),
    ("1/admin,", SocketPacket(SocketPacketType.DISCONNECT, namespace="/admin")),
    (
        '2["response",{"user":{"id":7}}]',
        SocketPacket(SocketPacketType.EVENT, ["response", {"user": {"id": 7}}]),
    ),
    (
        "217" + EVENT_17_JSON,
        SocketPacket(SocketPacketType.EVENT, json.loads(EVENT_17_JSON), ack_id=17),
    ),
    ("317" + ACK_17_JSON, SocketPacket(SocketPacketType.ACK, json.loads(ACK_17_JSON), ack_id=17)),
    ('31[{"a":1}]', SocketPacket(SocketPacketType.ACK, [{"a": 1}], ack_id=1)),
    ('312["x"]', SocketPacket(SocketPacketType.ACK, ["x"], ack_id=12)),
    ("312345[]", SocketPacket(SocketPacketType.ACK, [], ack_id=12345)),
    (
        "3123456789012345678[null]",
        SocketPacket(SocketPacketType.ACK, [None], ack_id=123456789012345678),
    ),
    ("30[1]", SocketPacket(SocketPacketType.ACK, [1], ack_id=0)),
    ('4"Not authorized"', SocketPacket(SocketPacketType.ERROR, "Not authorized")),
    ('4{"message":"x"}', SocketPacket(SocketPacketType.ERROR, {"message": "x"})),
    ('2/admin,5["x"]', SocketPacket(SocketPacketType.EVENT, ["x"], "/admin", 5)),
    ('3/admin,5["y"]', SocketPacket(SocketPacketType.ACK, ["y"], "/admin", 5)),
    ('4/admin,"nope"', SocketPacket(SocketPacketType.ERROR, "nope", "/admin")),
]


class TestSocketCodec:
    @pytest.mark.parametrize(("text", "packet"), SOCKET_EXAMPLES)
    def test_decodes_example(self, text: str, packet: SocketPacket) -> None:
        assert decode_socket_packet(text) == packet

    @pytest.mark.parametrize(("text", "packet"), SOCKET_EXAMPLES)
    def test_encodes_example(self, text: str, packet: SocketPacket) -> None:
        assert encode_socket_packet(packet) == text

    @pytest.mark.parametrize(("text", "packet"), SOCKET_EXAMPLES)
    def test_message_frame_is_engine_message_around_the_packet(
        self, text: str, packet: SocketPacket
    ) -> None:
        frame = message_frame(packet)
        assert frame == "4" + text
        assert decode_socket_packet(decode_engine_packet(frame).data) == packet

    @pytest.mark.parametrize(
        "ack_id", [1, 12, 12345, 123456789012345678, 123456789012345678901234567890]
    )
    def test_ack_id_of_any_length_ends_where_the_json_begins(self, ack_id: int) -> None:
        for payload in ('[{"a":1}]', '["x"]', "[[1,2]]"):
            packet = decode_socket_packet(f"3{ack_id}{payload}")
            assert packet.ack_id == ack_id
            assert packet.data == json.loads(payload)

    def test_eighteen_digit_ack_id_from_a_full_frame(self) -> None:
        engine = decode_engine_packet('43123456789012345678[{"data":{}}]')
        packet = decode_socket_packet(engine.data)
        assert packet == SocketPacket(
            SocketPacketType.ACK, [{"data": {}}], ack_id=123456789012345678
        )

    def test_event_with_ack_id_followed_by_object_or_string_json(self) -> None:
        # An ack id may be followed by any JSON start: "[", "{" or '"'.
        assert decode_socket_packet('017{"a":1}').ack_id == 17
        assert decode_socket_packet('417"x"') == SocketPacket(
            SocketPacketType.ERROR, "x", ack_id=17
        )

    @pytest.mark.parametrize(
        "raw",
        [
            ACK_17_JSON,
            '[ {"b" : 1,  "a":[1.50, 2e3]} ]',  # spacing, key order and number spelling
            '[{"name":"Bod\\u00f8/Glimt","odds":6}]',  # an escape, and odds 6.0 sent as 6
            "[]",
        ],
    )
    def test_ack_raw_data_is_the_json_text_exactly_as_received(self, raw: str) -> None:
        packet = decode_socket_packet("317" + raw)
        assert packet.raw_data == raw
        assert packet.data == json.loads(raw)
        # Re-encoding a decoded packet hands the received text on unchanged.
        assert encode_socket_packet(packet) == "317" + raw

    def test_raw_data_takes_no_part_in_equality(self) -> None:
        assert decode_socket_packet("31[ 1 ]") == decode_socket_packet("31[1]")

    def test_namespace_without_comma_runs_to_the_end(self) -> None:
        assert decode_socket_packet("0/admin") == SocketPacket(
            SocketPacketType.CONNECT, namespace="/admin"
        )

    def test_encoder_writes_unicode_compactly(self) -> None:
        packet = SocketPacket(SocketPacketType.EVENT, ["x", {"team": "Bodø/Glimt", "n": [1, 2]}])
        assert encode_socket_packet(packet) == '2["x",{"team":"Bodø/Glimt","n":[1,2]}]'


class TestSocketEncodeRefusals:
    @pytest.mark.parametrize(
        ("packet", "reason"),
        [
            (SocketPacket(SocketPacketType.BINARY_EVENT, ["x"]), "binary"),
            (SocketPacket(SocketPacketType.BINARY_ACK, ["x"], ack_id=1), "binary"),
            (SocketPacket(SocketPacketType.CONNECT, namespace="admin"), "namespace"),
            (SocketPacket(SocketPacketType.CONNECT, namespace="/a,b"), "namespace"),
            (SocketPacket(SocketPacketType.ACK, [], ack_id=-1), "non-negative"),
            (SocketPacket(SocketPacketType.ERROR, 5), "array, object or string"),
            (SocketPacket(SocketPacketType.ERROR, True), "array, object or string"),
        ],
    )
    def test_unencodable_packet_raises_protocol_error(
        self, packet: SocketPacket, reason: str
    ) -> None:
        with pytest.raises(ProtocolError, match=reason):
            encode_socket_packet(packet)


# ========================================================= the client state machine


class TestClientOpeningSequence:
    @pytest.mark.parametrize(
        "order",
        list(itertools.permutations([OPEN_FRAME, RESPONSE_FRAME, CONNECT_FRAME])),
        ids=lambda order: "-".join(frame[:2] for frame in order),
    )
    def test_ready_only_after_open_and_connect_in_any_order(self, order: tuple[str, ...]) -> None:
        client = ClientProtocol()
        seen: set[str] = set()
        assert client.state is ConnectionState.OPENING
        for frame in order:
            event = client.receive(frame)
            seen.add(frame)
            ready = {OPEN_FRAME, CONNECT_FRAME} <= seen
            assert (client.state is ConnectionState.READY) == ready
            # The frame that completes the sequence, and only that one, reports it.
            completes = ready and frame in (OPEN_FRAME, CONNECT_FRAME)
            assert (event == Ready(OPEN_INFO)) == completes
        assert client.state is ConnectionState.READY

    def test_results_of_the_opening_sequence(self) -> None:
        client = ClientProtocol()
        assert client.receive(OPEN_FRAME) == Ignored(
            "open packet (waiting for the namespace CONNECT)"
        )
        assert client.open_info == OPEN_INFO
        assert client.state is ConnectionState.OPENING
        assert client.receive(RESPONSE_FRAME) == EventReceived(
            "response", [{"user": None, "socket": {"id": "s1"}}]
        )
        assert client.receive(CONNECT_FRAME) == Ready(OPEN_INFO)
        assert client.state is ConnectionState.READY

    def test_results_of_the_opening_sequence_with_connect_first(self) -> None:
        client = ClientProtocol()
        assert client.receive(CONNECT_FRAME) == Ignored(
            "namespace CONNECT (waiting for the open packet)"
        )
        assert client.receive(RESPONSE_FRAME) == EventReceived(
            "response", [{"user": None, "socket": {"id": "s1"}}]
        )
        assert client.state is ConnectionState.OPENING
        assert client.receive(OPEN_FRAME) == Ready(OPEN_INFO)
        assert client.state is ConnectionState.READY

    def test_ready_is_reported_once(self) -> None:
        client = ready_client()
        other = OPEN_FRAME.replace("abc123", "other")
        assert client.receive(OPEN_FRAME) == Ignored("a repeated open packet")
        assert client.receive(other) == Ignored("a repeated open packet")
        assert client.receive(CONNECT_FRAME) == Ignored("a repeated namespace CONNECT")
        assert client.state is ConnectionState.READY
        assert client.open_info == OPEN_INFO  # the first open packet counts

    def test_connect_for_another_namespace_does_not_make_ready(self) -> None:
        client = ClientProtocol()
        client.receive(OPEN_FRAME)
        assert client.receive("40/admin,") == Ignored("packet for namespace '/admin'")
        assert client.state is ConnectionState.OPENING

    def test_client_on_a_custom_namespace(self) -> None:
        client = ClientProtocol("/admin")
        client.receive(OPEN_FRAME)
        assert isinstance(client.receive("40"), Ignored)
        assert client.state is ConnectionState.OPENING
        assert client.receive("40/admin,") == Ready(OPEN_INFO)
        assert client.state is ConnectionState.READY
        assert client.receive('42/admin,["hello",1]') == EventReceived("hello", [1])
        assert client.command_frame(ENVELOPE)[0] == 0
        assert client.receive('43/admin,0["ok"]') == AckReceived(0, ["ok"], '["ok"]')

    def test_disconnect_ends_readiness(self) -> None:
        client = ready_client()
        assert client.receive("41") == ServerClosed("the server disconnected namespace '/'")
        assert client.state is ConnectionState.CLOSED

    @pytest.mark.parametrize("ending", ["1", "41", '44"Not authorized"'])
    def test_a_connection_closed_while_opening_never_becomes_ready(self, ending: str) -> None:
        client = ClientProtocol()
        client.receive(OPEN_FRAME)
        assert isinstance(client.receive(ending), ServerClosed | NamespaceError)
        assert client.receive(CONNECT_FRAME) == Ignored(
            "a namespace CONNECT on a closed connection"
        )
        assert client.state is ConnectionState.CLOSED

    def test_an_open_packet_on_a_closed_connection_is_ignored(self) -> None:
        client = ClientProtocol()
        client.receive(CONNECT_FRAME)
        client.close()
        assert client.receive(OPEN_FRAME) == Ignored("an open packet on a closed connection")
        assert client.open_info is None
        assert client.state is ConnectionState.CLOSED

    @given(
        st.lists(
            st.sampled_from(
                [OPEN_FRAME, RESPONSE_FRAME, "40", "41", "40/admin,", "41/admin,", "3", "6"]
            ),
            max_size=12,
        )
    )
    @ROUND_TRIP
    def test_ready_once_open_and_connect_arrive_unless_disconnected_first(
        self, frames: list[str]
    ) -> None:
        # A DISCONNECT closes the connection for good: a CONNECT after it changes nothing.
        client = ClientProtocol()
        opened = connected = closed = False
        readies = 0
        for frame in frames:
            event = client.receive(frame)
            closed = closed or frame == "41"
            opened = opened or (frame == OPEN_FRAME and not closed)
            connected = connected or (frame == "40" and not closed)
            readies += event == Ready(OPEN_INFO)
            assert (client.state is ConnectionState.READY) == (opened and connected and not closed)
            assert (client.state is ConnectionState.CLOSED) == closed
            assert readies == (opened and connected)  # once, and never undone


class TestClientCommands:
    def test_envelope_has_exactly_the_protocol_md_fields(self) -> None:
        assert ENVELOPE == {
            "message": "event:list",
            "payload": {"listId": "default", "sportId": 11, "country": "GB"},
            "timestamp": 1768921912089,
            "userAgent": USER_AGENT,
            "webappVersion": "1.0.1.1768909734556",
        }

    def test_command_frame_is_the_exact_protocol_md_event(self) -> None:
        client = ready_client()
        ack_id, frame = client.command_frame(ENVELOPE)
        assert (ack_id, frame) == (0, f'420["command",{ENVELOPE_JSON}]')

    def test_command_frames_get_fresh_increasing_ack_ids(self) -> None:
        client = ready_client()
        results = [client.command_frame(ENVELOPE) for _ in range(12)]
        assert [ack_id for ack_id, _ in results] == list(range(12))
        for ack_id, frame in results:
            assert frame == f'42{ack_id}["command",{ENVELOPE_JSON}]'
            packet = decode_socket_packet(decode_engine_packet(frame).data)
            assert packet == SocketPacket(
                SocketPacketType.EVENT, ["command", ENVELOPE], ack_id=ack_id
            )

    def test_each_connection_counts_its_own_ack_ids(self) -> None:
        first, second = ready_client(), ready_client()
        first.command_frame(ENVELOPE)
        assert second.command_frame(ENVELOPE)[0] == 0

    def test_command_frame_on_a_custom_namespace(self) -> None:
        client = ready_client("/admin")
        assert client.command_frame(ENVELOPE) == (0, f'42/admin,0["command",{ENVELOPE_JSON}]')

    def test_commands_may_be_sent_before_the_connection_is_ready(self) -> None:
        client = ClientProtocol()
        assert client.command_frame(ENVELOPE) == (0, f'420["command",{ENVELOPE_JSON}]')
        assert client.pending == {0}

    def test_ack_answers_the_command_with_its_raw_json(self) -> None:
        client = ready_client()
        ack_id, _ = client.command_frame(ENVELOPE)
        raw = '[{"timestamp":1768921912389,"data":{"events":[{"id":10748848,"sportId":11}]}}]'
        assert client.receive(f"43{ack_id}{raw}") == AckReceived(ack_id, json.loads(raw), raw)


class TestClientResults:
    @pytest.mark.parametrize(
        ("frame", "expected"),
        [
            ("3", PongReceived("")),
            ("3probe", PongReceived("probe")),
            ("1", ServerClosed("the server sent an Engine.IO close packet")),
            ("6", Ignored("noop")),
            ("5", Ignored("upgrade")),
            ("2", Ignored("ping from server")),
            # No command was sent: these acks answer nothing (test_protocol_acks.py).
            ('4317[{"data":{}}]', UnknownAck(17, """'[{"data":{}}]'""")),
            ("43123456789012345678[1]", UnknownAck(123456789012345678, "'[1]'")),
            ('42["response",{"a":1}]', EventReceived("response", [{"a": 1}])),
            ('42["bare"]', EventReceived("bare", [])),
            ('425["with-ack",1,2]', EventReceived("with-ack", [1, 2])),
            ('44"Not authorized"', NamespaceError("/", "Not authorized")),
            ('44{"message":"x"}', NamespaceError("/", {"message": "x"})),
            ("40/admin,", Ignored("packet for namespace '/admin'")),
            ("41/admin,", Ignored("packet for namespace '/admin'")),
            ('42/admin,5["x"]', Ignored("packet for namespace '/admin'")),
            ('43/admin,5["x"]', Ignored("packet for namespace '/admin'")),
            ('44/admin,"no"', Ignored("packet for namespace '/admin'")),
        ],
    )
    def test_frame_gives_result(self, frame: str, expected: object) -> None:
        assert ready_client().receive(frame) == expected

    @pytest.mark.parametrize(
        ("frame", "ack_id", "raw"),
        [
            ('4317[{"data":{}}]', 17, '[{"data":{}}]'),
            ("43003[1]", 3, "[1]"),  # leading zeros name the same id
        ],
    )
    def test_ack_for_a_waiting_command(self, frame: str, ack_id: int, raw: str) -> None:
        expected = AckReceived(ack_id, json.loads(raw), raw)
        assert client_waiting_for(ack_id).receive(frame) == expected

    def test_ignored_frames_do_not_change_state(self) -> None:
        client = ready_client()
        for frame in ("6", "5", "2", "41/admin,", '42/admin,5["x"]'):
            assert isinstance(client.receive(frame), Ignored)
        assert client.state is ConnectionState.READY
        assert client.open_info == OPEN_INFO


# ===================================================================== malformed input

DEEP = "[" * 100_000
HUGE_ACK_ID = "1" * 10_000

#: Malformed Socket.IO packets (the text inside an Engine.IO message) and what the
#: error must say.
BAD_SOCKET_PACKETS: list[tuple[str, str]] = [
    ("", "empty Socket.IO packet"),
    ("7", "unknown Socket.IO packet type '7'"),
    ("9[]", "unknown Socket.IO packet type '9'"),
    ("x", "unknown Socket.IO packet type 'x'"),
    ('51-["name",{"_placeholder":true,"num":0}]', "BINARY_EVENT packets"),
    ('61-17[{"_placeholder":true,"num":0}]', "BINARY_ACK packets"),
    ('2{"a":1}', "EVENT payload is an array"),
    ('2"response"', "EVENT payload is an array"),
    ("2", "EVENT payload is an array"),
    ("2[]", "EVENT payload is an array"),
    ("2[1]", "EVENT payload is an array"),
    ("2[null]", "EVENT payload is an array"),
    ('2[["x"]]', "EVENT payload is an array"),
    ('2/admin["x"]', "EVENT payload is an array"),  # no comma: all of it is the namespace
    ("3[1]", "ACK packet has no ack id"),
    ("3", "ACK packet has no ack id"),
    ('31{"a":1}', "ACK payload is an array"),
    ('31"x"', "ACK payload is an array"),
    ("31", "ACK payload is an array"),
    ('2["x"', "not valid JSON"),
    ('2["x"]]', "not valid JSON"),
    ("31[1,]", "not valid JSON"),
    ("2['x']", "not valid JSON"),
    ("31[1]x", "not valid JSON"),
    ('2-1["x"]', "not valid JSON"),
    ("2" + DEEP, "nested too deeply"),
    ("3" + HUGE_ACK_ID + "[]", "ack id of 10000 digits is too long"),
    ('2["x",' + "9" * 5000 + "]", "not valid JSON"),  # more digits than int() takes
]

#: Malformed open packets (the JSON after the ``0``).
BAD_OPEN_DATA: list[tuple[str, str]] = [
    ("", "not JSON"),
    ("{", "not JSON"),
    ('{"sid":"x","upgrades":[]}', "lacks positive pingInterval/pingTimeout"),
    ('{"pingInterval":25000}', "lacks positive pingInterval/pingTimeout"),
    ('{"pingInterval":0,"pingTimeout":1}', "lacks positive pingInterval/pingTimeout"),
    ('{"pingInterval":-5,"pingTimeout":1}', "lacks positive pingInterval/pingTimeout"),
    ('{"pingInterval":true,"pingTimeout":true}', "lacks positive pingInterval/pingTimeout"),
    ('{"pingInterval":"25000","pingTimeout":1}', "lacks positive pingInterval/pingTimeout"),
    ('{"pingInterval":Infinity,"pingTimeout":1}', "lacks positive pingInterval/pingTimeout"),
    ('{"pingInterval":NaN,"pingTimeout":1}', "lacks positive pingInterval/pingTimeout"),
    ('{"pingInterval":1e300,"pingTimeout":1}', "lacks positive pingInterval/pingTimeout"),
    ('{"pingInterval":1,"pingTimeout":1,"upgrades":"websocket"}', "upgrades is not a list"),
    ("[]", "not a JSON object"),
    ('"open"', "not a JSON object"),
    ("25000", "not a JSON object"),
    ("null", "not a JSON object"),
    (DEEP, "nested too deeply"),
]


def assert_protocol_error(exc: ProtocolError, frame: str | bytes, reason: str) -> None:
    assert isinstance(exc, ValueError)
    assert exc.frame == frame[:200]
    assert len(exc.frame) <= 200
    assert exc.frame_length == len(frame)
    assert reason in exc.reason
    assert reason in str(exc)
    assert len(str(exc)) < 1000  # a huge frame is never copied into the message


class TestMalformedEngineFrames:
    @pytest.mark.parametrize(
        ("frame", "reason"),
        [
            ("", "empty frame"),
            ("7", "unknown Engine.IO packet type '7'"),
            ("9probe", "unknown Engine.IO packet type '9'"),
            ("a42", "unknown Engine.IO packet type 'a'"),
            (" 42", "unknown Engine.IO packet type ' '"),
            ('{"sid":1}', "unknown Engine.IO packet type '{'"),
            ("٤2", "unknown Engine.IO packet type '٤'"),  # a non-ASCII digit
        ],
    )
    @pytest.mark.parametrize("decode", [decode_engine_packet, receive_on_fresh_client])
    def test_bad_text_frame(self, decode: Any, frame: str, reason: str) -> None:
        with pytest.raises(ProtocolError) as info:
            decode(frame)
        assert_protocol_error(info.value, frame, reason)

    @pytest.mark.parametrize(
        "frame", [b"", b"4", b'42["x"]', b"\x04\x00\xff", bytes(range(256)) * 4]
    )
    @pytest.mark.parametrize(
        "decode", [decode_engine_packet, decode_socket_packet, receive_on_fresh_client]
    )
    def test_binary_frame(self, decode: Any, frame: bytes) -> None:
        with pytest.raises(ProtocolError) as info:
            decode(frame)
        assert_protocol_error(info.value, frame, "binary")
        assert f"<{len(frame)} bytes" in str(info.value)

    def test_binary_frame_error_names_binary(self) -> None:
        with pytest.raises(ProtocolError, match="binary frames are not supported"):
            ClientProtocol().receive(b'42["x"]')


class TestMalformedSocketPackets:
    @pytest.mark.parametrize(("text", "reason"), BAD_SOCKET_PACKETS)
    def test_decode_socket_packet_refuses(self, text: str, reason: str) -> None:
        with pytest.raises(ProtocolError) as info:
            decode_socket_packet(text)
        assert_protocol_error(info.value, text, reason)

    @pytest.mark.parametrize(("text", "reason"), BAD_SOCKET_PACKETS)
    def test_client_refuses_with_the_whole_frame(self, text: str, reason: str) -> None:
        client = ready_client()
        frame = "4" + text
        with pytest.raises(ProtocolError) as info:
            client.receive(frame)
        assert_protocol_error(info.value, frame, reason)
        assert client.state is ConnectionState.READY  # a bad frame changes nothing

    def test_long_frame_is_truncated_in_the_error(self) -> None:
        frame = "42" + "{" * 5000
        with pytest.raises(ProtocolError) as info:
            ClientProtocol().receive(frame)
        assert info.value.frame == frame[:200]
        assert "(5002 chars)" in str(info.value)


class TestMalformedOpenPackets:
    @pytest.mark.parametrize(("data", "reason"), BAD_OPEN_DATA)
    def test_parse_open_data_refuses(self, data: str, reason: str) -> None:
        with pytest.raises(ProtocolError) as info:
            parse_open_data(data)
        assert_protocol_error(info.value, data, reason)

    @pytest.mark.parametrize(("data", "reason"), BAD_OPEN_DATA)
    def test_client_refuses_with_the_whole_frame(self, data: str, reason: str) -> None:
        client = ClientProtocol()
        frame = "0" + data
        with pytest.raises(ProtocolError) as info:
            client.receive(frame)
        assert_protocol_error(info.value, frame, reason)
        assert client.open_info is None
        assert client.state is ConnectionState.OPENING

    @pytest.mark.parametrize("where", ["sid", "upgrades"])
    def test_open_data_nested_just_below_the_json_limit(self, where: str) -> None:
        # Whatever depth json.loads still accepts, str() of it must not escape as
        # RecursionError either.
        for depth in range(900, 1100, 7):
            nested = "[" * depth + "]" * depth
            value = nested if where == "sid" else f"[{nested}]"
            data = f'{{"{where}":{value},"pingInterval":1,"pingTimeout":1}}'
            only_protocol_errors(parse_open_data, data)


# ================================================================= Hypothesis: strategies

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=4)
namespaces = st.just(DEFAULT_NAMESPACE) | st.from_regex(r"/[a-z]+", fullmatch=True)
ack_ids = st.integers(min_value=0, max_value=10**20)
optional_ack_ids = st.none() | ack_ids
NON_BINARY_TYPES = [t for t in SocketPacketType if t < SocketPacketType.BINARY_EVENT]


@st.composite
def socket_packets(draw: st.DrawFn) -> SocketPacket:
    """Any non-binary packet, with the payload shape its type allows."""
    kind = draw(st.sampled_from(NON_BINARY_TYPES))
    namespace = draw(namespaces)
    ack_id = draw(ack_ids if kind is SocketPacketType.ACK else optional_ack_ids)
    data: Any
    if kind is SocketPacketType.CONNECT:
        data = draw(st.none() | json_objects)
    elif kind is SocketPacketType.DISCONNECT:
        data = None
    elif kind is SocketPacketType.EVENT:
        data = [draw(st.text()), *draw(st.lists(json_values, max_size=4))]
    elif kind is SocketPacketType.ACK:
        data = draw(st.lists(json_values, max_size=4))
    else:
        data = draw(st.text() | json_objects)
    return SocketPacket(kind, data, namespace, ack_id)


engine_packets = st.builds(EnginePacket, st.sampled_from(EnginePacketType), st.text())

milliseconds = st.integers(min_value=1, max_value=2**53 - 1)
open_infos = st.builds(
    OpenInfo,
    sid=st.text(),
    upgrades=st.lists(st.text(), max_size=3).map(tuple),
    ping_interval=milliseconds.map(lambda ms: ms / 1000),
    ping_timeout=milliseconds.map(lambda ms: ms / 1000),
)

#: Characters the grammar gives meaning to, plus a few letters, so that random text
#: reaches namespaces, ack ids, JSON and the shape checks rather than dying at the type.
PROTOCOL_ALPHABET = string.digits + '[]{}",/-: ' + "abetruxnl" + "é"
protocol_text = st.text(alphabet=PROTOCOL_ALPHABET, max_size=60)
#: Frame heads that steer the rest of the frame into each decoder's branches (the
#: Engine.IO type, then the Socket.IO type, namespace, attachments and ack id).
FRAME_HEADS = ["", "0", "1", "2", "3", "4", "5", "6", "40", "41", "42", "43", "44", "45", "46"]
FRAME_MIDDLES = ["", "/", "/a,", "/a", "1", "17", "1-", "/a,17", '["response"', "{"]
frame_like_text = st.builds(
    lambda head, middle, body: head + middle + body,
    st.sampled_from(FRAME_HEADS),
    st.sampled_from(FRAME_MIDDLES) | protocol_text,
    protocol_text | json_values.map(json.dumps),
)


def only_protocol_errors(decode: Any, frame: str | bytes) -> Any:
    """Decode *frame*: anything but success or a well-formed ProtocolError fails the test.

    Returns what *decode* returned, or ``None`` if it raised a ProtocolError.
    """
    error: ProtocolError | None = None
    result: Any = None
    try:
        result = decode(frame)
    except ProtocolError as exc:
        error = exc
    if error is not None:
        assert isinstance(error, ValueError)
        assert error.frame == frame[:200]
        assert error.frame_length == len(frame)
        assert error.reason
    return result


def fuzz_every_decoder(frame: str | bytes) -> None:
    """Feed *frame* to every entry point of the codec; only ProtocolError may escape."""
    only_protocol_errors(decode_engine_packet, frame)
    only_protocol_errors(receive_on_fresh_client, frame)
    only_protocol_errors(ready_client().receive, frame)
    packet = only_protocol_errors(decode_socket_packet, frame)
    if packet is not None and (packet.data is None or isinstance(packet.data, list | dict | str)):
        # What was decoded can be sent again and means the same.
        assert decode_socket_packet(encode_socket_packet(packet)) == packet


# ================================================================ Hypothesis: round trips


class TestRoundTrips:
    @given(engine_packets)
    @ROUND_TRIP
    def test_engine_packet_round_trip(self, packet: EnginePacket) -> None:
        frame = encode_engine_packet(packet)
        assert decode_engine_packet(frame) == packet
        assert encode_engine_packet(decode_engine_packet(frame)) == frame

    @given(open_infos)
    @ROUND_TRIP
    def test_open_data_round_trip(self, info: OpenInfo) -> None:
        assert parse_open_data(encode_open_data(info)) == info
        client = ClientProtocol()
        client.receive(CONNECT_FRAME)
        assert client.receive("0" + encode_open_data(info)) == Ready(info)

    @given(socket_packets())
    @ROUND_TRIP
    def test_socket_packet_round_trip(self, packet: SocketPacket) -> None:
        text = encode_socket_packet(packet)
        decoded = decode_socket_packet(text)
        assert decoded == packet
        assert encode_socket_packet(decoded) == text
        if packet.data is None:
            assert decoded.raw_data == ""
        else:
            assert text.endswith(decoded.raw_data)
            assert json.loads(decoded.raw_data) == packet.data

    @given(socket_packets())
    @ROUND_TRIP
    def test_message_frame_round_trip_through_the_client(self, packet: SocketPacket) -> None:
        frame = message_frame(packet)
        assert decode_socket_packet(decode_engine_packet(frame).data) == packet
        result = ClientProtocol(packet.namespace).receive(frame)
        if packet.type is SocketPacketType.EVENT:
            assert result == EventReceived(packet.data[0], packet.data[1:])
        elif packet.type is SocketPacketType.ACK:
            assert packet.ack_id is not None
            raw = decode_socket_packet(encode_socket_packet(packet)).raw_data
            assert frame.endswith(raw)
            # A fresh client sent no command; one that did gets the ack itself.
            assert result == UnknownAck(packet.ack_id, excerpt(raw, 80))
            if packet.ack_id < 64:
                waiting = client_waiting_for(packet.ack_id, packet.namespace)
                assert waiting.receive(frame) == AckReceived(packet.ack_id, packet.data, raw)
        elif packet.type is SocketPacketType.CONNECT:
            assert result == Ignored("namespace CONNECT (waiting for the open packet)")
        elif packet.type is SocketPacketType.DISCONNECT:
            assert isinstance(result, ServerClosed)
        else:
            assert result == NamespaceError(packet.namespace, packet.data)
        # The same frame, seen by a client of another namespace, is ignored.
        assert isinstance(ClientProtocol("/other-ns").receive(frame), Ignored)

    @given(
        st.lists(json_values, max_size=4),
        st.integers(min_value=0, max_value=40),
        st.sampled_from([None, 0, 1, 2]),
    )
    @settings(max_examples=300, deadline=None, database=None)
    def test_ack_raw_args_is_the_received_json_verbatim(
        self, args: list[Any], ack_id: int, indent: int | None
    ) -> None:
        # Spelled differently from the encoder's compact form, and ASCII-escaped.
        raw = json.dumps(args, indent=indent)
        result = client_waiting_for(ack_id).receive(f"43{ack_id}{raw}")
        assert result == AckReceived(ack_id, args, raw)
        assert isinstance(result, AckReceived)
        assert result.raw_args == raw


# ==================================================================== Hypothesis: fuzzers


class TestFuzzOnlyProtocolErrors:
    """decode_engine_packet, decode_socket_packet and ClientProtocol.receive (fresh and
    ready) get the same input; anything but a ProtocolError escaping is a bug."""

    @given(st.text())
    @FUZZ
    def test_arbitrary_text(self, frame: str) -> None:
        fuzz_every_decoder(frame)

    @given(frame_like_text)
    @FUZZ
    def test_text_from_the_protocol_alphabet(self, frame: str) -> None:
        fuzz_every_decoder(frame)

    @given(st.binary())
    @FUZZ
    def test_arbitrary_bytes(self, frame: bytes) -> None:
        fuzz_every_decoder(frame)
        for decode in (decode_engine_packet, decode_socket_packet, receive_on_fresh_client):
            with pytest.raises(ProtocolError, match="binary"):
                decode(frame)

    @given(st.lists(frame_like_text | st.sampled_from([OPEN_FRAME, "40", "41"]), max_size=6))
    @settings(max_examples=500, deadline=None, database=None)
    def test_client_survives_any_sequence_of_frames(self, frames: list[str]) -> None:
        client = ClientProtocol()
        client.command_frame(ENVELOPE)
        readies = 0
        for frame in frames:
            before = client.state
            event = only_protocol_errors(client.receive, frame)
            readies += isinstance(event, Ready)
            assert readies <= 1
            if client.state is ConnectionState.READY:
                assert readies == 1
                assert client.open_info is not None
            if before is ConnectionState.CLOSED:
                assert client.state is ConnectionState.CLOSED
            if client.state is ConnectionState.CLOSED:
                assert client.pending == set()
