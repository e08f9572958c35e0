"""The async client against the simulator on loopback."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from kwiff_scrapy import KwiffClient
from kwiff_scrapy.client import CommandError
from kwiff_scrapy.connection.errors import (
    ConnectFailed,
    ConnectionLost,
    HandshakeRefused,
)
from kwiff_scrapy.connection.pool import Backoff
from kwiff_scrapy.model.items import KwiffEvent
from kwiff_scrapy.model.parsing import parse_events
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData

from ..conftest import StartSimulator
from ..support import waiting
from ..support.processes import closed_port

DATA = SimulatedData()
FIRST_FOOTBALL = DATA.events(11, "GB")[0]
FAST_RECONNECT = Backoff(base_delay=0.01, max_delay=0.01)


def client_for(simulator: KwiffSimulator, **options: Any) -> KwiffClient:
    return KwiffClient(simulator.url, timeout=options.pop("timeout", 10.0), **options)


def assert_event_matches(event: KwiffEvent, raw: dict[str, Any]) -> None:
    """*event* carries exactly the data of the simulator's raw event *raw*."""
    assert event.event_id == raw["id"]
    assert event.sport_id == raw["sportId"]
    assert event.competition_id == raw["competition"]["id"]
    assert event.competition_name == raw["competition"]["name"]
    assert event.home_team == raw["homeTeam"]["name"]
    assert event.away_team == raw["awayTeam"]["name"]
    assert event.start_time == raw["startDate"]
    assert event.betting_status == raw["bettingStatus"]
    assert event.match_tracker == raw["matchTracker"]
    assert event.bet_builder_enabled == raw["betBuilderEnabled"]
    raw_markets = raw["markets"] if "markets" in raw else raw["details"]["offers"]
    assert [(m.id, m.name) for m in event.markets] == [(m["id"], m["name"]) for m in raw_markets]
    for market, raw_market in zip(event.markets, raw_markets, strict=True):
        raw_outcomes = raw_market.get("outcomes") or raw_market["selections"]
        assert [(o.id, o.name, o.odds, o.fractional) for o in market.outcomes] == [
            (o["id"], o.get("outcomeName") or o["name"], o["odds"], o["fractional"])
            for o in raw_outcomes
        ]
    assert event.fetched_at is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event.fetched_at)


async def wait_until(condition: Callable[[], bool]) -> None:
    await waiting.until(condition)  # fails naming the condition, if it never holds


async def assert_no_tasks_left() -> None:
    """Nothing the client started is still running (a few loop turns for callbacks)."""
    for _ in range(5):
        await asyncio.sleep(0)
    assert asyncio.all_tasks() == {asyncio.current_task()}


# -- every method, exact data ----------------------------------------------------------


async def test_send_command_returns_the_answer_as_sent(simulator: KwiffSimulator) -> None:
    before_ms = time.time_ns() // 1_000_000
    async with client_for(simulator) as client:
        answer = await client.send_command(
            "event:list", {"listId": "default", "sportId": 11, "country": "GB"}
        )
    assert answer.error is None
    assert answer.data == {"events": DATA.events(11, "GB")}
    assert answer.timestamp_ms is not None
    assert before_ms <= answer.timestamp_ms <= time.time_ns() // 1_000_000
    assert answer.fetched_at is not None
    assert answer.fetched_at.endswith("Z")


async def test_send_command_returns_an_error_answer_without_raising(
    simulator: KwiffSimulator,
) -> None:
    async with client_for(simulator) as client:
        answer = await client.send_command("bet:place")
    assert answer.data is None
    assert answer.error == {"code": "UNKNOWN_COMMAND", "message": "unknown command 'bet:place'"}


async def test_get_football_events_has_every_simulated_event(simulator: KwiffSimulator) -> None:
    async with client_for(simulator) as client:
        events = await client.get_football_events(country="GB")
    expected = DATA.events(11, "GB")
    assert len(events) == len(expected) == 111
    for event, raw in zip(events, expected, strict=True):
        assert_event_matches(event, raw)
    assert {event.sport_name for event in events} == {"Football"}


async def test_get_events_from_the_answers_bytes_equal_the_tolerant_parse(
    simulator: KwiffSimulator,
) -> None:
    # The football list (1.2 MB) arrives undecoded and goes from bytes to items; the same
    # answer through send_command and parse_events must give the same items.
    payload = {"listId": "default", "sportId": 11, "country": "GB"}
    async with client_for(simulator) as client:
        events = await client.get_football_events(country="GB")
        answer = await client.send_command("event:list", payload)
    tolerant = parse_events(answer.data, fetched_at=answer.fetched_at)
    assert [(e.event_id, e.markets) for e in events] == [(e.event_id, e.markets) for e in tolerant]
    assert len(events) == 111


