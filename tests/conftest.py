"""Shared fixtures: a simulator on loopback and an in-process, reactorless crawl."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from scrapy import Spider, signals
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.utils.reactor import is_reactor_installed

from kwiff_scrapy.simulator import KwiffSimulator, SimulatorConfig
from kwiff_scrapy.simulator import data as simulator_data

#: The simulated events' dates follow the UTC day their data is made on, and tests
#: compare data made when a module is imported with a simulator's made later: one day for
#: the whole run in this process, so that a run over midnight UTC compares like with like.
SESSION_DAY = simulator_data.utc_today()
simulator_data.utc_today = lambda: SESSION_DAY

StartSimulator = Callable[..., Awaitable[KwiffSimulator]]

#: Settings of every in-process test crawl: the add-on, no reactor, quiet, fast.
BASE_SETTINGS: dict[str, Any] = {
    "ADDONS": {"kwiff_scrapy.Addon": 300},
    "TWISTED_REACTOR_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "INFO",
    "RETRY_TIMES": 2,
    "DOWNLOAD_TIMEOUT": 10,
    # Reactorless Scrapy would load its experimental aiohttp handler for http(s) and
    # warn about it; these crawls only use kwiff://.
    "DOWNLOAD_HANDLERS": {"http": None, "https": None},
}


PROXY_VARIABLES = ("ws_proxy", "wss_proxy", "http_proxy", "https_proxy", "all_proxy", "socks_proxy")


@pytest.fixture(autouse=True)
def no_environment_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test servers are on loopback: a proxy set on the machine must not divert them."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
async def start_simulator() -> AsyncIterator[StartSimulator]:
    """Start simulators with given options; all are closed after the test.

    Options are flat names, as ``KWIFF_SIMULATOR_OPTIONS`` takes them: config fields and
    fault switches alike (``start_simulator(drop_after=3, faulty_connections=1)``).
    """
    started: list[KwiffSimulator] = []

    async def start(**options: Any) -> KwiffSimulator:
        simulator = KwiffSimulator(SimulatorConfig.from_options(options))
        await simulator.start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        await simulator.close()


@pytest.fixture
async def simulator(start_simulator: StartSimulator) -> KwiffSimulator:
    return await start_simulator()


@dataclasses.dataclass
class CrawlResult:
    items: list[Any]
    stats: dict[str, Any]
    errors: list[BaseException]
    responses: list[Any]

    def stat(self, key: str) -> Any:
        return self.stats.get(key, 0)


async def crawl(
    spider_cls: type[Spider], settings: dict[str, Any] | None = None, **spider_args: Any
) -> CrawlResult:
    """Run one crawl in this event loop, without a Twisted reactor."""
    assert not is_reactor_installed(), "in-process test crawls run reactorless"
    runner = AsyncCrawlerRunner({**BASE_SETTINGS, **(settings or {})})
    crawler = runner.create_crawler(spider_cls)
    result = CrawlResult([], {}, [], [])

    def item_scraped(item: Any) -> None:
        result.items.append(item)

    def spider_error(failure: Any) -> None:
        result.errors.append(failure.value)

    def response_received(response: Any) -> None:
        result.responses.append(response)

    crawler.signals.connect(item_scraped, signal=signals.item_scraped)
    crawler.signals.connect(spider_error, signal=signals.spider_error)
    crawler.signals.connect(response_received, signal=signals.response_received)
    await runner.crawl(crawler, **spider_args)
    assert crawler.stats is not None
    result.stats = crawler.stats.get_stats()
    return result
