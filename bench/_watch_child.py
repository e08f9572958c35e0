"""The child of ``bench.bench_watch``: a watch polling back to back, its memory read at two polls.

At each of the two polls: the RSS, and the memory blocks Python's allocator has handed
out and not had back (``sys.getallocatedblocks()``): objects kept (a leak) show in
both, memory the allocator keeps after its objects are gone only in the RSS.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from scrapy.crawler import AsyncCrawlerRunner

from kwiff_scrapy.integration.signals import poll_finished
from kwiff_scrapy.model.detectors import SignalDetectors
from kwiff_scrapy.spiders.watch import SIGNALS_STATE_KEY, KwiffWatchSpider


class BackToBackWatch(KwiffWatchSpider):
    """The watch with no least interval: each poll starts when the previous one ends."""

    name = "bench_watch"
    min_interval = 0.0


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def run(
    url: str,
    *,
    details: bool,
    early: int,
    late: int,
    signals: bool = False,
    middle: int | None = None,
) -> dict[str, Any]:
    return asyncio.run(
        _run(url, details=details, early=early, late=late, signals=signals, middle=middle)
    )


def tracked(crawler: Any) -> dict[str, int]:
    """What the watch's detectors hold (empty without signals)."""
    state = getattr(crawler.spider, "state", None) or {}
    detectors = state.get(SIGNALS_STATE_KEY)
    return detectors.tracked if isinstance(detectors, SignalDetectors) else {}


async def _run(
    url: str, *, details: bool, early: int, late: int, signals: bool, middle: int | None
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
            "KWIFF_SIGNALS_ENABLED": signals,
        }
    )
    crawler = runner.create_crawler(BackToBackWatch)
    figures: dict[str, Any] = {}
    closing: list[asyncio.Task[None]] = []

    def finished(poll: int, changes: int, failed: bool) -> None:
        if poll == early:
            figures["rss_early"] = rss_bytes()
            figures["blocks_early"] = sys.getallocatedblocks()
            figures["tracked_early"] = tracked(crawler)
        elif poll == middle:
            figures["rss_middle"] = rss_bytes()
            figures["blocks_middle"] = sys.getallocatedblocks()
            figures["tracked_middle"] = tracked(crawler)
        elif poll == late:
            figures["rss_late"] = rss_bytes()
            figures["blocks_late"] = sys.getallocatedblocks()
            figures["tracked_late"] = tracked(crawler)
            assert crawler.engine is not None
            closing.append(asyncio.create_task(crawler.engine.close_spider_async(reason="done")))

    crawler.signals.connect(finished, signal=poll_finished)
    # Without signals, no baseline (12,000 items for nothing); with them, as a watch runs
    # by default: every outcome tracked from the first poll, so that what grows is the
    # windows, not the outcomes seen moving so far.
    baseline = "1" if signals else "0"
    arguments = {"interval": 0, "details": "1" if details else "0", "baseline": baseline}
    await runner.crawl(crawler, **arguments)
    await asyncio.gather(*closing)
    assert crawler.stats is not None
    figures["commands"] = crawler.stats.get_value("kwiff/commands_sent", 0)
    figures["changes"] = sum(
        value
        for key, value in crawler.stats.get_stats().items()
        if key.startswith("kwiff/watch/changes/")
    )
    figures["signals"] = sum(
        value
        for key, value in crawler.stats.get_stats().items()
        if key.startswith("kwiff/watch/signals/")
    )
    return figures
