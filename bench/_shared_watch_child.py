"""A worker of ``bench.bench_watch_capacity --shared``: one worker of a shared ``details=1`` watch.

``python -m bench._shared_watch_child URL INTERVAL REDIS_URL KEY WORKER START WINDOW``

Runs ``kwiff_watch -a details=1 -a interval=INTERVAL -a baseline=0`` (reactorless, the
add-on, ``CONCURRENT_REQUESTS`` 32) with the shared scheduler (``SCHEDULER =
"kwiff_scrapy.distributed.Scheduler"``, ``REDIS_URL``, ``KWIFF_REDIS_KEY`` *KEY*,
``KWIFF_WORKER_ID`` *WORKER*), as a user runs each worker of a shared watch; with
*REDIS_URL* ``local``, the plain watch of one worker, no Redis. From the
wall-clock time *START* (``time.time()``) for *WINDOW* seconds, it counts the polls this
worker finished (an ``event:get`` each, but the list's one per interval, taken by one
worker; the local watch: its ``event:get`` commands), the overruns (shared: a poll
completed more than an interval after it was due; local: a round of polls longer than
the interval) and its
process CPU (every thread's: the Redis calls run in a thread of their own), then stops and
prints one JSON object with them, the CPU of its threads but the event loop's
(``threads_cpu``: the Redis calls, the comparisons and the snapshots' encoding run in the
scheduler's Redis thread) and its RSS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from scrapy.crawler import AsyncCrawlerRunner

from kwiff_scrapy.integration import stats
from kwiff_scrapy.integration.signals import poll_finished
from kwiff_scrapy.spiders.watch import KwiffWatchSpider

#: REDIS_URL for a worker on its own: the plain (local) watch, no Redis.
LOCAL = "local"


class SharedCapacityWatch(KwiffWatchSpider):
    """``kwiff_watch`` with no least interval, so that a short one can be measured."""

    name = "bench_shared_watch_capacity"
    min_interval = 0.0


def other_threads_cpu() -> float:
    """CPU seconds of every thread but the event loop's (the Redis calls run in one)."""
    ticks = 0
    for task in Path("/proc/self/task").iterdir():
        if task.name != str(os.getpid()):
            with contextlib.suppress(OSError):  # a thread that just ended
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def worker(
    url: str, interval: float, redis_url: str, key: str, worker_id: str, start: float, window: float
) -> dict[str, Any]:
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
            **(
                {}
                if redis_url == LOCAL
                else {
                    "SCHEDULER": "kwiff_scrapy.distributed.Scheduler",
                    "REDIS_URL": redis_url,
                    "KWIFF_REDIS_KEY": key,
                    "KWIFF_WORKER_ID": worker_id,
                }
            ),
        }
    )
    crawler = runner.create_crawler(SharedCapacityWatch)
    polls = [0, 0]  # finished, failed
    figures: dict[str, Any] = {}

    def finished(poll: int, changes: int, failed: bool) -> None:
        polls[0] += 1
        polls[1] += failed

    def counters() -> dict[str, float]:
        assert crawler.stats is not None
        get = crawler.stats.get_value
        return {
            "cpu": time.process_time(),
            "threads_cpu": other_threads_cpu(),
            # Shared, a finished poll is one task (an event:get, or the list); local, one
            # round (the list and every event:get): there, count the event:get commands.
            "polls": polls[0]
            if redis_url != LOCAL
            else get(stats.COMMANDS_SENT, 0) - get(stats.WATCH_POLLS, 0),
            "failed": polls[1],
            "overruns": crawler.stats.get_value(stats.WATCH_OVERRUNS, 0),
        }

    async def measure() -> None:
        await asyncio.sleep(max(0.0, start - time.time()))
        figures["started_late"] = max(0.0, time.time() - start)
        before = counters()
        await asyncio.sleep(max(0.0, start + window - time.time()))
        after = counters()
        figures.update({name: after[name] - before[name] for name in after})
        figures["rss"] = rss_bytes()
        assert crawler.engine is not None
        await crawler.engine.close_spider_async(reason="done")

    crawler.signals.connect(finished, signal=poll_finished)
    measuring = asyncio.ensure_future(measure())
    await runner.crawl(crawler, interval=str(interval), details="1", baseline="0")
    await measuring
    return figures


def main(argv: list[str]) -> int:
    url, interval, redis_url, key, worker_id, start, window = argv
    figures = asyncio.run(
        worker(url, float(interval), redis_url, key, worker_id, float(start), float(window))
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