@pytest.mark.parametrize("sport", ["basketball", "Basketball", 36, "36"])
async def test_get_events_takes_a_sport_name_or_id(
    simulator: KwiffSimulator, sport: str | int
) -> None:
    async with client_for(simulator) as client:
        events = await client.get_events(sport=sport, country="ie")
    expected = DATA.events(36, "IE")
    assert len(events) == len(expected) == 40
    for event, raw in zip(events, expected, strict=True):
        assert_event_matches(event, raw)
    assert {event.sport_name for event in events} == {"Basketball"}


async def test_get_events_of_a_sport_without_events_is_empty(simulator: KwiffSimulator) -> None:
    async with client_for(simulator) as client:
        assert await client.get_events(sport=99) == []


async def test_get_events_rejects_an_unknown_sport_or_country_before_sending(
    simulator: KwiffSimulator,
) -> None:
    async with client_for(simulator) as client:
        with pytest.raises(ValueError, match="unknown sport 'curling': use one of basketball"):
            await client.get_events(sport="curling")
        with pytest.raises(ValueError, match="ISO 3166 alpha-2"):
            await client.get_events(country="GBR")
    assert simulator.commands_received == 0


async def test_get_event_has_every_market(simulator: KwiffSimulator) -> None:
    raw = DATA.event(FIRST_FOOTBALL["id"])
    assert raw is not None
    async with client_for(simulator) as client:
        event = await client.get_event(FIRST_FOOTBALL["id"])
        missing = await client.get_event(1)
    assert event is not None
    assert_event_matches(event, raw)
    assert len(event.markets) > len(FIRST_FOOTBALL["details"]["offers"])  # not only listed ones
    assert missing is None


async def test_get_combo_odds_prices_a_bet_builder_group(simulator: KwiffSimulator) -> None:
    event_id = FIRST_FOOTBALL["id"]
    home_win = FIRST_FOOTBALL["details"]["offers"][0]["outcomes"][0]["id"]
    both_score = FIRST_FOOTBALL["details"]["offers"][2]["outcomes"][0]["id"]
    (expected,) = DATA.price_groups(
        [{"source": 2, "outcomeIds": [home_win, both_score], "eventId": event_id}]
    )
    async with client_for(simulator) as client:
        group = await client.get_combo_odds(event_id, [home_win, both_score])
        same_market = await client.get_combo_odds(event_id, [home_win, home_win + 1])
    assert (group.event_id, group.outcome_ids, group.source) == (
        event_id,
        [home_win, both_score],
        2,
    )
    assert (group.odds, group.fractional) == (expected["odds"], expected["fractionalOdds"])
    assert group.odds is not None
    assert group.odds > 1
    assert group.fetched_at is not None
    assert (same_market.odds, same_market.fractional) == (None, None)


async def test_an_error_answer_to_a_convenience_method_raises_command_error(
    simulator: KwiffSimulator,
) -> None:
    async with client_for(simulator) as client:
        with pytest.raises(
            CommandError, match=r"'ticket:odds:get' failed: .*INVALID_PAYLOAD"
        ) as info:
            await client.get_combo_odds(FIRST_FOOTBALL["id"], ["x"])  # type: ignore[list-item]
    assert info.value.message == "ticket:odds:get"
    assert info.value.answer.error["code"] == "INVALID_PAYLOAD"


async def test_concurrent_calls_share_one_connection(simulator: KwiffSimulator) -> None:
    ids = [raw["id"] for raw in DATA.events(11, "GB")[:10]]
    async with client_for(simulator) as client:
        events = await asyncio.gather(*(client.get_event(i) for i in ids))
    assert [event.event_id for event in events if event is not None] == ids
    assert simulator.connections == 1


async def test_without_async_with_the_first_call_connects(simulator: KwiffSimulator) -> None:
    client = client_for(simulator)
    assert simulator.connections == 0
    event = await client.get_event(FIRST_FOOTBALL["id"])
    assert event is not None
    assert event.event_id == FIRST_FOOTBALL["id"]
    await client.close()
    assert client.closed


# -- the in-process simulator ------------------------------------------------------------


