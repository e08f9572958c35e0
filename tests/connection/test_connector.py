"""The Connector: one place that turns an endpoint, a proxy and credentials into a session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kwiff_scrapy import defaults
from kwiff_scrapy.connection.connector import ConnectionConfig, Connector
from kwiff_scrapy.connection.session import SessionStat
from kwiff_scrapy.simulator import KwiffSimulator

from ..support.proxies import ConnectProxy


@pytest.fixture
async def proxy(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ConnectProxy]:
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    server = ConnectProxy()
    await server.start()
    yield server
    await server.close()


def host_port(url: str) -> str:
    return url.split("//", 1)[1].split("/", 1)[0]


async def test_one_pool_per_endpoint_shared_by_concurrent_callers(
    simulator: KwiffSimulator,
) -> None:
    connector = Connector(ConnectionConfig(endpoint=simulator.url))
    try:
        sessions = await asyncio.gather(*(connector.session() for _ in range(5)))
        assert len({id(session) for session in sessions}) == 1
        assert simulator.connections == 1
        assert await connector.session(simulator.url) is sessions[0]
    finally:
        await connector.close()
    assert sessions[0].closed


async def test_a_proxy_or_other_credentials_get_their_own_pool(
    simulator: KwiffSimulator, proxy: ConnectProxy
) -> None:
    connector = Connector(ConnectionConfig(endpoint=simulator.url, trust_env=False))
    try:
        direct = await connector.session()
        proxied = await connector.session(proxy=proxy.url)
        authorized = await connector.session(proxy=proxy.url, proxy_authorization=b"Basic eDp5")
        assert len({id(direct), id(proxied), id(authorized)}) == 3
        assert await connector.session(proxy=proxy.url) is proxied
        assert proxy.tunnels == [host_port(simulator.url)] * 2
        assert proxy.authorizations == [None, "Basic eDp5"]
    finally:
        await connector.close()


async def test_the_configured_proxy_applies_when_a_command_names_none(
    simulator: KwiffSimulator, proxy: ConnectProxy
) -> None:
    connector = Connector(ConnectionConfig(endpoint=simulator.url, proxy=proxy.url))
    try:
        await connector.session()
        assert proxy.tunnels == [host_port(simulator.url)]
    finally:
        await connector.close()


async def test_environment_proxies_apply_to_urls_but_never_to_the_simulator(
    simulator: KwiffSimulator, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ws_proxy", proxy.url)
    connector = Connector(ConnectionConfig(endpoint=defaults.SIMULATOR_ENDPOINT))
    try:
        await connector.session()
        assert proxy.tunnels == []
        await connector.session(simulator.url)
        assert proxy.tunnels == [host_port(simulator.url)]
    finally:
        await connector.close()
    untrusting = Connector(ConnectionConfig(endpoint=simulator.url, trust_env=False))
    try:
        await untrusting.session()
        assert proxy.tunnels == [host_port(simulator.url)]  # no second tunnel
    finally:
        await untrusting.close()


async def test_the_simulator_endpoint_starts_one_simulator_with_the_options() -> None:
    config = ConnectionConfig(
        endpoint=defaults.SIMULATOR_ENDPOINT,
        simulator_options={"football_events": 3, "speed": None},
    )
    connector = Connector(config)
    try:
        first, second = await asyncio.gather(
            connector.url(defaults.SIMULATOR_ENDPOINT), connector.url(defaults.SIMULATOR_ENDPOINT)
        )
        assert first == second
        assert first.startswith("ws://127.0.0.1:")
        session = await connector.session()
        ack = await session.command("event:list", {"sportId": 11, "country": "GB"})
        assert len(ack.args[0]["data"]["events"]) == 3
    finally:
        await connector.close()
    port = int(host_port(first).rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):  # closed with the connector
        await asyncio.open_connection("127.0.0.1", port)


async def test_hooks_get_session_stats_and_pushed_events_with_their_url(
    simulator: KwiffSimulator,
) -> None:
    counted: list[tuple[SessionStat, int]] = []
    pushed: list[tuple[str, Any, str]] = []
    connector = Connector(
        ConnectionConfig(endpoint=simulator.url),
        on_stat=lambda stat, count: counted.append((stat, count)),
        on_event=lambda name, args, url: pushed.append((name, args, url)),
    )
    try:
        await connector.session()
    finally:
        await connector.close()
    assert (SessionStat.CONNECTIONS_OPENED, 1) in counted
    assert [(name, url) for name, _, url in pushed] == [("response", simulator.url)]


async def test_other_urls_are_used_as_given() -> None:
    connector = Connector(ConnectionConfig())
    assert await connector.url("ws://127.0.0.1:9/socket.io/") == "ws://127.0.0.1:9/socket.io/"
    await connector.close()
