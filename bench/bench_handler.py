"""(a) Many small ``event:get`` commands through a full Scrapy crawl: handler vs null handler.

Run: ``python -m bench.bench_handler`` (``--quick`` for a smoke run).

The same spider crawls twice per setting: once through :class:`KwiffDownloadHandler`
against the in-process simulator, once through a null download handler that
answers every request instantly with one canned ``event:get`` ack (Scrapy's own
ceiling: engine, scheduler, middlewares, callback, items). Both crawls are
reactorless (``TWISTED_REACTOR_ENABLED=False``) in one ``asyncio.run``.

Commands/s is measured from ``spider_opened`` to the last ``response_received``,
so it leaves out crawler start-up and shut-down but includes opening the one
WebSocket connection the handler needs.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import scrapy
from scrapy import signals
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.crawler import AsyncCrawlerRunner, Crawler
from scrapy.http import Response

from kwiff_scrapy.connection.session import KwiffSession, SessionOptions
from kwiff_scrapy.integration.http import KwiffRequest, KwiffResponse
from kwiff_scrapy.simulator import SimulatedData

from ._common import (
    EVENT_IDS,
    Sample,
    base_parser,
    measure_interleaved,
    print_header,
    print_table,
    running_simulator,
)
from .bench_session import concurrent, sequential, session_round_trip

HANDLER = "KwiffDownloadHandler"
NULL = "null handler (ceiling)"


@dataclass(frozen=True)
class Counts:
    commands: int
    repeats: int
    session_commands: int
    concurrency: tuple[int, ...] = (1, 16)


FULL = Counts(commands=2000, repeats=3, session_commands=500)
QUICK = Counts(commands=200, repeats=1, session_commands=100)


@functools.cache
def canned_ack() -> str:
    """The raw ACK arguments of one real ``event:get`` answer, as the wire carries them."""
    answer = SimulatedData().answer("event:get", {"eventId": EVENT_IDS[0]})
    return json.dumps([answer], separators=(",", ":"), ensure_ascii=False)


class NullKwiffHandler(BaseDownloadHandler):
    """A ``kwiff`` download handler that answers instantly with a canned ack."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._raw: str = crawler.settings["BENCH_CANNED_ACK"]
        self._args: list[Any] = json.loads(self._raw)

    async def download_request(self, request: scrapy.Request) -> Response:
        return KwiffResponse.from_ack(request, self._raw, self._args)


class EventGetSpider(scrapy.Spider):
    """``commands`` ``event:get`` requests cycling over every event id; one item each."""

    name = "bench_event_get"

    def __init__(self, commands: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = commands

    async def start(self) -> AsyncIterator[KwiffRequest]:
        for event_id in itertools.islice(itertools.cycle(EVENT_IDS), self.commands):
            yield KwiffRequest("event:get", {"eventId": event_id}, dont_filter=True)

    def parse(self, response: KwiffResponse) -> Iterator[dict[str, Any]]:
        result = response.data["result"]
        yield {"id": result["id"], "markets": len(result["markets"])}


@dataclass
class CrawlTiming:
    opened: float = 0.0
    last_response: float = 0.0
    responses: int = 0
    items: int = 0

    def on_opened(self) -> None:
        self.opened = time.perf_counter()

    def on_response(self) -> None:
        self.last_response = time.perf_counter()
        self.responses += 1

    def on_item(self) -> None:
        self.items += 1


def crawl_settings(kind: str, url: str, concurrency: int) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "TWISTED_REACTOR_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "KWIFF_ENDPOINT": url,
        # Only kwiff:// is crawled; the default http(s) handlers would only add start-up
        # cost and, reactorless, the "AiohttpDownloadHandler is experimental" warning.
        "DOWNLOAD_HANDLERS": {"http": None, "https": None},
    }
    if kind == HANDLER:
        settings["ADDONS"] = {"kwiff_scrapy.Addon": 300}
    else:
        settings["DOWNLOAD_HANDLERS"]["kwiff"] = NullKwiffHandler
        settings["BENCH_CANNED_ACK"] = canned_ack()
    return settings


