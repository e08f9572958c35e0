"""Run ``kwiff_watch`` in this event loop for a given number of polls, and sort its items."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.crawler import AsyncCrawlerRunner

from kwiff_scrapy.integration.signals import poll_finished
from kwiff_scrapy.model.items import EventChange, OddsChange
from kwiff_scrapy.simulator import KwiffSimulator
from kwiff_scrapy.spiders.watch import KwiffWatchSpider

from ..conftest import BASE_SETTINGS

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class QuickWatchSpider(KwiffWatchSpider):
    """The watch with a shorter least interval, so that a test of a few polls is quick."""

    min_interval = 0.1


@dataclasses.dataclass
class WatchRun:
    items: list[Any]
    stats: dict[str, Any]
    polls: list[tuple[int, int, bool]]

    def stat(self, key: str) -> Any:
        return self.stats.get(key, 0)


async def watch(
    simulator: KwiffSimulator,
    polls: int,
    settings: dict[str, Any] | None = None,
    spider: type[KwiffWatchSpider] = QuickWatchSpider,
    on_poll: Callable[[Crawler, int], None] | None = None,
    **arguments: Any,
) -> WatchRun:
    """Run the watch (interval 0.2 s) against *simulator* until *polls* polls have finished;
    *on_poll* is called with the crawler and each poll's number as it finishes."""
    runner = AsyncCrawlerRunner(
        {**BASE_SETTINGS, "KWIFF_ENDPOINT": simulator.url, **(settings or {})}
    )
    crawler = runner.create_crawler(spider)
    run = WatchRun([], {}, [])
    closing: list[asyncio.Task[None]] = []

    def finished(poll: int, changes: int, failed: bool) -> None:
        run.polls.append((poll, changes, failed))
        if on_poll is not None:
            on_poll(crawler, poll)
        if len(run.polls) == polls:
            assert crawler.engine is not None
            closing.append(asyncio.create_task(crawler.engine.close_spider_async(reason="done")))

    def scraped(item: Any) -> None:
        run.items.append(item)

    crawler.signals.connect(scraped, signal=signals.item_scraped)
    crawler.signals.connect(finished, signal=poll_finished)
    await runner.crawl(crawler, **{"interval": 0.2, **arguments})
    await asyncio.gather(*closing)
    assert crawler.stats is not None
    run.stats = crawler.stats.get_stats()
    return run


def odds_changes(items: list[Any], kind: str | None = None) -> list[OddsChange]:
    return [i for i in items if isinstance(i, OddsChange) and kind in (None, i.kind)]


def event_changes(items: list[Any], kind: str | None = None) -> list[EventChange]:
    return [i for i in items if isinstance(i, EventChange) and kind in (None, i.kind)]
