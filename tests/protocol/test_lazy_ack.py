"""Large answers: checked on arrival (``is_json_array``), decoded when first read.

The promise that makes the laziness safe: whatever :func:`is_json_array` accepts,
:func:`loads` decodes into a list, so an ack that arrived undecoded can never fail
later; whatever it refuses goes the eager way, which reports what is wrong at once.
"""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kwiff_scrapy.protocol import jsondecode
from kwiff_scrapy.protocol.client import LAZY_DECODE_BYTES, AckReceived, ProtocolError
from kwiff_scrapy.protocol.jsondecode import is_json_array, loads

from .test_protocol_fast import either_path, general_path, waiting_client

PROPERTY = settings(max_examples=500, deadline=None, database=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


@PROPERTY
@given(json_values)
def test_every_json_array_is_known_and_decodes_the_same(value: object) -> None:
    text = json.dumps([value], ensure_ascii=False)
    data = text.encode("utf-8", "surrogatepass")
    if is_json_array(data):
        assert loads(data) == json.loads(text)
    else:  # only what msgspec refuses: NaN, Infinity, lone surrogates
        surrogates = any(0xD800 <= ord(char) <= 0xDFFF for char in text)
        assert surrogates or "NaN" in text or "Infinity" in text


@PROPERTY
@given(
    st.binary(max_size=40)
    | st.text(alphabet=string.digits + '-+.eE[]{}",: \\unaINftyl\x00\x1f', max_size=40).map(
        str.encode
    )
    | st.text(max_size=20).map(lambda text: text.encode("utf-8", "surrogatepass"))
)
def test_what_is_accepted_always_decodes_into_a_list(data: bytes) -> None:
    if is_json_array(data):
        assert type(loads(data)) is list


@pytest.mark.parametrize(
    "data",
    [b'["\xff"]', b'["\xed\xa0\x80"]', b'["\xc0\xaf"]', b'["a\xe2\x82"]', b"{}", b'"x"', b"[1"],
)
def test_what_is_refused(data: bytes) -> None:
    assert not is_json_array(data)


def test_without_msgspec_nothing_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsondecode, "_scan_array", None)
    assert not is_json_array(b"[1]")


def large_ack_frame(ack_id: int, *, tail: str = "") -> bytes:
    names = ["Atlético", "Bayern München", "x" * 50] * (LAZY_DECODE_BYTES // 60)
    answer = json.dumps({"timestamp": 1, "data": {"names": names}}, ensure_ascii=False)
    return f"43{ack_id}[{answer}{tail}]".encode()


class TestLargeAcks:
    def test_arrive_undecoded_and_decode_when_read(self) -> None:
        client = waiting_client(1)
        frame = large_ack_frame(0)
        event = client.receive_utf8(frame)
        assert isinstance(event, AckReceived)
        assert event.args_if_decoded is None
        assert event.body == frame[3:]
        assert event.args == json.loads(frame[3:])
        assert event.args_if_decoded is event.args
        assert client.pending == set()

    def test_same_event_as_the_general_path(self) -> None:
        lazy, general = waiting_client(1), waiting_client(1)
        frame = large_ack_frame(0)
        assert lazy.receive_utf8(frame) == general_path(general, frame.decode())

    @pytest.mark.parametrize("tail", [",NaN", ',"\\ud800"', ",]", ",1"])
    def test_what_the_check_refuses_takes_the_eager_way(self, tail: str) -> None:
        eager, general = waiting_client(1), waiting_client(1)
        frame = large_ack_frame(0, tail=tail)
        event = either_path(eager.receive_utf8, frame)
        assert event == general_path(general, frame.decode())
        if isinstance(event, AckReceived):
            assert event.args_if_decoded is not None

    def test_malformed_utf8_is_still_a_protocol_error(self) -> None:
        client = waiting_client(1)
        frame = large_ack_frame(0).replace("é".encode(), b"\xff", 1)
        with pytest.raises(ProtocolError, match="UTF-8"):
            client.receive_utf8(frame)

    def test_small_acks_are_decoded_at_once(self) -> None:
        client = waiting_client(1)
        event = client.receive_utf8(b'430[{"timestamp":1}]')
        assert isinstance(event, AckReceived)
        assert event.args_if_decoded == [{"timestamp": 1}]


class TestSmallAcksLeftUndecoded:
    """``undecoded(ack_id)``: one command's ack stays undecoded whatever its size."""

    def test_arrives_undecoded_and_decodes_the_same_when_read(self) -> None:
        client = waiting_client(2)
        client.undecoded(0)
        event = client.receive_utf8(b'430[{"timestamp":1}]')
        assert isinstance(event, AckReceived)
        assert event.args_if_decoded is None
        assert event.args == [{"timestamp": 1}]
        other = client.receive_utf8(b'431[{"timestamp":2}]')  # the other: decoded at once
        assert isinstance(other, AckReceived)
        assert other.args_if_decoded == [{"timestamp": 2}]

    def test_what_the_check_refuses_takes_the_eager_way(self) -> None:
        eager, general = waiting_client(1), waiting_client(1)
        eager.undecoded(0)
        event = eager.receive_utf8(b'430[{"a":NaN}]')
        assert event == general_path(general, '430[{"a":NaN}]')
        assert isinstance(event, AckReceived)
        assert event.args_if_decoded is not None

    def test_only_a_pending_id_is_marked_and_no_mark_outlives_its_command(self) -> None:
        client = waiting_client(3)
        client.undecoded(7)  # never sent: nothing to mark
        for ack_id in range(3):
            client.undecoded(ack_id)
        client.receive_utf8(b"430[1]")
        client.abandon(1)
        assert client._undecoded == {2}
        client.close()
        assert client._undecoded == set()