async def crawl_once(kind: str, url: str, concurrency: int, commands: int) -> float:
    """One crawl; returns the seconds from spider_opened to the last response."""
    runner = AsyncCrawlerRunner(crawl_settings(kind, url, concurrency))
    crawler = runner.create_crawler(EventGetSpider)
    timing = CrawlTiming()
    crawler.signals.connect(timing.on_opened, signal=signals.spider_opened)
    crawler.signals.connect(timing.on_response, signal=signals.response_received)
    crawler.signals.connect(timing.on_item, signal=signals.item_scraped)
    await runner.crawl(crawler, commands=commands)
    if timing.responses != commands or timing.items != commands:
        raise RuntimeError(
            f"{kind}: expected {commands} responses and items, got "
            f"{timing.responses} and {timing.items}"
        )
    return timing.last_response - timing.opened


async def session_alone(url: str, counts: Counts) -> dict[int, Sample]:
    """Context: the same commands on a bare KwiffSession (no Scrapy), per concurrency."""
    session = await KwiffSession.open(SessionOptions(endpoint=url))

    async def round_trip(message: str, payload: Any) -> Any:
        return await session_round_trip(session, message, payload)

    n = counts.session_commands
    try:
        actions = {
            str(c): sequential(round_trip, n) if c == 1 else concurrent(round_trip, n, c)
            for c in counts.concurrency
        }
        samples = await measure_interleaved(actions, ops=n, repeats=2)
    finally:
        await session.close()
    return {int(c): sample for c, sample in samples.items()}


async def run_benchmark(url: str, counts: Counts) -> dict[int, dict[str, Sample]]:
    results: dict[int, dict[str, Sample]] = {}
    warmup = min(counts.commands, 200)
    for concurrency in counts.concurrency:
        samples = {kind: Sample(kind, counts.commands) for kind in (HANDLER, NULL)}
        for kind in samples:
            await crawl_once(kind, url, concurrency, warmup)
        for _ in range(counts.repeats):
            for kind, sample in samples.items():  # interleaved: H N H N ...
                sample.seconds.append(await crawl_once(kind, url, concurrency, counts.commands))
        results[concurrency] = samples
    return results


def report(results: dict[int, dict[str, Sample]], alone: dict[int, Sample], counts: Counts) -> None:
    rows = []
    for concurrency, samples in results.items():
        null = samples[NULL]
        for sample in samples.values():
            ratio = sample.median_rate / null.median_rate
            rows.append(
                [concurrency, sample.name, sample.ops, sample.median_rate, sample.best_rate, ratio]
            )
    print_table(
        ["CONCURRENT_REQUESTS", "download handler", "commands", "cmd/s (median)", "cmd/s (best)",
         "this/null"],
        rows,
    )  # fmt: skip
    print()
    print(
        f"median and best of {counts.repeats} interleaved crawls per row, after one warm-up "
        f"crawl each; CONCURRENT_REQUESTS_PER_DOMAIN = CONCURRENT_REQUESTS"
    )
    for concurrency, samples in results.items():
        ratio = samples[HANDLER].median_rate / samples[NULL].median_rate
        print(f"RATIO handler/null (CONCURRENT_REQUESTS={concurrency}): {ratio:.2f}")
    print()
    print(
        "context: the same event:get round trips on a KwiffSession alone (no Scrapy), same "
        "simulator; 'additive' is the handler/null ratio to expect if Scrapy's cost and the "
        "round trip's cost (simulator included) simply added up:"
    )
    for concurrency, sample in alone.items():
        null_ms = results[concurrency][NULL].median_ms_per_op
        handler_ms = results[concurrency][HANDLER].median_ms_per_op
        session_ms = sample.median_ms_per_op
        additive = null_ms / (null_ms + session_ms)
        print(
            f"  {concurrency:>2} in flight: session alone {session_ms:.3f} ms/cmd, null crawl "
            f"{null_ms:.3f} ms/cmd, handler crawl {handler_ms:.3f} ms/cmd; additive ratio "
            f"{additive:.2f}, unexplained {handler_ms - null_ms - session_ms:+.3f} ms/cmd"
        )


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    args: argparse.Namespace = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    print_header("bench_handler: full Scrapy crawl, event:get, handler vs null handler", args)

    async def run() -> tuple[dict[int, dict[str, Sample]], dict[int, Sample]]:
        async with running_simulator() as simulator:
            results = await run_benchmark(simulator.url, counts)
            return results, await session_alone(simulator.url, counts)

    report(*asyncio.run(run()), counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
