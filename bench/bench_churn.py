"""(d) The churn load test's crawl: commands/s with every connection dropped at its 500th command.

Run: ``python -m bench.bench_churn`` (``--quick`` for a smoke run).

The crawl of ``tests/test_load.py``: 10,000 ``event:get`` commands (each with a
sequence number) at ``CONCURRENT_REQUESTS`` 64 over 4 connections, with its retry
and reconnect settings and a JSON lines feed. It runs against two in-process
simulators: one that aborts each connection's TCP stream when its 500th command
arrives (``SimulatorConfig(drop_after=500)``), so the commands in flight on it fail
and are retried on a fresh connection, and one without drops. Same spider, commands
and settings; the crawls are interleaved (steady, churn, steady, ...) in one
``asyncio.run``, reactorless.

Commands/s is measured from ``spider_opened`` to the last ``response_received``, as
in ``bench_handler``. After every crawl its feed is checked one to one, as the load
test does: every sequence number exactly once, each with the event it asked for.

Reading the retries: with the simulator in the same event loop, Scrapy's own work
per request is the bottleneck, so a connection rarely has more than two or three
commands waiting (the simulator's ``max_in_flight_seen``) and a drop usually fails
only the command that triggered it: about one retry per drop, not the 16 (64
commands over 4 connections) a network's latency would keep waiting on each.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import AsyncCrawlerRunner

from kwiff_scrapy.integration.http import KwiffRequest, KwiffResponse
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData

from ._common import base_parser, print_header, print_table, running_simulator

STEADY = "steady (no drops)"
CHURN = "churn"

#: The load test's commands: event:get cycling over the football events of GB.
FOOTBALL_IDS: tuple[int, ...] = tuple(event["id"] for event in SimulatedData().events(11, "GB"))


@dataclass(frozen=True)
class Counts:
    commands: int
    drop_after: int
    repeats: int
    warmup: int


# One crawl per arm: a 10,000-command crawl takes about half a minute on its own.
FULL = Counts(commands=10_000, drop_after=500, repeats=1, warmup=500)
# A smoke run: a fifth of the commands, so drops come five times as often to keep
# the number of connections dropped per crawl (about 20) of the full run.
QUICK = Counts(commands=2_000, drop_after=100, repeats=1, warmup=200)


class SequencedEventGetSpider(scrapy.Spider):
    """One ``event:get`` per id, with a sequence number so that repeats are distinct."""

    name = "bench_churn"

    def __init__(self, ids: list[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ids = ids

    async def start(self) -> AsyncIterator[KwiffRequest]:
        for seq, event_id in enumerate(self.ids):
            yield KwiffRequest(
                "event:get", {"eventId": event_id, "seq": seq}, callback=self.parse_event
            )

    def parse_event(self, response: KwiffResponse) -> Iterator[dict[str, Any]]:
        request = response.request
        assert isinstance(request, KwiffRequest)  # the handler answers the request it was given
        payload = request.payload
        got = response.data["result"]["id"]
        yield {"seq": payload["seq"], "asked": payload["eventId"], "got": got}


@dataclass
class CrawlResult:
    """One crawl: its timed window and the counts that show what the churn cost."""

    commands: int
    seconds: float
    retries: int
    connections_opened: int
    commands_received: int  # by the simulator: the retried ones twice (or more)

    @property
    def rate(self) -> float:
        return self.commands / self.seconds


@dataclass
class Arm:
    """The repeated crawls of one simulator (steady or churn)."""

    name: str
    drop_after: int | None
    results: list[CrawlResult] = field(default_factory=list)

    @property
    def median_rate(self) -> float:
        return statistics.median(r.rate for r in self.results)

    @property
    def best_rate(self) -> float:
        return max(r.rate for r in self.results)

    def median_of(self, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.results)


@dataclass
class CrawlTiming:
    opened: float = 0.0
    last_response: float = 0.0

    def on_opened(self) -> None:
        self.opened = time.perf_counter()

    def on_response(self) -> None:
        self.last_response = time.perf_counter()


def crawl_settings(url: str, feed: Path) -> dict[str, Any]:
    """``tests/test_load.py``'s settings, over the test suite's base settings."""
    return {
        "ADDONS": {"kwiff_scrapy.Addon": 300},
        "TWISTED_REACTOR_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "DOWNLOAD_TIMEOUT": 10,
        # Only kwiff:// is crawled (as in bench_handler: no aiohttp start-up warning).
        "DOWNLOAD_HANDLERS": {"http": None, "https": None},
        "KWIFF_ENDPOINT": url,
        "KWIFF_CONNECTIONS_PER_ENDPOINT": 4,
        "KWIFF_RECONNECT_DELAY": 0.01,
        "KWIFF_RECONNECT_MAX_DELAY": 0.1,
        "CONCURRENT_REQUESTS": 64,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 64,
        "RETRY_TIMES": 20,
        "LOG_LEVEL": "WARNING",
        "FEEDS": {str(feed): {"format": "jsonlines", "overwrite": True}},
    }


async def crawl_once(simulator: KwiffSimulator, commands: int, feed: Path) -> CrawlResult:
    ids = list(itertools.islice(itertools.cycle(FOOTBALL_IDS), commands))
    runner = AsyncCrawlerRunner(crawl_settings(simulator.url, feed))
    crawler = runner.create_crawler(SequencedEventGetSpider)
    timing = CrawlTiming()
    crawler.signals.connect(timing.on_opened, signal=signals.spider_opened)
    crawler.signals.connect(timing.on_response, signal=signals.response_received)
    received_before = simulator.commands_received
    await runner.crawl(crawler, ids=ids)
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    check_feed(feed, commands, stats)
    return CrawlResult(
        commands=commands,
        seconds=timing.last_response - timing.opened,
        retries=stats.get("retry/count", 0),
        connections_opened=stats.get("kwiff/connections_opened", 0),
        commands_received=simulator.commands_received - received_before,
    )


def check_feed(feed: Path, commands: int, stats: dict[str, Any]) -> None:
    """The load test's checks: each command exported exactly once, with its own answer."""
    items = [json.loads(line) for line in feed.read_text().splitlines()]
    problems = []
    if sorted(item["seq"] for item in items) != list(range(commands)):
        problems.append(f"{len(items)} items, not each of the {commands} sequence numbers once")
    if not all(item["asked"] == item["got"] for item in items):
        problems.append("an answer went to another command")
    if stats.get("item_scraped_count", 0) != commands:
        problems.append(f"item_scraped_count {stats.get('item_scraped_count', 0)}")
    if stats.get("retry/max_reached", 0):
        problems.append(f"retry/max_reached {stats['retry/max_reached']}")
    if problems:
        raise RuntimeError("; ".join(problems))


