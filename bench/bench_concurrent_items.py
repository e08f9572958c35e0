"""The project's own spiders with Scrapy's ``CONCURRENT_ITEMS`` (100) and with 10.

Run: ``python -m bench.bench_concurrent_items`` (``--quick`` for a smoke run).

Scrapy 2.19 starts ``CONCURRENT_ITEMS`` tasks for every response however few items it
yields (scrapy/scrapy#5182). ``bench_handler --concurrent-items 10`` shows what that
costs a crawl of small commands; this script measures the project's spiders themselves,
through the real handler against the simulator in its own process
(``--football-events``), each crawl once with ``CONCURRENT_ITEMS`` 100 and once with 10,
in turn, reactorless, in one ``asyncio.run``:

- ``kwiff_event -a ids=...`` (one ``event:get`` per event, one item each);
- ``kwiff_football -a details=1`` (an ``event:list``, then an ``event:get`` per event);
- ``kwiff_football`` (one ``event:list``: one response, an item per event);
- ``kwiff_betbuilder`` (``ticket:odds:get`` of 50 groups: 50 items a response; and of
  one group each, with ``groups_per_command = 1``).

Commands/s and the crawl's CPU time are measured from ``spider_opened`` to the last
response; the items are counted and must be the same in both.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import AsyncCrawlerRunner

from kwiff_scrapy.simulator import SimulatedData
from kwiff_scrapy.spiders.betbuilder import KwiffBetBuilderSpider
from kwiff_scrapy.spiders.event import KwiffEventSpider
from kwiff_scrapy.spiders.football import KwiffFootballSpider

from ._common import (
    OWN_PROCESS_NOTE,
    SMALL_PAYLOAD,
    Sample,
    base_parser,
    print_header,
    print_table,
    ratio_line,
    simulator_process,
)

SCRAPY_DEFAULT = 100
LOWER = 10


class OneGroupBetBuilderSpider(KwiffBetBuilderSpider):
    """``kwiff_betbuilder`` sending one group per command: a small answer, one item."""

    name = "bench_betbuilder_one_group"
    groups_per_command = 1


@dataclass(frozen=True)
class Case:
    label: str
    spider: type[scrapy.Spider]
    arguments: dict[str, Any]
    commands: int


@dataclass
class Timing:
    opened: float = 0.0
    opened_cpu: float = 0.0
    last: float = 0.0
    last_cpu: float = 0.0
    responses: int = 0
    items: list[int] = field(default_factory=list)

    def on_opened(self) -> None:
        self.opened, self.opened_cpu = time.perf_counter(), time.process_time()

    def on_response(self) -> None:
        self.last, self.last_cpu = time.perf_counter(), time.process_time()
        self.responses += 1

    def on_item(self) -> None:
        self.items.append(1)


def cases(events: int, groups: int) -> list[Case]:
    ids = ",".join(str(event["id"]) for event in SimulatedData(football_events=events).events(11))
    group = SMALL_PAYLOAD["betBuilderOutcomeGroups"][0]
    many = [group] * groups
    return [
        Case("kwiff_event -a ids=(every event)", KwiffEventSpider, {"ids": ids}, events),
        Case("kwiff_football -a details=1", KwiffFootballSpider, {"details": "1"}, events + 1),
        Case("kwiff_football", KwiffFootballSpider, {}, 1),
        Case(
            "kwiff_betbuilder, 50 groups/command",
            KwiffBetBuilderSpider,
            {"groups": many},
            -(-groups // 50),
        ),
        Case(
            "kwiff_betbuilder, 1 group/command", OneGroupBetBuilderSpider, {"groups": many}, groups
        ),
    ]


async def crawl_once(url: str, case: Case, concurrent_items: int, concurrency: int) -> Timing:
    settings: dict[str, Any] = {
        "TWISTED_REACTOR_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "KWIFF_ENDPOINT": url,
        "DOWNLOAD_HANDLERS": {"http": None, "https": None},
        "ADDONS": {"kwiff_scrapy.Addon": 300},
        "CONCURRENT_ITEMS": concurrent_items,
    }
    runner = AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(case.spider)
    timing = Timing()
    crawler.signals.connect(timing.on_opened, signal=signals.spider_opened)
    crawler.signals.connect(timing.on_response, signal=signals.response_received)
    crawler.signals.connect(timing.on_item, signal=signals.item_scraped)
    await runner.crawl(crawler, **case.arguments)
    if timing.responses != case.commands:
        raise RuntimeError(f"{case.label}: {timing.responses} responses, not {case.commands}")
    return timing


async def run(url: str, all_cases: list[Case], repeats: int, concurrency: int) -> list[list[Any]]:
    rows = []
    for case in all_cases:
        samples = {n: Sample(str(n), case.commands) for n in (SCRAPY_DEFAULT, LOWER)}
        items: dict[int, int] = {}
        for n in samples:  # warm-up
            await crawl_once(url, case, n, concurrency)
        for _ in range(repeats):
            for n, sample in samples.items():  # in turn: 100 10 100 10 ...
                timing = await crawl_once(url, case, n, concurrency)
                sample.seconds.append(timing.last - timing.opened)
                sample.cpu_seconds.append(timing.last_cpu - timing.opened_cpu)
                items[n] = len(timing.items)
        if items[SCRAPY_DEFAULT] != items[LOWER]:
            raise RuntimeError(f"{case.label}: items differ: {items}")
        default, lower = samples[SCRAPY_DEFAULT], samples[LOWER]
        rows.append(
            [
                case.label,
                case.commands,
                items[LOWER],
                default.median_rate,
                lower.median_rate,
                lower.median_rate / default.median_rate,
                default.median_cpu_us_per_op,
                lower.median_cpu_us_per_op,
                default.median_cpu_us_per_op / lower.median_cpu_us_per_op,
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="football events (%(default)s)")
    parser.add_argument("--groups", type=int, default=2000, help="bet-builder groups")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16, help="CONCURRENT_REQUESTS")
    args: argparse.Namespace = parser.parse_args(argv)
    if args.quick:
        args.events, args.groups, args.repeats = 111, 200, 1
    print_header("bench_concurrent_items: the project's spiders, CONCURRENT_ITEMS 100 vs 10",
                 args, OWN_PROCESS_NOTE)  # fmt: skip
    with simulator_process("--football-events", str(args.events), "--still") as url:
        rows = asyncio.run(run(url, cases(args.events, args.groups), args.repeats,
                               args.concurrency))  # fmt: skip
    print_table(
        ["spider", "commands", "items", "cmd/s 100", "cmd/s 10", "10/100", "CPU us/cmd 100",
         "CPU us/cmd 10", "CPU 100/10"],
        rows,
    )  # fmt: skip
    print()
    print(f"medians of {args.repeats} crawls each, in turn, after a warm-up crawl each; "
          f"CONCURRENT_REQUESTS {args.concurrency}; {args.events} football events")  # fmt: skip
    for row in rows:
        print(ratio_line(f"{row[0]}: cmd/s with 10 / with 100", row[5]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
