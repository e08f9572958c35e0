"""The child of ``bench.bench_watch_capacity``: one worker's ``details=1`` watch, or the floor.

``python -m bench._watch_capacity_child watch|floor[:GROUP] URL INTERVAL POLLS [PROFILE]``

Prints one JSON object: the client process's CPU seconds and wall seconds over *POLLS*
polls after the first (the baseline, everything new, left out), the ``event:get``
commands sent in them, the overruns, the RSS and Python's allocated blocks at the end,
and (the watch) the outcomes it holds. *PROFILE*: a cProfile of those polls, to that file.

- ``watch``: ``kwiff_watch -a details=1 -a interval=INTERVAL -a baseline=0`` (reactorless,
  the add-on, ``CONCURRENT_REQUESTS`` 32), as a user runs it.
- ``floor``: a bare ``websockets`` client (:class:`~bench._common.BareClient`) doing
  the same round trips at the same times, each answer through ``json.loads``: what any
  client on ``websockets`` pays, nothing compared, nothing kept. The watch sends its
  ``event:get`` commands in groups (``KWIFF_WATCH_GROUP``'s default), the groups spread
  over the interval; so does the floor (``--floor-group`` of the parent: 1 for one
  command at a time, spread as the watch sent them before groups).
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import sys
import time
from pathlib import Path
from typing import Any

from scrapy.crawler import AsyncCrawlerRunner

from kwiff_scrapy import defaults
from kwiff_scrapy.integration import stats
from kwiff_scrapy.integration.signals import poll_finished
from kwiff_scrapy.spiders.watch import STATE_KEY, KwiffWatchSpider

from ._common import EVENT_LIST_PAYLOAD, BareClient


class CapacityWatch(KwiffWatchSpider):
    """``kwiff_watch`` with no least interval, so that a short one can be measured."""

    name = "bench_watch_capacity"
    min_interval = 0.0


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class Meter:
    """CPU, wall and a counter between the end of poll 1 and the end of poll 1 + *polls*."""

    def __init__(self, polls: int, profile: str | None) -> None:
        self.polls = polls
        self.profiler = cProfile.Profile(time.process_time) if profile else None
        self.profile = profile
        self.figures: dict[str, Any] = {}

    def start(self, commands: int, overruns: int) -> None:
        self.figures.update(cpu=-time.process_time(), wall=-time.perf_counter())
        self.figures.update(commands=-commands, overruns=-overruns)
        if self.profiler is not None:
            self.profiler.enable()

    def stop(self, commands: int, overruns: int) -> None:
        if self.profiler is not None:
            self.profiler.disable()
            assert self.profile  # a profiler is made only with a file to dump it to
            self.profiler.dump_stats(self.profile)
        figures = self.figures
        figures["cpu"] += time.process_time()
        figures["wall"] += time.perf_counter()
        figures["commands"] += commands
        figures["overruns"] += overruns
        figures["rss"] = rss_bytes()
        figures["blocks"] = sys.getallocatedblocks()


async def watch(url: str, interval: float, meter: Meter) -> dict[str, Any]:
    runner = AsyncCrawlerRunner(
        {
            "ADDONS": {"kwiff_scrapy.Addon": 300},
            "TWISTED_REACTOR_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "DOWNLOAD_HANDLERS": {"http": None, "https": None},
            "LOG_LEVEL": "WARNING",
            "KWIFF_ENDPOINT": url,
            "CONCURRENT_REQUESTS": 32,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
            "DOWNLOAD_MAXSIZE": 0,
            "DOWNLOAD_WARNSIZE": 0,
        }
    )
    crawler = runner.create_crawler(CapacityWatch)
    closing: list[asyncio.Task[None]] = []

    def counts() -> tuple[int, int]:
        assert crawler.stats is not None
        get = crawler.stats.get_value
        # event:get commands only: one event:list per poll
        return get(stats.COMMANDS_SENT, 0) - get(stats.WATCH_POLLS, 0), get(stats.WATCH_OVERRUNS, 0)

    def finished(poll: int, changes: int, failed: bool) -> None:
        if failed:
            raise RuntimeError(f"poll {poll} failed")
        if poll == 1:
            meter.start(*counts())
        elif poll == 1 + meter.polls:
            meter.stop(*counts())
            spider = crawler.spider
            assert isinstance(spider, CapacityWatch)
            assert crawler.engine is not None
            held = spider.state[STATE_KEY].events
            meter.figures["events"] = len(held)
            meter.figures["outcomes"] = sum(len(snapshot.outcomes) for snapshot in held.values())
            closing.append(asyncio.create_task(crawler.engine.close_spider_async(reason="done")))

    crawler.signals.connect(finished, signal=poll_finished)
    await runner.crawl(crawler, interval=str(interval), details="1", baseline="0")
    await asyncio.gather(*closing)
    return meter.figures


async def floor(url: str, interval: float, meter: Meter, group: int) -> dict[str, Any]:
    client = await BareClient.open(url)
    client.start_reader()
    loop = asyncio.get_running_loop()
    sent = overruns = 0
    ids: list[int] = []
    try:
        for poll in range(1, meter.polls + 2):
            started = loop.time()
            listed = await client.round_trip_concurrent("event:list", EVENT_LIST_PAYLOAD)
            ids = [event["id"] for event in listed[0]["data"]["events"]]
            # The watch's schedule: the n-th of G groups at started + n * interval / G,
            # a group's commands at once, answers awaited as they come (a reader task),
            # as the watch's requests are.
            groups = [ids[start : start + group] for start in range(0, len(ids), group)]
            pending = []
            for position, members in enumerate(groups):
                delay = started + position * interval / len(groups) - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                for event_id in members:
                    command = client.round_trip_concurrent("event:get", {"eventId": event_id})
                    pending.append(asyncio.ensure_future(command))
            await asyncio.gather(*pending)
            if poll == 1:
                meter.start(0, 0)
            else:
                sent += len(ids)
                overruns += loop.time() > started + interval
            if poll <= meter.polls and (wait := started + interval - loop.time()) > 0:
                await asyncio.sleep(wait)
        meter.stop(sent, overruns)
        meter.figures["events"] = len(ids)
    finally:
        await client.close()
    return meter.figures


def main(argv: list[str]) -> int:
    mode, url, interval, polls, *rest = argv
    meter = Meter(int(polls), rest[0] if rest else None)
    if mode.startswith("floor"):  # floor or floor:GROUP
        group = int(mode.partition(":")[2] or defaults.WATCH_GROUP)
        figures = asyncio.run(floor(url, float(interval), meter, group))
    else:
        figures = asyncio.run(watch(url, float(interval), meter))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
