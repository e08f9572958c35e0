"""The codec's fast paths give exactly what its general paths give.

- :func:`kwiff_scrapy.protocol.jsondecode.loads` (msgspec when installed, else the
  standard library) against ``json.loads``, value for value and type for type, on
  JSON and near-JSON text, as ``str`` and as UTF-8 bytes; and with msgspec switched off.
- :meth:`ClientProtocol.receive` of a pending ack (no copies of the frame) against the
  general path, and :meth:`ClientProtocol.receive_utf8` (a text frame as bytes)
  against :meth:`ClientProtocol.receive` of the decoded text.
- :class:`AckReceived` holding its JSON as ``raw_args`` or as ``body``.
- ``KwiffResponse.json()`` of a response made from bytes, against Scrapy's own.
"""

from __future__ import annotations

import json
import math
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kwiff_scrapy.integration.http import KwiffRequest, KwiffResponse
from kwiff_scrapy.protocol import (
    AckReceived,
    ClientProtocol,
    ConnectionState,
    ProtocolError,
    SocketPacket,
    SocketPacketType,
    command_envelope,
    jsondecode,
    message_frame,
)

from ..support.extras import unavailable
from .test_protocol import json_objects, json_values, socket_packets

# The decoder fixture sets a module attribute for the whole test: the same for every input.
DIFFERENTIAL = settings(
    max_examples=500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
OPEN_FRAME = '0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":60000}'
ENVELOPE = command_envelope(
    "event:get", {"eventId": 1}, timestamp_ms=1, user_agent="UA", webapp_version="1"
)

#: Texts on which decoders are known to part ways with ``json.loads``.
EDGE_TEXTS = [
    *("[NaN]", "[Infinity]", "[-Infinity]", "[1e400]", "[-1e400]", "[1e-400]", "[-0]", "[-0.0]"),
    *("[18446744073709551616]", "[-9223372036854775809]", "[" + "9" * 400 + "]"),
    *('["\\ud800"]', '["\\udc00\\ud800"]', '["\\ud83d\\ude00"]', '"\\u0000"', '["\\/"]'),
    *('{"a":1,"b":2,"a":3}', "\ufeff[1]", " [1] ", "[1]\x0c", '["\x01"]', '["\x7f"]', "[1.0]"),
    *("[1E2]", "[01]", "[1.]", "[.5]", "[+1]", "[1,]", '{"a":1,}', "[1] x", "", " ", "null"),
    *("[2.2250738585072011e-308]", "[4.9406564584124654e-324]", "[9007199254740993]"),
    *("[1.7976931348623157e308]", "[1e309]", "[0.1e1]", '["é", "€", "𝄞"]', "é", '"\ud800"'),
    *("[" * 2000, "[" * 990 + "]" * 990, '{"a":' * 990 + "1" + "}" * 990, "[" * 5000 + "]" * 5000),
]


def outcome(decode: Any, data: Any) -> tuple[str, Any]:
    """What decoding *data* gives: ("ok", a type-exact rendering) or ("error", kind)."""
    try:
        value = decode(data)
    except RecursionError:
        return "error", "RecursionError"
    except ValueError:
        return "error", "ValueError"
    return "ok", exact(value)


def exact(value: Any) -> Any:
    """*value* with every type explicit: 1, 1.0 and True differ, NaN equals NaN, -0.0 is seen."""
    if isinstance(value, dict):
        return ("dict", [(key, exact(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [exact(item) for item in value])
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value.hex())
    return (type(value).__name__, value)


def reference(text: str) -> tuple[str, Any]:
    return outcome(json.loads, text)


@pytest.fixture(params=["fast", "standard library"])
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs with msgspec (if installed) and with the standard library alone."""
    if request.param == "standard library":
        monkeypatch.setattr(jsondecode, "fast_loads", None)
    elif jsondecode.fast_loads is None:
        unavailable("the fast decoder needs msgspec, a dependency: pip install -e .")
    return str(request.param)


# ------------------------------------------------------------------------ the decoder


class TestLoadsIsJsonLoads:
    @pytest.mark.parametrize("text", EDGE_TEXTS)
    def test_edge_texts(self, decoder: str, text: str) -> None:
        expected = reference(text)
        assert outcome(jsondecode.loads, text) == expected
        utf8 = text.encode("utf-8", "surrogatepass")
        assert outcome(lambda b: jsondecode.loads(b, surrogatepass=True), utf8) == expected
        if "\ud800" not in text:  # strict UTF-8 bytes mean the same text
            assert outcome(jsondecode.loads, utf8) == expected

    @pytest.mark.parametrize("data", [b'["\xff"]', b'["\xed\xa0\x80"]', b'["a\xe2\x82"]'])
    def test_invalid_utf8_bytes_are_a_value_error(self, decoder: str, data: bytes) -> None:
        with pytest.raises(ValueError, match="utf-8"):
            jsondecode.loads(data)

    def test_surrogatepass_bytes_decode_lone_surrogates(self, decoder: str) -> None:
        text = '["a\ud800b"]'
        assert jsondecode.loads(text.encode("utf-8", "surrogatepass"), surrogatepass=True) == [
            "a\ud800b"
        ]

    @given(
        json_values,
        st.sampled_from([None, 0, 2]),
        st.booleans(),
        st.sampled_from(["", " ", "\n\t", "x", ",", "]"]),
    )
    @DIFFERENTIAL
    def test_any_json_document(
        self, decoder: str, value: Any, indent: int | None, ascii_only: bool, tail: str
    ) -> None:
        text = json.dumps(value, indent=indent, ensure_ascii=ascii_only) + tail
        expected = reference(text)
        assert outcome(jsondecode.loads, text) == expected
        assert outcome(jsondecode.loads, text.encode()) == expected

    @given(
        st.text(alphabet=string.digits + '-+.eE[]{}",: \\unaINftyl\x00\x1f', max_size=40)
        | st.from_regex(r"\[-?[0-9]{1,30}(\.[0-9]{0,20})?([eE][-+]?[0-9]{1,4})?\]", fullmatch=True)
    )
    @DIFFERENTIAL
    def test_near_json_text(self, decoder: str, text: str) -> None:
        expected = reference(text)
        assert outcome(jsondecode.loads, text) == expected
        assert outcome(jsondecode.loads, text.encode()) == expected

    def test_decoder_is_named(self) -> None:
        assert jsondecode.DECODER.split()[0] in ("msgspec", "json")


# ------------------------------------------------------------------ the codec's fast paths


def ready_client() -> ClientProtocol:
    client = ClientProtocol()
    client.receive(OPEN_FRAME)
    client.receive("40")
    assert client.state is ConnectionState.READY
    return client


def waiting_client(commands: int = 3) -> ClientProtocol:
    client = ready_client()
    for _ in range(commands):
        client.command_frame(ENVELOPE)
    return client


def general_path(client: ClientProtocol, frame: str) -> Any:
    """What the general path (no fast path) makes of *frame*."""
    try:
        return client._receive(frame)
    except ProtocolError as exc:
        return ("error", exc.reason)


def either_path(receive: Any, frame: Any) -> Any:
    try:
        return receive(frame)
    except ProtocolError as exc:
        return ("error", exc.reason)


ACK_FRAMES = [
    '431[{"timestamp":1,"data":{"result":{"id":7}}}]',
    "430[]",
    '432["é","𝄞",1.5,null,true]',
    "431 [1] ",
    '431[{"a":NaN}]',
    '431["\\ud800"]',
    "431[" + "9" * 30 + "]",
    '431{"a":1}',
    '431"x"',
    "431[1",
    "431",
    "4301[]",
    "43/admin,1[]",
    "43" + "1" * 25 + "[]",
    "437[]",
    "431" + "[" * 3000,
]


class TestPendingAckFastPath:
    @pytest.mark.parametrize("frame", ACK_FRAMES)
    def test_same_event_or_error_as_the_general_path(self, decoder: str, frame: str) -> None:
        fast, general = waiting_client(), waiting_client()
        assert either_path(fast.receive, frame) == general_path(general, frame)
        assert fast.pending == general.pending
        # And again: the second time the id is answered (or still pending).
        assert either_path(fast.receive, frame) == general_path(general, frame)

    @pytest.mark.parametrize("frame", ACK_FRAMES)
    def test_utf8_bytes_same_as_the_text(self, decoder: str, frame: str) -> None:
        as_bytes, as_text = waiting_client(), waiting_client()
        expected = either_path(as_text.receive, frame)
        assert either_path(as_bytes.receive_utf8, frame.encode()) == expected
        assert as_bytes.pending == as_text.pending

    def test_the_ack_holds_its_json_once_as_utf8(self) -> None:
        client = waiting_client(1)
        event = client.receive_utf8('430[{"name":"é"}]'.encode())
        assert isinstance(event, AckReceived)
        assert event.body == '[{"name":"é"}]'.encode()
        assert event.raw_args == '[{"name":"é"}]'
        assert event._raw_args is None  # made when asked, not kept

    @given(socket_packets())
    # Hypothesis's text holds no lone surrogate: these frames do.
    @example(SocketPacket(SocketPacketType.EVENT, ["x", "\ud800"]))
    @example(SocketPacket(SocketPacketType.ACK, ["\udc00", 1], ack_id=0))
    @example(SocketPacket(SocketPacketType.ACK, ["\ud800"], namespace="/n", ack_id=2))
    @DIFFERENTIAL
    def test_any_packet_as_bytes_or_text(self, packet: SocketPacket) -> None:
        frame = message_frame(packet)
        clients = []
        for _ in range(2):
            client = ClientProtocol(packet.namespace)
            client.receive(OPEN_FRAME)
            client.receive("40" if packet.namespace == "/" else f"40{packet.namespace},")
            if packet.type is SocketPacketType.ACK and packet.ack_id is not None:
                while packet.ack_id < 64 and max(client.pending, default=-1) < packet.ack_id:
                    client.command_frame(ENVELOPE)
            clients.append(client)
        pending = clients[1].pending
        from_text = either_path(clients[0].receive, frame)
        from_bytes = either_path(clients[1].receive_utf8, frame.encode("utf-8", "surrogatepass"))
        if any("\ud800" <= c <= "\udfff" for c in frame):
            # A lone surrogate encoded is not UTF-8, so no text frame carries one: the bytes
            # path refuses the frame and changes nothing, whatever the text path makes of
            # it. (These frames are far under LAZY_DECODE_BYTES; a larger answer is refused
            # when decoded: test_lazy_ack.py.)
            assert from_bytes[0] == "error"
            assert from_bytes[1].startswith("a text frame is not valid UTF-8")
            assert clients[1].pending == pending
            return
        assert from_bytes == from_text
        assert clients[0].pending == clients[1].pending

    @pytest.mark.parametrize(
        "frame", [b'42["x",\xff]', b"\xff", b'431["\xed\xa0\x80"]', b"43\x801[]", b"4\xc3"]
    )
    def test_invalid_utf8_text_frame_is_a_protocol_error(self, frame: bytes) -> None:
        client = waiting_client()
        with pytest.raises(ProtocolError) as info:
            client.receive_utf8(frame)
        assert info.value.reason
        assert client.pending == waiting_client().pending  # nothing changed

    def test_binary_frames_still_refused_by_receive(self) -> None:
        with pytest.raises(ProtocolError, match="binary"):
            waiting_client().receive(b"431[]")


class TestCommandFrame:
    @given(st.text(), json_objects, st.sampled_from(["/", "/admin"]))
    @DIFFERENTIAL
    def test_the_frame_of_the_command_packet(
        self, message: str, payload: dict[str, Any], namespace: str
    ) -> None:
        envelope = command_envelope(
            message, payload, timestamp_ms=1, user_agent="UA", webapp_version="1"
        )
        client = ClientProtocol(namespace)
        for ack_id in range(3):
            packet = SocketPacket(SocketPacketType.EVENT, ["command", envelope], namespace, ack_id)
            assert client.command_frame(envelope) == (ack_id, message_frame(packet))


class TestAckReceived:
    def test_equal_whichever_text_it_holds(self) -> None:
        raw = '[{"a":"é"}]'
        held_text = AckReceived(1, [{"a": "é"}], raw)
        held_bytes = AckReceived(1, [{"a": "é"}], body=raw.encode())
        assert held_text == held_bytes
        assert held_text.body == held_bytes.body == raw.encode()
        assert held_text.raw_args == held_bytes.raw_args == raw
        assert held_text != AckReceived(2, [{"a": "é"}], raw)
        assert held_text != AckReceived(1, [{"a": "e"}], raw)
        assert repr(held_bytes) == repr(held_text)

    def test_surrogates_round_trip(self) -> None:
        raw = '["\ud800"]'
        assert AckReceived(0, ["\ud800"], raw).body == raw.encode("utf-8", "surrogatepass")
        assert AckReceived(0, [], body=raw.encode("utf-8", "surrogatepass")).raw_args == raw

    def test_takes_exactly_one_text(self) -> None:
        with pytest.raises(TypeError):
            AckReceived(0, [])
        with pytest.raises(TypeError):
            AckReceived(0, [], "[]", body=b"[]")

    def test_match_by_position_and_keyword(self) -> None:
        match AckReceived(3, [1], body=b"[1]"):
            case AckReceived(ack_id, args, raw_args=raw):
                assert (ack_id, args, raw) == (3, [1], "[1]")
            case _:
                pytest.fail("no match")


# ---------------------------------------------------------------- KwiffResponse.json()


BODIES = [
    b'[{"timestamp":1,"data":{"x":1.5,"y":[1,2]}}]',
    '[{"data":"é"}]'.encode(),
    b"[NaN]",
    b'[18446744073709551616, 1e400, "\\ud800"]',
    b"\xef\xbb\xbf[1]",
    "[1]".encode("utf-16"),
    "[1]".encode("utf-32"),
    b"[1",
    b"",
]


def scrapys_json(body: bytes) -> tuple[str, Any]:
    from scrapy.http import JsonResponse

    response = JsonResponse("https://example.com", body=body, encoding="utf-8")
    return outcome(lambda _: response.json(), None)


@pytest.mark.parametrize("body", BODIES)
def test_response_json_is_scrapys(decoder: str, body: bytes) -> None:
    request = KwiffRequest("event:get", {"eventId": 1})
    response = KwiffResponse(request.url, body=body, encoding="utf-8", request=request)
    assert outcome(lambda _: response.json(), None) == scrapys_json(body)


def test_response_from_ack_keeps_the_codecs_decoding() -> None:
    request = KwiffRequest("event:get", {"eventId": 1})
    args = [{"timestamp": 1, "data": None}]
    response = KwiffResponse.from_ack(request, b'[{"timestamp":1,"data":null}]', args)
    assert response.json() is args
    assert response.body == b'[{"timestamp":1,"data":null}]'
    from_text = KwiffResponse.from_ack(request, '[{"timestamp":1,"data":"é"}]', args)
    assert from_text.body == '[{"timestamp":1,"data":"é"}]'.encode()