async def run_benchmark(counts: Counts) -> list[Arm]:
    arms = [Arm(STEADY, None), Arm(CHURN, counts.drop_after)]
    with tempfile.TemporaryDirectory(prefix="bench_churn_") as directory:
        feed = Path(directory) / "items.jsonl"
        async with (
            running_simulator() as steady,
            running_simulator(drop_after=counts.drop_after) as churn,
        ):
            simulators = {STEADY: steady, CHURN: churn}
            for arm in arms:
                await crawl_once(simulators[arm.name], counts.warmup, feed)
            for _ in range(counts.repeats):
                for arm in arms:  # interleaved: S C S C ...
                    result = await crawl_once(simulators[arm.name], counts.commands, feed)
                    arm.results.append(result)
    return arms


def report(arms: list[Arm], counts: Counts) -> None:
    steady, churn = arms
    rows = [
        [
            arm.name,
            "-" if arm.drop_after is None else arm.drop_after,
            counts.commands,
            arm.median_rate,
            arm.best_rate,
            arm.median_rate / steady.median_rate,
            int(arm.median_of("retries")),
            int(arm.median_of("connections_opened")),
            int(arm.median_of("commands_received")),
        ]
        for arm in arms
    ]
    print_table(
        ["simulator", "drop_after", "commands", "cmd/s (median)", "cmd/s (best)", "this/steady",
         "retries", "connections opened", "commands received"],
        rows,
    )  # fmt: skip
    print()
    crawls = (
        "one crawl per row (median = best)"
        if counts.repeats == 1
        else f"median and best of {counts.repeats} interleaved crawls per row"
    )
    print(
        f"{crawls}, after one warm-up crawl of {counts.warmup} commands each; retries, "
        f"connections opened (client stats) and commands received (by the simulator) are "
        f"medians. CONCURRENT_REQUESTS 64, 4 connections, RETRY_TIMES 20, "
        f"KWIFF_RECONNECT_DELAY 0.01 (max 0.1), a jsonlines feed"
    )
    for arm in arms if counts.repeats > 1 else ():
        per_crawl = ", ".join(
            f"{r.rate:,.0f} cmd/s ({r.retries} retries, {r.connections_opened} connections)"
            for r in arm.results
        )
        print(f"  {arm.name}: {per_crawl}")
    print(f"RATIO churn/steady commands/s: {churn.median_rate / steady.median_rate:.2f}")
    print(
        f"churn: {int(churn.median_of('retries'))} retries and "
        f"{int(churn.median_of('connections_opened'))} connections opened per "
        f"{counts.commands}-command crawl (medians)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    args: argparse.Namespace = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    print_header("bench_churn: the load test's crawl, connections dropped vs not", args)
    arms = asyncio.run(run_benchmark(counts))
    report(arms, counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
