"""(a) Many small commands through a whole Scrapy crawl: the handler vs an instant handler.

Run: ``python -m bench.bench_handler`` (``--quick`` for a smoke run).

The same spider crawls 2,000 ``ticket:odds:get`` commands (a ~175-byte ack each)
three times per setting, ``CONCURRENT_REQUESTS`` 1 and 16:

- through :class:`KwiffDownloadHandler`, against the simulator in its own process;
- through :class:`~bench._instant.InstantKwiffHandler`, which answers every request
  at once with the same ack bytes (Scrapy's own ceiling: engine, scheduler,
  middlewares, callback, items);
- through :class:`~bench._bare_handler.BareKwiffHandler`, the bare ``websockets``
  client of the session benchmarks in a handler, against the same simulator: the
  floor, what any client on ``websockets`` pays for the network and the server.

The crawls take turns; all are reactorless (``TWISTED_REACTOR_ENABLED=False``) in one
``asyncio.run``.

Commands/s is measured from ``spider_opened`` to the last ``response_received``,
so it leaves out crawler start-up and shut-down but includes opening the one
WebSocket connection the handler needs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import AsyncCrawlerRunner

from kwiff_scrapy.integration.http import KwiffRequest, KwiffResponse
from kwiff_scrapy.model.parsing import parse_price_groups
from kwiff_scrapy.simulator import SimulatedData

from ._common import (
    OWN_PROCESS_NOTE,
    SMALL_MESSAGE,
    SMALL_PAYLOAD,
    Sample,
    base_parser,
    print_header,
    print_table,
    ratio_line,
    simulator_process,
)

HANDLER = "KwiffDownloadHandler"
INSTANT = "instant handler (ceiling)"
BARE = "bare websockets handler (floor)"
GOAL = 0.90


@dataclass(frozen=True)
class Counts:
    commands: int
    repeats: int
    concurrency: tuple[int, ...] = (1, 16)
    concurrent_items: int | None = None
    """``CONCURRENT_ITEMS`` of every crawl (None: Scrapy's default, 100)."""


FULL = Counts(commands=2000, repeats=5)
QUICK = Counts(commands=200, repeats=1)


def canned_ack() -> bytes:
    """The ACK arguments of one small command's answer, as the wire carries them."""
    answer = SimulatedData().answer(SMALL_MESSAGE, SMALL_PAYLOAD)
    return json.dumps([answer], separators=(",", ":"), ensure_ascii=False).encode()


class SmallCommandSpider(scrapy.Spider):
    """``commands`` small commands; one item per answer, parsed as a real spider would."""

    name = "bench_small_commands"

    def __init__(self, commands: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = commands

    async def start(self) -> AsyncIterator[KwiffRequest]:
        for _ in range(self.commands):
            yield KwiffRequest(
                SMALL_MESSAGE, SMALL_PAYLOAD, callback=self.parse_prices, dont_filter=True
            )

    def parse_prices(self, response: KwiffResponse) -> Iterator[dict[str, Any]]:
        groups = parse_price_groups(response.data)
        yield {"odds": groups[0].odds if groups else None}


@dataclass
class CrawlTiming:
    opened: float = 0.0
    opened_cpu: float = 0.0
    last_response: float = 0.0
    last_response_cpu: float = 0.0
    responses: int = 0
    items: int = 0

    def on_opened(self) -> None:
        self.opened, self.opened_cpu = time.perf_counter(), time.process_time()

    def on_response(self) -> None:
        self.last_response, self.last_response_cpu = time.perf_counter(), time.process_time()
        self.responses += 1

    def on_item(self) -> None:
        self.items += 1


def crawl_settings(
    kind: str, url: str, concurrency: int, ack_file: str, concurrent_items: int | None = None
) -> dict[str, Any]:
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
    elif kind == BARE:
        settings["DOWNLOAD_HANDLERS"]["kwiff"] = "bench._bare_handler.BareKwiffHandler"
    else:
        settings["DOWNLOAD_HANDLERS"]["kwiff"] = "bench._instant.InstantKwiffHandler"
        settings["BENCH_ACK_FILE"] = ack_file
    if concurrent_items is not None:
        settings["CONCURRENT_ITEMS"] = concurrent_items
    return settings


async def crawl_once(
    kind: str,
    url: str,
    concurrency: int,
    commands: int,
    ack_file: str,
    concurrent_items: int | None = None,
) -> tuple[float, float]:
    """One crawl; the wall and CPU seconds from spider_opened to the last response."""
    settings = crawl_settings(kind, url, concurrency, ack_file, concurrent_items)
    runner = AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(SmallCommandSpider)
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
    return timing.last_response - timing.opened, timing.last_response_cpu - timing.opened_cpu


async def run_benchmark(url: str, counts: Counts, ack_file: str) -> dict[int, dict[str, Sample]]:
    results: dict[int, dict[str, Sample]] = {}
    warmup = min(counts.commands, 200)
    for concurrency in counts.concurrency:
        samples = {kind: Sample(kind, counts.commands) for kind in (HANDLER, INSTANT, BARE)}
        for kind in samples:
            await crawl_once(kind, url, concurrency, warmup, ack_file, counts.concurrent_items)
        for _ in range(counts.repeats):
            for kind, sample in samples.items():  # in turn: H I B H I B ...
                wall, cpu = await crawl_once(
                    kind, url, concurrency, counts.commands, ack_file, counts.concurrent_items
                )
                sample.seconds.append(wall)
                sample.cpu_seconds.append(cpu)
        results[concurrency] = samples
    return results


def report(results: dict[int, dict[str, Sample]], counts: Counts) -> None:
    rows = []
    for concurrency, samples in results.items():
        instant = samples[INSTANT]
        for sample in samples.values():
            ratio = sample.median_rate / instant.median_rate
            rows.append(
                [
                    concurrency,
                    sample.name,
                    sample.ops,
                    sample.median_rate,
                    sample.best_rate,
                    ratio,
                    sample.median_cpu_us_per_op,
                    instant.median_cpu_us_per_op / sample.median_cpu_us_per_op,
                ]
            )
    print_table(
        ["CONCURRENT_REQUESTS", "download handler", "commands", "cmd/s (median)", "cmd/s (best)",
         "cmd/s /instant", "CPU us/cmd", "instant CPU/this"],
        rows,
    )  # fmt: skip
    print()
    print(
        f"median and best of {counts.repeats} crawls per row, in turn, after one warm-up "
        f"crawl each; CONCURRENT_REQUESTS_PER_DOMAIN = CONCURRENT_REQUESTS; CONCURRENT_ITEMS "
        f"= {counts.concurrent_items or 'Scrapy default (100)'}"
    )
    print(
        "cmd/s counts the server's time too (its own process, on the other core); CPU "
        "us/cmd is this process's alone, so instant CPU/this is the client's share"
    )
    for concurrency, samples in results.items():
        handler, instant, bare = samples[HANDLER], samples[INSTANT], samples[BARE]
        print(
            ratio_line(
                f"bare websockets handler/instant (CONCURRENT_REQUESTS={concurrency})",
                bare.median_rate / instant.median_rate,
            )
            + f"; CPU {instant.median_cpu_us_per_op / bare.median_cpu_us_per_op:.2f}: the floor"
        )
        print(
            ratio_line(
                f"handler/bare websockets handler (CONCURRENT_REQUESTS={concurrency})",
                handler.median_rate / bare.median_rate,
                ">= 0.95",
            )
            + f"; CPU {bare.median_cpu_us_per_op / handler.median_cpu_us_per_op:.2f}"
        )
        extra = handler.median_ms_per_op - instant.median_ms_per_op
        extra_cpu = handler.median_cpu_us_per_op - instant.median_cpu_us_per_op
        print(
            ratio_line(
                f"handler/instant (CONCURRENT_REQUESTS={concurrency})",
                handler.median_rate / instant.median_rate,
                f">= {GOAL}",
            )
            + f"; CPU {instant.median_cpu_us_per_op / handler.median_cpu_us_per_op:.2f}; "
            f"the handler's crawl takes {extra * 1000:+.0f} us/command more, "
            f"{extra_cpu:+.0f} us of CPU"
        )


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--concurrent-items",
        type=int,
        metavar="N",
        help="CONCURRENT_ITEMS of every crawl (default: Scrapy's, 100); Scrapy 2.19 starts "
        "that many tasks for every response",
    )
    args: argparse.Namespace = parser.parse_args(argv)
    counts = dataclasses.replace(
        QUICK if args.quick else FULL, concurrent_items=args.concurrent_items
    )
    print_header("bench_handler: a whole crawl of small commands, handler vs instant", args,
                 OWN_PROCESS_NOTE)  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch, simulator_process() as url:
        ack_file = Path(scratch, "ack.json")
        ack_file.write_bytes(canned_ack())
        results = asyncio.run(run_benchmark(url, counts, str(ack_file)))
    report(results, counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