async def test_simulator_endpoint_starts_and_stops_a_simulator(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kwiff_scrapy.connection.connector")
    async with KwiffClient(
        "simulator", simulator_options={"football_events": 5, "speed": None}
    ) as client:
        events = await client.get_football_events()
    assert [e.event_id for e in events] == [
        raw["id"] for raw in SimulatedData(football_events=5).events(11)
    ]
    (url,) = re.findall(r"ws://127\.0\.0\.1:\d+/socket\.io/", caplog.text)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(ConnectionRefusedError):  # closed with the client
        await asyncio.open_connection("127.0.0.1", port)
    await assert_no_tasks_left()


# -- failures ----------------------------------------------------------------------------


async def test_a_dropped_connection_fails_the_call_and_the_next_call_reconnects(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(drop_after=1, faulty_connections=1)
    async with client_for(simulator) as client:
        with pytest.raises(ConnectionLost):
            await client.get_event(FIRST_FOOTBALL["id"])
        event = await client.get_event(FIRST_FOOTBALL["id"])
    assert event is not None
    assert event.event_id == FIRST_FOOTBALL["id"]
    assert simulator.connections == 2


async def test_a_refused_reconnect_is_retried_after_a_backoff(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(refuse_status=503, faulty_connections=1)
    client = client_for(simulator, backoff=FAST_RECONNECT)
    with pytest.raises(HandshakeRefused) as refused:
        await client.get_football_events()
    assert refused.value.status == 503
    assert len(await client.get_football_events()) == 111
    await client.close()
    assert simulator.handshakes_refused == 1


async def test_a_silent_server_times_out_naming_the_command(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(silent=True)
    async with client_for(simulator, timeout=0.2) as client:
        with pytest.raises(TimeoutError, match=r"'event:get' got no answer .* within 0\.2 s"):
            await client.get_event(FIRST_FOOTBALL["id"])
        with pytest.raises(TimeoutError, match=r"'event:list' got no answer"):
            await client.send_command("event:list", {"sportId": 11})


async def test_concurrent_commands_to_a_silent_server_each_time_out_once(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(silent=True)
    async with client_for(simulator, timeout=0.2) as client:
        results = await asyncio.gather(
            *(client.send_command("event:get", {"eventId": n}) for n in range(20)),
            return_exceptions=True,
        )
        assert all(isinstance(r, TimeoutError) for r in results)
        assert all("'event:get' got no answer" in str(r) for r in results)
    assert client.closed
    await assert_no_tasks_left()


async def test_a_handshake_without_user_agent_is_refused_with_403() -> None:
    client = KwiffClient("simulator", user_agent="", timeout=5)
    with pytest.raises(HandshakeRefused, match="HTTP 403") as refused:
        async with client:
            pass
    assert refused.value.status == 403
    assert b"User-Agent" in refused.value.body
    assert client.closed  # a failed `async with` entry cleans up after itself
    await assert_no_tasks_left()


async def test_no_server_is_connect_failed() -> None:
    with closed_port() as port:
        client = KwiffClient(f"ws://127.0.0.1:{port}/socket.io/", timeout=5)
        with pytest.raises(ConnectFailed) as failed:
            await client.connect()
    assert isinstance(failed.value.__cause__, ConnectionRefusedError)
    await client.close()
    await assert_no_tasks_left()


async def test_a_closed_client_refuses_every_call(simulator: KwiffSimulator) -> None:
    async with client_for(simulator) as client:
        pass
    await client.close()  # closing again is harmless
    message = "this KwiffClient is closed"
    with pytest.raises(RuntimeError, match=message):
        await client.send_command("event:list", {})
    with pytest.raises(RuntimeError, match=message):
        await client.get_event(1)
    with pytest.raises(RuntimeError, match=message):
        async with client:
            pass
    assert simulator.commands_received == 0


async def test_closing_fails_a_waiting_call_at_once(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(silent=True)
    client = client_for(simulator)
    await client.connect()
    waiting = asyncio.create_task(client.get_event(FIRST_FOOTBALL["id"]))
    await wait_until(lambda: simulator.commands_received == 1)
    await client.close()
    with pytest.raises(ConnectionLost):
        await waiting


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoint": "https://web-api.kwiff.com/"}, "ws:// or wss://"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"timeout": float("nan")}, "timeout must be a positive number"),
    ],
)
def test_bad_options_are_rejected_at_once(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KwiffClient(**options)
