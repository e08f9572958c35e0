"""Proxies for the WebSocket connection: the proxy meta key and the environment."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from kwiff_scrapy.connection.proxy import choose_proxy, redact, with_credentials
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData

from ..conftest import crawl
from ..support.command_spider import CommandsSpider
from ..support.extras import require
from ..support.proxies import ConnectProxy

EVENT_IDS = [event["id"] for event in SimulatedData().events(11, "GB")][:3]


@pytest.fixture
async def proxy() -> AsyncIterator[ConnectProxy]:
    server = ConnectProxy()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variables (the autouse fixture removed them) and no ``no_proxy``."""
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    return monkeypatch


def host_port(url: str) -> str:
    return url.split("//", 1)[1].split("/", 1)[0]


async def test_proxy_meta_key_routes_the_connection_through_the_proxy(
    simulator: KwiffSimulator, proxy: ConnectProxy, clean_environment: pytest.MonkeyPatch
) -> None:
    result = await crawl(
        CommandsSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=EVENT_IDS, meta={"proxy": proxy.url}
    )
    assert len(result.items) == len(EVENT_IDS)
    assert proxy.tunnels == [host_port(simulator.url)]  # one connection, through the proxy


async def test_proxy_credentials_are_sent_to_the_proxy(
    simulator: KwiffSimulator, proxy: ConnectProxy, clean_environment: pytest.MonkeyPatch
) -> None:
    expected = "Basic " + base64.b64encode(b"user:s3cret").decode()
    proxy.require_authorization = expected
    meta = {"proxy": f"http://user:s3cret@127.0.0.1:{proxy.port}"}
    result = await crawl(
        CommandsSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=EVENT_IDS, meta=meta
    )
    assert len(result.items) == len(EVENT_IDS)
    assert proxy.authorizations == [expected]


async def test_environment_proxy_variables_are_honoured(
    simulator: KwiffSimulator, proxy: ConnectProxy, clean_environment: pytest.MonkeyPatch
) -> None:
    clean_environment.setenv("ws_proxy", proxy.url)
    result = await crawl(CommandsSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=EVENT_IDS)
    assert len(result.items) == len(EVENT_IDS)
    assert proxy.tunnels == [host_port(simulator.url)]


async def test_no_proxy_and_httpproxy_enabled_false_turn_the_environment_off(
    simulator: KwiffSimulator, proxy: ConnectProxy, clean_environment: pytest.MonkeyPatch
) -> None:
    clean_environment.setenv("ws_proxy", proxy.url)
    disabled = await crawl(
        CommandsSpider, {"KWIFF_ENDPOINT": simulator.url, "HTTPPROXY_ENABLED": False}, ids=EVENT_IDS
    )
    clean_environment.setenv("no_proxy", "127.0.0.1")
    bypassed = await crawl(CommandsSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=EVENT_IDS)
    assert len(disabled.items) == len(bypassed.items) == len(EVENT_IDS)
    assert proxy.tunnels == []


async def test_without_a_proxy_nothing_is_proxied_and_the_simulator_never_is(
    proxy: ConnectProxy, clean_environment: pytest.MonkeyPatch
) -> None:
    clean_environment.setenv("ws_proxy", proxy.url)  # must not divert the built-in simulator
    settings = {"KWIFF_ENDPOINT": "simulator", "KWIFF_SIMULATOR_OPTIONS": {"speed": None}}
    result = await crawl(CommandsSpider, settings, ids=EVENT_IDS)  # the data at rest
    assert len(result.items) == len(EVENT_IDS)
    assert proxy.tunnels == []


def test_choose_proxy_prefers_the_meta_key_and_folds_credentials_back() -> None:
    header = b"Basic " + base64.b64encode(b"a b:p@ss")
    chosen = choose_proxy("wss://x/", meta_proxy="http://proxy:3128", proxy_authorization=header)
    assert chosen == "http://a%20b:p%40ss@proxy:3128"
    assert choose_proxy("wss://x/", meta_proxy=None, use_environment=False) is None
    assert with_credentials("proxy:3128", None) == "http://proxy:3128"
    assert with_credentials("http://u:p@proxy:3128", header) == "http://u:p@proxy:3128"
    assert redact("http://u:p@proxy:3128") == "http://***@proxy:3128"
    assert redact("http://proxy:3128") == "http://proxy:3128"


async def test_socks5_proxy_from_the_meta_key(simulator: KwiffSimulator) -> None:
    require("python_socks", "socks", "SOCKS")
    from ..support.proxies import Socks5Proxy

    socks = Socks5Proxy()
    await socks.start()
    try:
        result = await crawl(
            CommandsSpider,
            {"KWIFF_ENDPOINT": simulator.url},
            ids=EVENT_IDS,
            meta={"proxy": socks.url},
        )
    finally:
        await socks.close()
    assert len(result.items) == len(EVENT_IDS)
    assert socks.tunnels == [host_port(simulator.url)]


async def test_the_async_client_uses_the_same_proxy_rules(
    simulator: KwiffSimulator, proxy: ConnectProxy, clean_environment: pytest.MonkeyPatch
) -> None:
    from kwiff_scrapy import KwiffClient

    async with KwiffClient(simulator.url, proxy=proxy.url) as client:
        assert (await client.get_event(EVENT_IDS[0])) is not None
    assert proxy.tunnels == [host_port(simulator.url)]

    clean_environment.setenv("ws_proxy", proxy.url)
    async with KwiffClient(simulator.url) as client:
        await client.get_event(EVENT_IDS[0])
    async with KwiffClient(simulator.url, trust_env=False) as client:
        await client.get_event(EVENT_IDS[0])
    async with KwiffClient("simulator") as client:
        await client.get_event(EVENT_IDS[0])
    # Only the environment-configured client went through the proxy a second time.
    assert proxy.tunnels == [host_port(simulator.url)] * 2
