"""Tests of the Kwiff simulator: its data (pure) and its server (raw WebSocket clients)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidStatus,
)

from kwiff_scrapy.protocol import (
    AckReceived,
    ClientProtocol,
    ConnectionState,
    EventReceived,
    Ignored,
    NamespaceError,
    PongReceived,
    ProtocolError,
    Ready,
    ServerClosed,
    SocketPacket,
    SocketPacketType,
    command_envelope,
    decode_engine_packet,
    decode_socket_packet,
    message_frame,
)
from kwiff_scrapy.simulator import Faults, KwiffSimulator, SimulatedData, SimulatorConfig
from kwiff_scrapy.simulator import fixtures as fixtures_module
from kwiff_scrapy.simulator import views as views_module
from kwiff_scrapy.simulator.__main__ import build_parser, config_from_args
from kwiff_scrapy.simulator.config import FAULT_FIELDS, OPTION_NAMES
from kwiff_scrapy.simulator.prices import LADDER, Price, price_at_most
from kwiff_scrapy.simulator.server import (
    BINARY_EVENT_FRAME,
    BINARY_FRAME,
    GARBAGE_FRAME,
    UNKNOWN_ENGINE_FRAME,
    handshake_refusal,
    session_id,
)

from ..support.waiting import guarded, source

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
WEBAPP_VERSION = "1.0.1.1768909734556"
FIXED_MS = 1_768_921_926_610
MIB = 2**20
#: How long a test waits for something that must happen before it fails instead of hanging.
#: Not a speed claim: events are waited for as such, never timed.
HANG_GUARD = 10.0
#: asyncio may fire a timer up to a clock tick early: lower bounds on delays allow this.
CLOCK_SLACK = 0.01
REPO_ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- helpers


def fixed_clock() -> int:
    return FIXED_MS


def query(identifier: str, *, eio: str = "3", transport: str = "websocket") -> str:
    return f"?device=web-app&version=1.0.1&identifier={identifier}&EIO={eio}&transport={transport}"


def browser_headers(identifier: str) -> dict[str, str]:
    return {
        "Cookie": f"uuid={identifier}",
        "Origin": "https://kwiff.com",
        "Accept-Language": "en-GB,en;q=0.9",
        "Pragma": "no-cache",
        "Cache-Control": "no-cache",
    }


def session(
    simulator: KwiffSimulator, *, skip_opening: bool = True, max_size: int | None = 4 * MIB
) -> contextlib.AbstractAsyncContextManager[ClientConnection]:
    """A browser-like connection; by default the three opening frames are consumed."""
    return browser_session(
        simulator.url, skip_opening=skip_opening, max_size=max_size, open_timeout=2, close_timeout=1
    )


@contextlib.asynccontextmanager
async def browser_session(
    url: str,
    *,
    skip_opening: bool = True,
    max_size: int | None = 4 * MIB,
    open_timeout: float | None = 10,
    close_timeout: float | None = 10,
) -> AsyncIterator[ClientConnection]:
    """A browser-like connection to the simulator at *url* (websockets' default timeouts)."""
    identifier = str(uuid.uuid4())
    async with connect(
        url + query(identifier),
        additional_headers=browser_headers(identifier),
        user_agent_header=USER_AGENT,
        max_size=max_size,
        proxy=None,
        open_timeout=open_timeout,
        close_timeout=close_timeout,
    ) as ws:
        if skip_opening:
            for _ in range(3):
                await receive(ws)
        yield ws


async def receive(ws: ClientConnection) -> str | bytes:
    """The next frame (the test fails rather than hang if none ever comes)."""
    return await guarded(ws.recv(), "a frame from the simulator", guard=HANG_GUARD)


async def until(simulator: KwiffSimulator, condition: Callable[[], bool]) -> None:
    """Wait until *condition* holds in the simulator (see ``KwiffSimulator.wait_until``)."""
    await guarded(simulator.wait_until(condition), source(condition), guard=HANG_GUARD)


async def received(simulator: KwiffSimulator, commands: int) -> None:
    """Wait until the simulator has received *commands* commands in all."""
    await until(simulator, lambda: simulator.commands_received >= commands)


async def handled(simulator: KwiffSimulator, commands: int) -> None:
    """Wait until the simulator has handled *commands* commands in all, answers included."""
    await until(simulator, lambda: simulator.commands_handled >= commands)


async def frames_before_pong(ws: ClientConnection) -> list[str | bytes]:
    """Every frame that arrives before the answer to a marker ping sent now.

    The simulator handles a connection's frames in order and answers a ping at once,
    so the frames sent because of everything the simulator handled before (wait for
    that first, e.g. with :func:`handled`) all precede the marker's pong.
    """
    await ws.send("2marker")
    frames = []
    while (frame := await receive(ws)) != "3marker":
        frames.append(frame)
    return frames


async def frames_until_closed(ws: ClientConnection) -> list[str | bytes]:
    """Close *ws*, then every frame it received before the closing handshake.

    For connections whose pings may stay unanswered: the server's closing frame then
    marks the end, as a pong does in :func:`frames_before_pong`.
    """
    await ws.close()
    frames: list[str | bytes] = []
    with contextlib.suppress(ConnectionClosed):
        while True:
            frames.append(await receive(ws))
    return frames


def command_frame(ack_id: int, message: str, payload: Any) -> str:
    envelope = command_envelope(
        message,
        payload,
        timestamp_ms=FIXED_MS,
        user_agent=USER_AGENT,
        webapp_version=WEBAPP_VERSION,
    )
    return message_frame(SocketPacket(SocketPacketType.EVENT, ["command", envelope], ack_id=ack_id))


def decode_ack(frame: str | bytes) -> AckReceived:
    """The ACK in *frame*, as a client that sent the command would receive it."""
    packet = decode_socket_packet(decode_engine_packet(frame).data)
    assert packet.type is SocketPacketType.ACK, packet
    assert packet.ack_id is not None
    return AckReceived(packet.ack_id, packet.data, packet.raw_data)


async def ask(ws: ClientConnection, ack_id: int, message: str, payload: Any) -> AckReceived:
    await ws.send(command_frame(ack_id, message, payload))
    return decode_ack(await receive(ws))


def all_outcomes(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "details" in event:
        for offer in event["details"]["offers"]:
            yield from offer["outcomes"]
    for market in event.get("markets", []):
        yield from market["selections"]


def first_outcome_id(event: dict[str, Any], market: str, index: int = 0) -> int:
    offer = next(o for o in event["details"]["offers"] if o["name"] == market)
    return offer["outcomes"][index]["id"]


@pytest.fixture(scope="module")
def data() -> SimulatedData:
    return SimulatedData(clock=fixed_clock)


@pytest.fixture
async def simulator() -> AsyncIterator[KwiffSimulator]:
    async with KwiffSimulator() as sim:
        yield sim


# ---------------------------------------------------------------------------- data.py


def test_event_counts_per_sport(data: SimulatedData) -> None:
    assert len(data.events(11, "GB")) == 111
    assert len(data.events(36, "GB")) == 40
    assert data.events(1, "GB") == []
    assert data.events(11, "IE") == data.events(11, "GB")
    assert len(SimulatedData(football_events=7).events(11)) == 7
    assert {e["sportId"] for e in data.events(36)} == {36}


def test_same_seed_gives_identical_json_and_other_seeds_differ() -> None:
    def dump(seed: int) -> str:
        return json.dumps(SimulatedData(seed).events(11), ensure_ascii=False)

    assert dump(7) == dump(7)
    assert dump(7) != dump(8)


def test_generation_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    # How fast generation is belongs in the benchmarks; here: it happens once per seed.
    built: list[int] = []

    def counting(seed: int, sport: int, event_id: int, *rest: Any) -> Any:
        built.append(event_id)
        return build_fixture(seed, sport, event_id, *rest)

    build_fixture = fixtures_module._build_fixture
    monkeypatch.setattr(fixtures_module, "_build_fixture", counting)
    fixtures_module.fixtures.cache_clear()
    views_module.cached_list_views.cache_clear()
    first = SimulatedData(seed=424242).events(11)
    assert len(built) == len(first) == 111
    assert SimulatedData(seed=424242).events(11)[0] is first[0]
    assert len(built) == 111  # another instance built nothing again
    for _ in range(2):
        assert SimulatedData(seed=424242).event(first[5]["id"]) is not None
    assert len(built) == 111 + 40  # event:get looks in every sport: basketball, once


def test_event_shape(data: SimulatedData) -> None:
    date = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$")
    for event in data.events(11):
        assert set(event) == {
            "id", "sportId", "competition", "homeTeam", "awayTeam", "startDate",
            "bettingStatus", "matchTracker", "betBuilderEnabled", "details",
        }  # fmt: skip
        assert isinstance(event["id"], int)
        assert event["sportId"] == 11
        assert set(event["competition"]) == {"id", "name"}
        for side in ("homeTeam", "awayTeam"):
            assert isinstance(event[side]["id"], int)
            assert isinstance(event[side]["name"], str)
        assert event["homeTeam"]["id"] != event["awayTeam"]["id"]
        assert date.match(event["startDate"])
        start = datetime.fromisoformat(event["startDate"].replace("Z", "+00:00"))
        assert data.base_date <= start < data.base_date + timedelta(days=14)
        assert start.date() > data.today  # upcoming all day long
        assert event["bettingStatus"] in {"OPEN", "SUSPENDED"}
        assert isinstance(event["matchTracker"], bool | dict)
        assert isinstance(event["betBuilderEnabled"], bool)
        for offer in event["details"]["offers"]:
            assert set(offer) == {"id", "name", "outcomes"}
            for outcome in offer["outcomes"]:
                assert set(outcome) == {"id", "outcomeName", "odds", "fractional"}
    starts = [e["startDate"] for e in data.events(11)]
    assert starts == sorted(starts)
    statuses = {e["bettingStatus"] for e in data.events(11)}
    assert "OPEN" in statuses


def test_realistic_competitions_teams_and_markets(data: SimulatedData) -> None:
    events = data.events(11)
    competitions = {e["competition"]["name"] for e in events}
    assert {
        "Premier League", "Championship", "La Liga", "Serie A", "Bundesliga", "Ligue 1",
        "UEFA Champions League", "Eliteserien",
    } <= competitions  # fmt: skip
    teams = {e[side]["name"] for e in events for side in ("homeTeam", "awayTeam")}
    assert {"Bodø/Glimt", "Atlético Madrid", "1. FC Köln", "Beşiktaş"} <= teams
    markets = {offer["name"] for offer in events[0]["details"]["offers"]}
    assert {
        "Full Time Result", "Both Teams To Score", "Over/Under 2.5 Goals", "Double Chance",
        "Correct Score", "Half Time Result", "First Goalscorer",
    } <= markets  # fmt: skip
    scorers = next(o for o in events[0]["details"]["offers"] if o["name"] == "First Goalscorer")
    names = [outcome["outcomeName"] for outcome in scorers["outcomes"]]
    assert names[-1] == "No Goalscorer"
    assert len(names) > 20
    assert all(re.match(r"^\S+ \S", name) for name in names[:-1])  # "First Last"
    basketball = data.events(36)
    assert {e["competition"]["name"] for e in basketball} == {"NBA", "EuroLeague"}
    assert basketball[0]["details"]["offers"][0]["name"] == "Money Line"


def test_outcome_labels_may_spell_teams_differently(data: SimulatedData) -> None:
    event = next(
        e for e in data.events(11) if "Bodø/Glimt" in (e["homeTeam"]["name"], e["awayTeam"]["name"])
    )
    result = event["details"]["offers"][0]
    assert result["name"] == "Full Time Result"
    assert "Bodo/Glimt" in [o["outcomeName"] for o in result["outcomes"]]


def test_odds_match_fractional_and_whole_odds_are_integers(data: SimulatedData) -> None:
    outcomes = [o for sport in (11, 36) for e in data.events(sport) for o in all_outcomes(e)]
    outcomes += list(all_outcomes(data.event(data.events(11)[0]["id"]) or {}))
    for outcome in outcomes:
        num, den = map(int, outcome["fractional"].split("/"))
        exact = Fraction(num, den) + 1
        odds = outcome["odds"]
        if exact.denominator == 1:
            assert type(odds) is int
            assert odds == exact
        else:
            assert type(odds) is float
            assert odds == round(float(exact), 2)
    listed = [o for e in data.events(11) for o in all_outcomes(e)]
    floats = sum(type(o["odds"]) is float for o in listed)
    assert len(listed) / 2 < floats < len(listed)  # most are floats, some integers
    assert {"5/1", "1/1", "11/10"} <= {o["fractional"] for o in outcomes}


def test_price_ladder() -> None:
    assert Price(5, 1).odds == 6
    assert Price(8, 13).odds == 1.62
    assert price_at_most(6.4).fractional == "5/1"
    assert price_at_most(6.5).fractional == "11/2"
    assert price_at_most(1.0).fractional == "1/100"
    assert price_at_most(1234.5).fractional == "1233/1"
    assert [p.decimal for p in LADDER] == sorted(p.decimal for p in LADDER)


def test_ids_unique_and_stable(data: SimulatedData) -> None:
    events = data.events(11) + data.events(36)
    assert len({e["id"] for e in events}) == len(events)
    outcome_ids = [o["id"] for e in events for o in all_outcomes(e)]
    assert len(set(outcome_ids)) == len(outcome_ids)
    again = SimulatedData(clock=fixed_clock).events(11)
    assert [e["id"] for e in again] == [e["id"] for e in data.events(11)]


def test_event_list_ack_frame_is_between_one_mib_and_two_megabytes(data: SimulatedData) -> None:
    answer = data.answer("event:list", {"listId": "default", "sportId": 11, "country": "GB"})
    frame = message_frame(SocketPacket(SocketPacketType.ACK, [answer], ack_id=12))
    size = len(frame.encode())
    assert MIB < size < 2_000_000


def test_event_get_uses_the_markets_and_selections_variant(data: SimulatedData) -> None:
    listed = data.events(11)[3]
    detail = data.event(listed["id"])
    assert detail is not None
    assert "details" not in detail
    assert {k: v for k, v in detail.items() if k != "markets"} == {
        k: v for k, v in listed.items() if k != "details"
    }
    offers = listed["details"]["offers"]
    assert len(detail["markets"]) > len(offers)
    for offer, market in zip(offers, detail["markets"], strict=False):
        assert (market["id"], market["name"]) == (offer["id"], offer["name"])
        assert [
            {
                "id": s["id"],
                "outcomeName": s["name"],
                "odds": s["odds"],
                "fractional": s["fractional"],
            }
            for s in market["selections"]
        ] == offer["outcomes"]
    assert {"Last Goalscorer", "Half Time Correct Score"} <= {m["name"] for m in detail["markets"]}
    assert data.event(1) is None
    basketball = data.event(data.events(36)[0]["id"])
    assert basketball is not None
    assert basketball["sportId"] == 36


def test_price_groups(data: SimulatedData) -> None:
    event = data.events(11)[0]
    home_win = first_outcome_id(event, "Full Time Result")
    btts_yes = first_outcome_id(event, "Both Teams To Score")
    draw = first_outcome_id(event, "Full Time Result", 1)
    odds = {o["id"]: o["odds"] for o in all_outcomes(event)}
    groups = [
        {"source": 2, "outcomeIds": [home_win, btts_yes], "eventId": event["id"]},
        {"source": 2, "outcomeIds": [home_win], "eventId": event["id"]},
        {"source": 2, "outcomeIds": [home_win, 999], "eventId": event["id"]},
        {"source": 2, "outcomeIds": [home_win, draw], "eventId": event["id"]},
        {"source": 2, "outcomeIds": [home_win], "eventId": data.events(11)[1]["id"]},
    ]
    snapshot = json.dumps(groups)
    priced = data.price_groups(groups)
    assert json.dumps(groups) == snapshot  # the input is not modified
    for group, result in zip(groups, priced, strict=True):
        assert {k: v for k, v in result.items() if k not in ("odds", "fractionalOdds")} == group
    combined = priced[0]
    num, den = map(int, combined["fractionalOdds"].split("/"))
    assert combined["odds"] == Price(num, den).odds
    assert 1 < combined["odds"] < odds[home_win] * odds[btts_yes]
    assert combined["odds"] > max(odds[home_win], odds[btts_yes])
    assert priced[1]["odds"] == odds[home_win]  # a single leg keeps its own price
    for unpriceable in priced[2:]:  # unknown id, same market twice, other event
        assert unpriceable["odds"] is None
        assert unpriceable["fractionalOdds"] is None
    assert data.price_groups(groups) == priced


def test_answers_for_known_commands(data: SimulatedData) -> None:
    listed = data.answer("event:list", {"listId": "default", "sportId": 11, "country": "GB"})
    assert listed == {"timestamp": FIXED_MS, "data": {"events": data.events(11)}}
    event_id = data.events(11)[0]["id"]
    assert data.answer("event:get", {"eventId": event_id}) == {
        "timestamp": FIXED_MS,
        "data": {"result": data.event(event_id)},
    }
    assert data.answer("event:get", {"eventId": 42}) == {
        "timestamp": FIXED_MS,
        "data": {"result": None},
    }
    groups = [{"source": 2, "outcomeIds": [first_outcome_id(data.events(11)[0], "Double Chance")]}]
    assert data.answer("ticket:odds:get", {"betBuilderOutcomeGroups": groups}) == {
        "timestamp": FIXED_MS,
        "data": {"betBuilderOutcomeGroups": data.price_groups(groups)},
    }
    assert data.answer("event:list", {"sportId": 99, "country": "GB"})["data"] == {"events": []}
    assert data.answer("event:list", {"sportId": "11"})["data"]["events"] == data.events(11)


def test_unknown_command_answer(data: SimulatedData) -> None:
    assert data.answer("bet:place", {}) == {
        "timestamp": FIXED_MS,
        "data": None,
        "error": {"code": "UNKNOWN_COMMAND", "message": "unknown command 'bet:place'"},
    }


@pytest.mark.parametrize(
    ("message", "payload"),
    [
        ("event:list", None),
        ("event:list", []),
        ("event:list", {}),
        ("event:list", {"sportId": True}),
        ("event:list", {"sportId": 11.5}),
        ("event:list", {"sportId": 11, "country": 3}),
        ("event:get", {"eventId": None}),
        ("event:get", {"eventId": [1]}),
        ("ticket:odds:get", {}),
        ("ticket:odds:get", {"betBuilderOutcomeGroups": {}}),
        ("ticket:odds:get", {"betBuilderOutcomeGroups": [1]}),
        ("ticket:odds:get", {"betBuilderOutcomeGroups": [{"outcomeIds": "1"}]}),
        ("ticket:odds:get", {"betBuilderOutcomeGroups": [{"outcomeIds": [None]}]}),
        ("ticket:odds:get", {"betBuilderOutcomeGroups": [{"outcomeIds": [], "eventId": "x"}]}),
    ],
)
def test_malformed_payloads_get_an_error_answer(
    data: SimulatedData, message: str, payload: Any
) -> None:
    answer = data.answer(message, payload)
    assert answer["timestamp"] == FIXED_MS
    assert answer["data"] is None
    assert answer["error"]["code"] == "INVALID_PAYLOAD"
    assert answer["error"]["message"].startswith(f"{message}: ")


def test_the_clock_stamps_answers() -> None:
    ticks = iter([10, 20])
    data = SimulatedData(clock=lambda: next(ticks))
    assert data.answer("event:get", {"eventId": 1})["timestamp"] == 10
    assert data.answer("nope", None)["timestamp"] == 20


# -------------------------------------------------------------------------- server.py


def test_config_validation() -> None:
    for bad in (
        {"port": 70000},
        {"drop_after": 0},
        {"response_delay": -1.0},
        {"refuse_status": 200},
        {"refuse_status": 999},
        {"ping_interval_ms": 0},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            SimulatorConfig.from_options(bad)


def test_options_take_flat_names_and_route_the_fault_switches() -> None:
    assert SimulatorConfig.from_options({}) == SimulatorConfig()
    assert SimulatorConfig.from_options({"response_delay": 0.2, "football_events": 5}) == (
        SimulatorConfig(response_delay=0.2, football_events=5)
    )
    config = SimulatorConfig.from_options({"drop_after": 3, "faulty_connections": 1})
    assert config == SimulatorConfig(faults=Faults(drop_after=3), faulty_connections=1)
    assert SimulatorConfig.from_options({"silent": True}).faults == Faults(silent=True)
    nested = SimulatorConfig.from_options({"faults": {"silent": True}, "seed": 3})
    assert nested == SimulatorConfig(seed=3, faults=Faults(silent=True))
    assert SimulatorConfig.from_options({"faults": Faults(unknown_ack=True)}).faults.unknown_ack
    assert set(OPTION_NAMES) == FAULT_FIELDS | {
        f for f in SimulatorConfig.__dataclass_fields__ if f != "faults"
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"delay": 1},
            r"unknown simulator option 'delay'; valid options: answer_faults, answer_pings, ",
        ),
        ({"faults": {"slient": True}}, r"unknown simulator option faults\['slient'\]"),
        ({"silent": True, "faults": {}}, r"by name or in 'faults', not both: 'silent'"),
        ({"faults": True}, r"'faults' must be a mapping, not bool"),
    ],
)
def test_options_refuse_unknown_names_listing_the_valid_ones(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        SimulatorConfig.from_options(options)
    if "unknown" in message:
        assert all(name in str(caught.value) for name in OPTION_NAMES)


def test_faults_must_be_a_faults_object() -> None:
    with pytest.raises(TypeError, match="faults must be a Faults, not dict"):
        SimulatorConfig(faults={"silent": True})  # type: ignore[arg-type]


def test_handshake_refusal_rules() -> None:
    config = SimulatorConfig()
    ident = "2b8c0a6e-7d4f-4c1e-9a57-3f0e1d2c4b5a"
    good = {"User-Agent": USER_AGENT, "Cookie": f"theme=dark; uuid={ident}"}
    path = "/socket.io/" + query(ident)
    assert handshake_refusal(config, path, good) is None
    assert handshake_refusal(config, "/nope/" + query(ident), good) == (
        404,
        "Not found: /nope/ (expected /socket.io/)",
    )
    assert handshake_refusal(config, path, {"Cookie": f"uuid={ident}"}) == (
        403,
        "User-Agent header missing",
    )
    refused = handshake_refusal(SimulatorConfig(faults=Faults(refuse_status=429)), path, good)
    assert refused is not None
    assert refused[0] == 429
    unchecked = SimulatorConfig(require_browser_headers=False)
    assert handshake_refusal(unchecked, path, {}) is None


async def test_url_port_and_loopback_binding(simulator: KwiffSimulator) -> None:
    assert simulator.url == f"ws://127.0.0.1:{simulator.port}/socket.io/"
    assert simulator.port > 0
    assert simulator._server is not None
    assert {s.getsockname()[0] for s in simulator._server.sockets} == {"127.0.0.1"}
    with pytest.raises(RuntimeError):
        _ = KwiffSimulator().port


async def test_opening_sequence(simulator: KwiffSimulator) -> None:
    async with session(simulator, skip_opening=False) as ws:
        frames = [await receive(ws) for _ in range(3)]
    sid = session_id(2026, 1)
    assert frames[0] == (
        '0{"sid":"' + sid + '","upgrades":[],"pingInterval":25000,"pingTimeout":60000}'
    )
    assert frames[1].startswith('42["response",{"type":"socket","socketId":"' + sid + '"')
    assert frames[2] == "40"
    client = ClientProtocol()
    assert isinstance(client.receive(frames[0]), Ignored)  # ready only with the "40"
    assert client.open_info is not None
    assert client.open_info.ping_interval == 25
    response = client.receive(frames[1])
    assert isinstance(response, EventReceived)
    assert response.name == "response"
    assert response.args[0]["device"] == "web-app"
    assert response.args[0]["user"]["authenticated"] is False
    assert client.receive(frames[2]) == Ready(client.open_info)
    assert client.state is ConnectionState.READY
    assert simulator.connections == 1


async def test_opening_sequence_with_connect_first_and_custom_heartbeat() -> None:
    config = SimulatorConfig(
        event_before_connect=False, ping_interval_ms=1500, ping_timeout_ms=3000
    )
    async with KwiffSimulator(config) as sim, session(sim, skip_opening=False) as ws:
        frames = [await receive(ws) for _ in range(3)]
    assert frames[0].endswith('"upgrades":[],"pingInterval":1500,"pingTimeout":3000}')
    assert frames[1] == "40"
    assert frames[2].startswith('42["response",')


async def test_each_connection_gets_its_own_session(simulator: KwiffSimulator) -> None:
    async with session(simulator, skip_opening=False) as a, session(simulator) as b:
        first = await receive(a)
        await b.send("2x")
        assert await receive(b) == "3x"
        assert simulator.active_connections == 2
    assert session_id(2026, 1) in first
    assert session_id(2026, 1) != session_id(2026, 2)
    assert simulator.connections == 2


async def test_ping_pong(simulator: KwiffSimulator) -> None:
    async with session(simulator) as ws:
        await ws.send("2probe")
        assert await receive(ws) == "3probe"
        await ws.send("2")
        pong = await receive(ws)
        assert pong == "3"
        assert ClientProtocol().receive(pong) == PongReceived("")
    assert simulator.pings_received == 2


async def test_pings_unanswered_when_configured() -> None:
    async with (
        KwiffSimulator(SimulatorConfig(faults=Faults(answer_pings=False))) as sim,
        session(sim) as ws,
    ):
        await ws.send("2")
        ack = await ask(ws, 1, "event:get", {"eventId": 1})
        assert ack.ack_id == 1  # the first frame after the ping: no pong came before it
        assert sim.pings_received == 1


async def test_permessage_deflate_is_negotiated(simulator: KwiffSimulator) -> None:
    async with session(simulator) as ws:
        assert ws.response is not None
        assert ws.response.headers["Sec-WebSocket-Extensions"].startswith("permessage-deflate")


@pytest.mark.parametrize("ack_id", [0, 17, 123_456_789_012_345])
async def test_command_round_trip(simulator: KwiffSimulator, ack_id: int) -> None:
    event_id = simulator.data.events(11)[0]["id"]
    async with session(simulator) as ws:
        ack = await ask(ws, ack_id, "event:get", {"eventId": event_id})
    assert ack.ack_id == ack_id
    assert len(ack.args) == 1
    assert isinstance(ack.args[0]["timestamp"], int)
    assert ack.args[0]["data"] == {"result": simulator.data.event(event_id)}
    assert simulator.commands_received == 1
    assert simulator.acks_sent == 1


async def test_wait_until_wakes_when_its_condition_holds(simulator: KwiffSimulator) -> None:
    await until(simulator, lambda: True)  # holds already

    def pings() -> int:
        return simulator.pings_received

    second_ping = asyncio.create_task(simulator.wait_until(lambda: pings() == 2))
    broken = asyncio.create_task(simulator.wait_until(lambda: pings() > 0 and 1 / 0 > 0))
    async with session(simulator) as ws:
        await ws.send("2")
        assert await receive(ws) == "3"
        with pytest.raises(ZeroDivisionError):  # the condition's error, raised in its waiter
            await broken
        assert not second_ping.done()
        await ws.send("2")
        assert await receive(ws) == "3"
        await guarded(second_ping, "the second waiter's condition", guard=HANG_GUARD)
    assert simulator._waiters == []


async def test_each_command_is_logged_when_received(
    simulator: KwiffSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kwiff_scrapy.simulator")
    async with session(simulator) as ws:
        await ask(ws, 1, "event:get", {"eventId": 1})
        await ws.send('421["command","not an envelope"]')
        await handled(simulator, 2)
    messages = [r.getMessage() for r in caplog.records if "received" in r.getMessage()]
    sid = session_id(2026, 1)
    assert messages == [
        f"session {sid}: command 1 received: 'event:get'",
        f"session {sid}: command 2 received: None",
    ]


async def test_event_list_arrives_as_one_large_frame(simulator: KwiffSimulator) -> None:
    payload = {"listId": "default", "sportId": 11, "country": "GB"}
    async with session(simulator) as ws:
        await ws.send(command_frame(5, "event:list", payload))
        frame = await receive(ws)
    assert isinstance(frame, str)
    assert frame.startswith('435[{"timestamp":')
    assert MIB < len(frame.encode()) < 2_000_000
    assert decode_ack(frame).args[0]["data"] == {"events": simulator.data.events(11)}


async def test_a_client_with_the_default_max_size_cannot_take_event_list(
    simulator: KwiffSimulator,
) -> None:
    async with session(simulator, max_size=MIB) as ws:
        await ws.send(command_frame(1, "event:list", {"sportId": 11}))
        with pytest.raises(ConnectionClosedError) as caught:
            await receive(ws)
    assert caught.value.sent is not None
    assert caught.value.sent.code == 1009  # message too big


async def test_unknown_and_invalid_commands_get_error_answers(simulator: KwiffSimulator) -> None:
    async with session(simulator) as ws:
        unknown = await ask(ws, 1, "bet:place", {})
        assert unknown.args[0]["error"] == {
            "code": "UNKNOWN_COMMAND",
            "message": "unknown command 'bet:place'",
        }
        await ws.send('422["command","not an envelope"]')
        invalid = decode_ack(await receive(ws))
        await ws.send('423["command"]')
        missing = decode_ack(await receive(ws))
        bad_payload = await ask(ws, 4, "event:list", {"sportId": "football"})
    assert invalid.ack_id == 2
    assert invalid.args[0]["error"]["code"] == "INVALID_COMMAND"
    assert missing.args[0]["error"]["code"] == "INVALID_COMMAND"
    assert bad_payload.args[0]["data"] is None
    assert bad_payload.args[0]["error"]["code"] == "INVALID_PAYLOAD"


async def test_commands_are_answered_concurrently() -> None:
    delay = 0.4
    async with KwiffSimulator(SimulatorConfig(response_delay=delay)) as sim, session(sim) as ws:
        sim.hold_answers()
        started = time.monotonic()
        for ack_id in range(1, 5):
            await ws.send(command_frame(ack_id, "event:get", {"eventId": ack_id}))
        # A pending answer does not stop the next commands from being read and handled.
        await received(sim, 4)
        assert (sim.acks_sent, sim.max_in_flight_seen) == (0, 4)
        sim.release_answers()
        acks = [decode_ack(await receive(ws)) for _ in range(4)]
        elapsed = time.monotonic() - started
    assert sorted(ack.ack_id for ack in acks) == [1, 2, 3, 4]
    assert elapsed >= delay - CLOCK_SLACK  # each answer waited for the delay


async def test_response_delay_holds_each_answer_back() -> None:
    delay = 0.2
    async with KwiffSimulator(SimulatorConfig(response_delay=delay)) as sim, session(sim) as ws:
        for ack_id in (1, 2):
            started = time.monotonic()
            assert (await ask(ws, ack_id, "event:get", {"eventId": 1})).ack_id == ack_id
            assert time.monotonic() - started >= delay - CLOCK_SLACK


async def test_silent_server_accepts_commands_but_never_answers() -> None:
    async with (
        KwiffSimulator(SimulatorConfig(faults=Faults(silent=True))) as sim,
        session(sim) as ws,
    ):
        await ws.send(command_frame(1, "event:get", {"eventId": 1}))
        await handled(sim, 1)
        assert await frames_before_pong(ws) == []  # no answer; the connection stays alive
        assert sim.commands_received == 1
        assert sim.acks_sent == 0


async def test_drop_after_aborts_the_tcp_connection_without_a_close_frame() -> None:
    async with KwiffSimulator(SimulatorConfig(faults=Faults(drop_after=2))) as sim:
        async with session(sim) as ws:
            first = await ask(ws, 1, "event:get", {"eventId": 1})
            assert first.ack_id == 1
            await ws.send(command_frame(2, "event:get", {"eventId": 1}))
            with pytest.raises(ConnectionClosedError) as caught:
                await receive(ws)
        assert caught.value.rcvd is None
        assert caught.value.sent is None
        assert sim.commands_received == 2
        async with session(sim) as again:  # the server itself carries on
            assert (await ask(again, 1, "event:get", {"eventId": 1})).ack_id == 1


async def test_garbage_frame_precedes_each_ack() -> None:
    async with (
        KwiffSimulator(SimulatorConfig(faults=Faults(garbage_frame=True))) as sim,
        session(sim) as ws,
    ):
        for ack_id in (1, 2):
            await ws.send(command_frame(ack_id, "event:get", {"eventId": 1}))
            garbage = await receive(ws)
            assert garbage == GARBAGE_FRAME
            with pytest.raises(ProtocolError):
                ClientProtocol().receive(garbage)
            assert decode_ack(await receive(ws)).ack_id == ack_id


async def test_malformed_client_frames_are_logged_and_ignored(
    simulator: KwiffSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    bad_frames: list[str | bytes] = ["", "x", "9", "4", "42[oops", '42{"a":1}', "451-[]", b"\x00"]
    caplog.set_level(logging.WARNING, logger="kwiff_scrapy.simulator")
    async with session(simulator) as ws:
        for frame in bad_frames:
            await ws.send(frame)
        ack = await ask(ws, 9, "event:get", {"eventId": 1})
    assert ack.ack_id == 9
    assert simulator.malformed_frames == len(bad_frames)
    warnings = [r for r in caplog.records if r.name == "kwiff_scrapy.simulator"]
    assert len(warnings) == len(bad_frames)
    assert all("malformed frame ignored" in r.getMessage() for r in warnings)


async def test_other_packets_are_tolerated(simulator: KwiffSimulator) -> None:
    async with session(simulator) as ws:
        await ws.send("40/admin,")
        error = ClientProtocol(namespace="/admin").receive(await receive(ws))
        assert error == NamespaceError("/admin", "Invalid namespace")
        await ws.send("40")
        assert await receive(ws) == "40"
        await ws.send('42["hello",{}]')  # an event that is not a command
        await ws.send(message_frame(SocketPacket(SocketPacketType.EVENT, ["command", {}])))
        await ws.send("6")  # noop
        await handled(simulator, 1)
        assert await frames_before_pong(ws) == []  # none of them was answered
    assert simulator.commands_received == 1  # the command without an ack id
    assert simulator.malformed_frames == 0


async def test_client_close_packet_ends_the_connection(simulator: KwiffSimulator) -> None:
    async with session(simulator) as ws:
        await ws.send(ClientProtocol.close_frame())
        with pytest.raises(ConnectionClosedOK):
            await receive(ws)
        assert ws.close_code == 1000
    await until(simulator, lambda: simulator.active_connections == 0)


async def test_connection_without_pings_is_closed_after_interval_plus_timeout() -> None:
    window = 2.0
    config = SimulatorConfig(ping_interval_ms=1000, ping_timeout_ms=1000)
    async with KwiffSimulator(config) as sim:
        async with session(sim) as pinging:
            # Pings 0.25 s apart for 2.5 s: the window is passed in all, and only a stall
            # of eight times the pings' spacing could pass it between two pings.
            for _ in range(10):
                await asyncio.sleep(window / 8)
                await pinging.send("2")
                assert await receive(pinging) == "3"
        started = time.monotonic()  # before the server starts its clock
        async with session(sim) as quiet:
            with pytest.raises(ConnectionClosedOK):
                await receive(quiet)
        assert time.monotonic() - started >= window - CLOCK_SLACK


@pytest.mark.parametrize(
    ("mangle", "status", "reason"),
    [
        ({"cookie": None}, 403, "Cookie uuid does not match identifier"),
        ({"cookie": "uuid=someone-else"}, 403, "Cookie uuid does not match identifier"),
        ({"user_agent": None}, 403, "User-Agent header missing"),
        ({"user_agent": " "}, 403, "User-Agent header missing"),
        ({"path": "/engine.io/"}, 404, "Not found: /engine.io/ (expected /socket.io/)"),
        ({"eio": "4"}, 400, "Unsupported protocol version: EIO=3 expected"),
        ({"transport": "polling"}, 400, "Transport unknown: transport=websocket expected"),
    ],
)
async def test_refused_handshakes(
    simulator: KwiffSimulator, mangle: dict[str, str | None], status: int, reason: str
) -> None:
    identifier = str(uuid.uuid4())
    headers = browser_headers(identifier)
    cookie = mangle.get("cookie", headers["Cookie"])
    if cookie is None:
        del headers["Cookie"]
    else:
        headers["Cookie"] = cookie
    url = simulator.url.replace("/socket.io/", mangle.get("path") or "/socket.io/") + query(
        identifier, eio=mangle.get("eio") or "3", transport=mangle.get("transport") or "websocket"
    )
    user_agent = mangle.get("user_agent", USER_AGENT)
    with pytest.raises(InvalidStatus) as caught:
        async with connect(
            url, additional_headers=headers, user_agent_header=user_agent, proxy=None
        ):
            pass
    response = caught.value.response
    assert response.status_code == status
    assert response.body == f"{reason}\n".encode()
    assert simulator.handshakes_refused == 1
    assert simulator.connections == 0


@pytest.mark.parametrize("status", [429, 503])
async def test_refuse_status_refuses_every_handshake(status: int) -> None:
    async with KwiffSimulator(SimulatorConfig(faults=Faults(refuse_status=status))) as sim:
        for _ in range(2):
            with pytest.raises(InvalidStatus) as caught:
                async with session(sim):
                    pass
            assert caught.value.response.status_code == status
            assert caught.value.response.headers["Retry-After"] == "1"
        assert sim.handshakes_refused == 2


async def test_browser_headers_can_be_waived() -> None:
    config = SimulatorConfig(require_browser_headers=False)
    async with KwiffSimulator(config) as sim:
        bare = sim.url + "?EIO=3&transport=websocket"
        async with connect(bare, user_agent_header=None, proxy=None) as ws:
            assert (await receive(ws)).startswith('0{"sid":')
    assert sim.handshakes_refused == 0


async def test_close_ends_connections_and_pending_answers() -> None:
    # An answer due in an hour: close() must cancel it, not wait for it (or the test hangs).
    sim = KwiffSimulator(SimulatorConfig(response_delay=3600))
    await sim.start()
    async with session(sim) as ws:
        await ws.send(command_frame(1, "event:get", {"eventId": 1}))
        await received(sim, 1)
        await sim.close()
        assert sim.commands_handled == 1  # the pending answer is over...
        with pytest.raises(ConnectionClosedOK):
            await receive(ws)
        assert ws.close_code == 1001
    assert sim.acks_sent == 0  # ...without being sent
    assert sim.active_connections == 0
    await sim.close()  # idempotent


def test_cli_flags_map_onto_the_config() -> None:
    command_line = (
        "--port 0 --host 127.0.0.2 --seed 5 --delay 0.5 --silent --drop-after 3 --garbage "
        "--no-pongs --no-header-check --refuse 429 --connect-first --max-size 0 "
        "--ping-interval 1000 --ping-timeout 2000 --football-events 10 --still"
    )
    args = build_parser().parse_args(command_line.split())
    assert config_from_args(args) == SimulatorConfig(
        host="127.0.0.2",
        port=0,
        seed=5,
        football_events=10,
        ping_interval_ms=1000,
        ping_timeout_ms=2000,
        response_delay=0.5,
        faults=Faults(
            silent=True, drop_after=3, garbage_frame=True, answer_pings=False, refuse_status=429
        ),
        require_browser_headers=False,
        event_before_connect=False,
        max_size=None,
    )
    # The command line moves, in real time, unless --still; a SimulatorConfig is still
    # unless told, and moves one step per serve unless given a speed.
    no_flags = config_from_args(build_parser().parse_args(["--port", "0"]))
    assert no_flags == SimulatorConfig(moving=True, speed=1.0)
    fast = config_from_args(build_parser().parse_args(["--port", "0", "--speed", "60"]))
    assert fast == SimulatorConfig(moving=True, speed=60.0)
    per_serve = config_from_args(build_parser().parse_args(["--port", "0", "--per-serve"]))
    assert per_serve == SimulatorConfig(moving=True, speed=None)


async def test_cli_prints_its_address_serves_and_exits_cleanly() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kwiff_scrapy.simulator", "--port", "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        async with asyncio.timeout(10):
            line = (await process.stdout.readline()).decode()
        match = re.fullmatch(
            r"Kwiff simulator listening on (ws://127\.0\.0\.1:(\d+)/socket\.io/)\n", line
        )
        assert match, line
        assert int(match[2]) > 0
        async with browser_session(match[1]) as ws:
            ack = await ask(ws, 1, "event:get", {"eventId": 1})
            assert ack.args[0]["data"] == {"result": None}
    finally:
        if process.returncode is None:
            process.terminate()
        async with asyncio.timeout(10):
            stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert stdout == b""  # nothing after the one line


# ------------------------------------------------------------------ more fault switches


def fixed_data() -> SimulatedData:
    return SimulatedData(clock=fixed_clock)


def ack_frame(ack_id: int, event_id: int = 1) -> str:
    """The exact ACK the simulator (with the fixed clock) sends for ``event:get``."""
    answer = fixed_data().answer("event:get", {"eventId": event_id})
    return message_frame(SocketPacket(SocketPacketType.ACK, [answer], ack_id=ack_id))


def test_new_config_validation() -> None:
    for bad in (
        {"error_packet_after": 0},
        {"close_packet_after": 0},
        {"stop_pongs_after": -1},
        {"faulty_connections": -1},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            SimulatorConfig.from_options(bad)
    config = SimulatorConfig(faulty_connections=0, faults=Faults(stop_pongs_after=0))
    assert config.faults.stop_pongs_after == 0


def test_for_connection_switches_faults_off_past_faulty_connections() -> None:
    faults: dict[str, Any] = {
        "silent": True,
        "drop_after": 2,
        "garbage_frame": True,
        "answer_pings": False,
        "error_packet_after": 3,
        "close_packet_after": 4,
        "binary_frame": True,
        "unknown_packet": True,
        "unknown_ack": True,
        "duplicate_ack": True,
        "stop_pongs_after": 1,
        "refuse_status": 503,
        "answer_faults": {5: "error"},
    }
    assert set(faults) == FAULT_FIELDS
    config = SimulatorConfig(response_delay=0.5, faulty_connections=2, faults=Faults(**faults))
    assert config.for_connection(1) is config
    assert config.for_connection(2) is config
    # Past faulty_connections every switch is off; response_delay is not a fault.
    assert config.for_connection(3) == SimulatorConfig(response_delay=0.5, faulty_connections=2)
    everywhere = SimulatorConfig(faults=Faults(silent=True))
    assert everywhere.for_connection(1000) is everywhere
    nowhere = SimulatorConfig(faulty_connections=0, faults=Faults(silent=True))
    assert nowhere.for_connection(1).faults == Faults()


async def test_error_packet_after_ends_all_answers_but_keeps_the_connection() -> None:
    config = SimulatorConfig(faults=Faults(error_packet_after=3))
    async with KwiffSimulator(config, data=fixed_data()) as sim, session(sim) as ws:
        assert await ask(ws, 1, "event:get", {"eventId": 1}) == decode_ack(ack_frame(1))
        sim.hold_answers()  # command 2 is pending when command 3 brings the ERROR
        await ws.send(command_frame(2, "event:get", {"eventId": 1}))
        await ws.send(command_frame(3, "event:get", {"eventId": 1}))
        error = await receive(ws)
        assert error == '44"Not authorized"'
        assert ClientProtocol().receive(error) == NamespaceError("/", "Not authorized")
        await ws.send(command_frame(4, "event:get", {"eventId": 1}))
        await handled(sim, 4)
        sim.release_answers()
        assert await frames_before_pong(ws) == []  # no answer to 2 or 4; still open
        assert (sim.commands_received, sim.acks_sent, sim.fault_frames_sent) == (4, 1, 1)
        assert sim.max_in_flight_seen == 3  # commands 2, 3 and 4 stay unanswered


async def test_close_packet_after_sends_1_then_closes_normally() -> None:
    config = SimulatorConfig(faults=Faults(close_packet_after=2))
    async with KwiffSimulator(config, data=fixed_data()) as sim:
        async with session(sim) as ws:
            assert await ask(ws, 1, "event:get", {"eventId": 1}) == decode_ack(ack_frame(1))
            await ws.send(command_frame(2, "event:get", {"eventId": 1}))
            closing = await receive(ws)
            assert closing == "1"
            assert isinstance(ClientProtocol().receive(closing), ServerClosed)
            with pytest.raises(ConnectionClosedOK) as caught:
                await receive(ws)
            assert caught.value.rcvd is not None
            assert caught.value.rcvd.code == 1000
        await until(sim, lambda: sim.active_connections == 0)
        assert (sim.commands_received, sim.acks_sent, sim.fault_frames_sent) == (2, 1, 1)


async def test_binary_frame_precedes_each_ack() -> None:
    config = SimulatorConfig(faults=Faults(binary_frame=True))
    async with KwiffSimulator(config, data=fixed_data()) as sim, session(sim) as ws:
        for ack_id in (1, 2):
            await ws.send(command_frame(ack_id, "event:get", {"eventId": 1}))
            await handled(sim, ack_id)
            assert await frames_before_pong(ws) == [b"\x04binary", ack_frame(ack_id)]
        assert BINARY_FRAME == b"\x04binary"
        with pytest.raises(ProtocolError):
            ClientProtocol().receive(BINARY_FRAME)
        assert (sim.acks_sent, sim.fault_frames_sent) == (2, 2)


async def test_unknown_packets_precede_each_ack() -> None:
    config = SimulatorConfig(faults=Faults(unknown_packet=True))
    async with KwiffSimulator(config, data=fixed_data()) as sim, session(sim) as ws:
        await ws.send(command_frame(5, "event:get", {"eventId": 1}))
        await handled(sim, 1)
        frames = await frames_before_pong(ws)
        assert frames == [
            "9hello",
            '451-["x",{"_placeholder":true,"num":0}]',
            ack_frame(5),
        ]
        assert frames[:2] == [UNKNOWN_ENGINE_FRAME, BINARY_EVENT_FRAME]
        for frame in frames[:2]:
            with pytest.raises(ProtocolError):
                ClientProtocol().receive(frame)
        assert (sim.acks_sent, sim.fault_frames_sent) == (1, 2)


async def test_unknown_ack_precedes_each_ack() -> None:
    config = SimulatorConfig(faults=Faults(unknown_ack=True))
    async with KwiffSimulator(config, data=fixed_data()) as sim, session(sim) as ws:
        await ws.send(command_frame(7, "event:get", {"eventId": 1}))
        await handled(sim, 1)
        assert await frames_before_pong(ws) == [
            f'431000000000007[{{"timestamp":{FIXED_MS},"data":null}}]',
            ack_frame(7),
        ]
        assert (sim.acks_sent, sim.fault_frames_sent) == (1, 1)


async def test_duplicate_ack_sends_each_ack_twice() -> None:
    config = SimulatorConfig(faults=Faults(duplicate_ack=True))
    async with KwiffSimulator(config, data=fixed_data()) as sim, session(sim) as ws:
        for ack_id in (1, 2):
            await ws.send(command_frame(ack_id, "event:get", {"eventId": 1}))
            await handled(sim, ack_id)
            assert await frames_before_pong(ws) == [ack_frame(ack_id)] * 2
        assert (sim.commands_received, sim.acks_sent, sim.fault_frames_sent) == (2, 2, 2)


async def test_fault_frames_come_in_a_fixed_order() -> None:
    faults = Faults(
        garbage_frame=True, binary_frame=True, unknown_packet=True, unknown_ack=True,
        duplicate_ack=True,
    )  # fmt: skip
    config = SimulatorConfig(faults=faults)
    async with KwiffSimulator(config, data=fixed_data()) as sim, session(sim) as ws:
        await ws.send(command_frame(3, "event:get", {"eventId": 1}))
        await handled(sim, 1)
        assert await frames_before_pong(ws) == [
            "garbage",
            b"\x04binary",
            "9hello",
            '451-["x",{"_placeholder":true,"num":0}]',
            f'431000000000003[{{"timestamp":{FIXED_MS},"data":null}}]',
            ack_frame(3),
            ack_frame(3),
        ]
        assert (sim.acks_sent, sim.fault_frames_sent) == (1, 6)


async def test_stop_pongs_after_stops_pongs_but_not_the_connection() -> None:
    window = 2.0
    config = SimulatorConfig(
        ping_interval_ms=1000, ping_timeout_ms=1000, faults=Faults(stop_pongs_after=2)
    )
    async with KwiffSimulator(config, data=fixed_data()) as sim, session(sim) as ws:
        for data in ("a", "b"):
            await ws.send("2" + data)
            assert await receive(ws) == "3" + data
        # Pings 0.25 s apart for 2.5 s: the window is passed in all, and only a stall of
        # eight times the pings' spacing could pass it between two pings.
        for ack_id in range(1, 11):
            await asyncio.sleep(window / 8)
            await ws.send("2")
            # The ack is the next frame: no pong came before it.
            assert await ask(ws, ack_id, "event:get", {"eventId": 1}) == decode_ack(
                ack_frame(ack_id)
            )
        assert (sim.pings_received, sim.pongs_sent, sim.active_connections) == (12, 2, 1)


async def test_max_in_flight_seen() -> None:
    async with KwiffSimulator() as sim, session(sim) as ws:
        assert sim.max_in_flight_seen == 0
        for batch in ((1, 2, 3), (4, 5)):
            sim.hold_answers()
            for ack_id in batch:
                await ws.send(command_frame(ack_id, "event:get", {"eventId": 1}))
            await received(sim, batch[-1])
            sim.release_answers()
            acks = [decode_ack(await receive(ws)).ack_id for _ in batch]
            assert sorted(acks) == list(batch)
        await ws.send('42["command",{}]')  # no ack id: never in flight
        await handled(sim, 6)
        assert (sim.commands_received, sim.acks_sent, sim.max_in_flight_seen) == (6, 5, 3)


async def test_max_in_flight_seen_counts_unanswered_commands() -> None:
    async with KwiffSimulator(SimulatorConfig(faults=Faults(silent=True))) as sim:
        async with session(sim) as ws:
            for ack_id in range(4):
                await ws.send(command_frame(ack_id, "event:get", {"eventId": 1}))
            await ws.send("2")
            assert await receive(ws) == "3"  # the commands before it have been read
        async with session(sim) as again:  # counted per connection
            await again.send(command_frame(1, "event:get", {"eventId": 1}))
            await again.send("2")
            assert await receive(again) == "3"
        assert sim.max_in_flight_seen == 4


@pytest.mark.parametrize(
    "fault",
    [
        {"silent": True},
        {"drop_after": 1},
        {"garbage_frame": True},
        {"answer_pings": False},
        {"error_packet_after": 1},
        {"close_packet_after": 1},
        {"binary_frame": True},
        {"unknown_packet": True},
        {"unknown_ack": True},
        {"duplicate_ack": True},
        {"stop_pongs_after": 0},
    ],
    ids=lambda fault: next(iter(fault)),
)
async def test_faulty_connections_limits_each_fault_to_the_first_connections(
    fault: dict[str, Any],
) -> None:
    normal = ["3", ack_frame(1)]
    config = SimulatorConfig(faulty_connections=1, faults=Faults(**fault))
    async with KwiffSimulator(config, data=fixed_data()) as sim:
        for number in (1, 2):
            async with session(sim) as ws:
                await ws.send("2")
                await ws.send(command_frame(1, "event:get", {"eventId": 1}))
                await handled(sim, number)
                frames = await frames_until_closed(ws)
            if number == 1:
                assert frames != normal  # the fault shows on the first connection...
            else:
                assert frames == normal  # ...and the second one behaves normally
        assert sim.connections == 2


@pytest.mark.parametrize("status", [429, 503])
async def test_faulty_connections_limits_refuse_status_to_the_first_handshakes(
    status: int,
) -> None:
    config = SimulatorConfig(faulty_connections=2, faults=Faults(refuse_status=status))
    async with KwiffSimulator(config, data=fixed_data()) as sim:
        for _ in range(2):
            with pytest.raises(InvalidStatus) as caught:
                async with session(sim):
                    pass
            assert caught.value.response.status_code == status
        async with session(sim) as ws:  # the third handshake is accepted...
            assert await ask(ws, 1, "event:get", {"eventId": 1}) == decode_ack(ack_frame(1))
        assert (sim.handshakes_refused, sim.connections) == (2, 1)


async def test_refused_handshakes_count_as_connections_for_faulty_connections() -> None:
    config = SimulatorConfig(faulty_connections=1, faults=Faults(duplicate_ack=True))
    async with KwiffSimulator(config, data=fixed_data()) as sim:
        bare = sim.url + "?EIO=3&transport=websocket"
        with pytest.raises(InvalidStatus):  # no browser headers: refused with 403
            async with connect(bare, user_agent_header=None, proxy=None):
                pass
        async with session(sim) as ws:
            await ws.send(command_frame(1, "event:get", {"eventId": 1}))
            await handled(sim, 1)
            assert await frames_before_pong(ws) == [ack_frame(1)]
        assert sim.connections == 1


async def test_faults_apply_to_every_connection_by_default() -> None:
    async with KwiffSimulator(
        SimulatorConfig(faults=Faults(duplicate_ack=True)), data=fixed_data()
    ) as sim:
        for number in (1, 2):
            async with session(sim) as ws:
                await ws.send(command_frame(1, "event:get", {"eventId": 1}))
                await handled(sim, number)
                assert await frames_before_pong(ws) == [ack_frame(1)] * 2


def test_cli_flags_for_the_new_fault_switches() -> None:
    command_line = (
        "--port 0 --stop-pongs-after 2 --error-packet-after 3 --close-packet-after 4 "
        "--binary-frame --unknown-packet --unknown-ack --duplicate-ack --faulty-connections 1"
    )
    args = build_parser().parse_args(command_line.split())
    assert config_from_args(args) == SimulatorConfig(
        port=0,
        faults=Faults(
            stop_pongs_after=2,
            error_packet_after=3,
            close_packet_after=4,
            binary_frame=True,
            unknown_packet=True,
            unknown_ack=True,
            duplicate_ack=True,
        ),
        faulty_connections=1,
        moving=True,
        speed=1.0,
    )
    help_text = build_parser().format_help()
    for flag in (
        "--stop-pongs-after", "--error-packet-after", "--close-packet-after", "--binary-frame",
        "--unknown-packet", "--unknown-ack", "--duplicate-ack", "--faulty-connections",
    ):  # fmt: skip
        assert re.search(rf"{flag}( N)?\s+\S", help_text), flag
