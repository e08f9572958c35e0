"""ClientProtocol.command_frame_for: the frame of command_frame(command_envelope(...)), exactly."""

from __future__ import annotations

from typing import Any

import pytest

from kwiff_scrapy.protocol import InvalidState, command_envelope
from kwiff_scrapy.protocol.client import ClientProtocol, ConnectionState

PAYLOADS: list[Any] = [
    None,
    {},
    [],
    "a string",
    {"listId": "default", "sportId": 11, "country": "GB"},
    {"betBuilderOutcomeGroups": [{"source": 1, "outcomeIds": [2**40, 2**70], "eventId": 7}]},
    {"name": "Atlético \u2013 東京 \u2028 \x7f", "quote": '"\\/\n\t\x00', "emoji": "⚽"},
    {"floats": [0.1, 1e16, 1.5e-7, -0.0, float("nan"), float("inf")], "bools": [True, False]},
    {3: "int key", 2.5: "float key", False: "bool key", None: "null key"},
    ("a", "tuple"),
    {"lone surrogate": "\ud800"},
    {"nested": [[[{"deep": [1, [2, [3]]]}]]]},
]
AGENTS = [
    ("Mozilla/5.0 (X11; Linux x86_64)", "1.0.1"),
    ("", ""),
    ('quote " and \\ and ünïcode', "2.0\n"),
]


def both(message: str, payload: Any, user_agent: str, version: str, namespace: str = "/") -> Any:
    arguments: dict[str, Any] = {
        "timestamp_ms": 1764590000123,
        "user_agent": user_agent,
        "webapp_version": version,
    }
    general, fast = ClientProtocol(namespace), ClientProtocol(namespace)
    expected = general.command_frame(command_envelope(message, payload, **arguments))
    got = fast.command_frame_for(message, payload, **arguments)
    assert fast.pending == general.pending
    return got, expected


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize(("user_agent", "version"), AGENTS)
def test_the_same_frame_as_the_envelope_encoded_whole(
    payload: Any, user_agent: str, version: str
) -> None:
    for message in ("ticket:odds:get", 'ünïcode "quoted"\n'):
        got, expected = both(message, payload, user_agent, version)
        assert got == expected


def test_the_same_on_another_namespace() -> None:
    got, expected = both("event:get", {"eventId": 1}, "agent", "1", namespace="/admin")
    assert got == expected
    assert got[1].startswith("42/admin,0[")


def test_ids_are_shared_with_command_frame_and_become_pending() -> None:
    client = ClientProtocol()
    first = client.command_frame_for("a", {}, timestamp_ms=1, user_agent="u", webapp_version="v")
    second = client.command_frame(
        command_envelope("b", {}, timestamp_ms=1, user_agent="u", webapp_version="v")
    )
    third = client.command_frame_for("c", {}, timestamp_ms=1, user_agent="u", webapp_version="v")
    assert [first[0], second[0], third[0]] == [0, 1, 2]
    assert client.pending == {0, 1, 2}


def test_a_timestamp_that_is_not_a_plain_int_is_encoded_as_json_does() -> None:
    got, expected = both("m", {}, "u", "v")
    assert got == expected
    client, general = ClientProtocol(), ClientProtocol()
    for timestamp in (True, 1.5):
        frame = client.command_frame_for(
            "m", {}, timestamp_ms=timestamp, user_agent="u", webapp_version="v"
        )
        envelope = command_envelope(
            "m", {}, timestamp_ms=timestamp, user_agent="u", webapp_version="v"
        )
        assert frame == general.command_frame(envelope)


def test_what_json_refuses_is_refused_the_same_way_and_nothing_is_pending() -> None:
    client, general = ClientProtocol(), ClientProtocol()
    envelope = command_envelope(
        "m", {"x": object()}, timestamp_ms=1, user_agent="u", webapp_version="v"
    )
    with pytest.raises(TypeError) as expected:
        general.command_frame(envelope)
    with pytest.raises(TypeError) as got:
        client.command_frame_for(
            "m", {"x": object()}, timestamp_ms=1, user_agent="u", webapp_version="v"
        )
    assert str(got.value) == str(expected.value)
    assert client.pending == general.pending == frozenset()
    # The id it did not use is not skipped, as in command_frame.
    assert (
        client.command_frame_for("m", {}, timestamp_ms=1, user_agent="u", webapp_version="v")[0]
        == 0
    )


def test_a_closed_connection_sends_no_command() -> None:
    client = ClientProtocol()
    client.close()
    assert client.state is ConnectionState.CLOSED
    with pytest.raises(InvalidState):
        client.command_frame_for("m", {}, timestamp_ms=1, user_agent="u", webapp_version="v")
