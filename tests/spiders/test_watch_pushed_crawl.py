"""The pushed-event hook in whole crawls: a subclass's changes come out between polls, even
when every poll overruns, and a spider closing while one is in the item pipelines closes.

(``test_watch_moving.py`` tests the hook without a crawl.)"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy.crawler import Crawler

from kwiff_scrapy.model.items import EventChange

from ..conftest import StartSimulator
from ..support import waiting
from ..support.watching import QuickWatchSpider, event_changes, watch

#: The event id :class:`PushedEventsWatch` gives its changes (no listed event has it).
PUSHED_ID = 1


class PushedEventsWatch(QuickWatchSpider):
    """Turns the service's opening ``response`` event into an event change."""

    def pushed_event(self, name: str, args: list[Any]) -> list[EventChange]:
        return [EventChange(event_id=PUSHED_ID, kind="status", betting_status=name)]


async def test_pushed_events_are_counted_and_a_subclass_turns_them_into_changes(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(moving=True)
    run = await watch(simulator, polls=2, spider=PushedEventsWatch, baseline="0")
    assert run.stat("kwiff/watch/pushed_events") == 1  # the response event of the connection
    pushed = [c for c in event_changes(run.items) if c.event_id == 1]
    assert [(c.kind, c.betting_status) for c in pushed] == [("status", "response")]
    # Counted with the others: every status change yielded, the pushed one included.
    assert run.stat("kwiff/watch/event_changes/status") == len(event_changes(run.items, "status"))


async def test_pushed_changes_are_not_held_back_by_polls_that_overrun(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(response_delay=0.3)
    run = await watch(simulator, polls=3, interval=0.2, spider=PushedEventsWatch, baseline="0")
    assert run.stat("kwiff/watch/overrun") == 3  # never a moment left between two polls
    pushed = [c for c in event_changes(run.items) if c.event_id == PUSHED_ID]
    assert [(c.kind, c.betting_status) for c in pushed] == [("status", "response")]


class ClosingLogged(logging.Handler):
    """Sets ``logged`` once the engine logs "Closing spider", the first step of a close."""

    def __init__(self) -> None:
        super().__init__()
        self.logged = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Closing spider"):
            self.logged.set()


class ClosingPipeline:
    """Given the pushed change, closes the spider and holds the change, as a slow store
    would, until the engine says it is closing: the close begins while the change is
    still in the pipelines."""

    closing: list[asyncio.Task[None]] = []

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClosingPipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, EventChange) and item.event_id == PUSHED_ID:
            assert self.crawler.engine is not None
            close = self.crawler.engine.close_spider_async(reason="closed_by_pipeline")
            engine_log = logging.getLogger("scrapy.core.engine")
            began = ClosingLogged()
            engine_log.addHandler(began)
            level = engine_log.level
            engine_log.setLevel(logging.INFO)
            try:
                self.closing.append(asyncio.create_task(close))
                await waiting.guarded(began.logged.wait(), "the engine closing the spider")
            finally:
                engine_log.removeHandler(began)
                engine_log.setLevel(level)
        return item


async def test_a_spider_closing_while_a_pushed_change_is_in_the_pipelines_closes(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator()
    pipelines = {"ITEM_PIPELINES": {f"{__name__}.ClosingPipeline": 100}}
    crawl = asyncio.create_task(
        watch(
            simulator,
            polls=100,  # the pipeline stops it first
            settings=pipelines,
            spider=PushedEventsWatch,
            baseline="0",
            interval=2,
        )
    )
    done, _ = await asyncio.wait([crawl], timeout=20)
    assert done, "the spider never finished closing"
    run = crawl.result()
    await asyncio.gather(*ClosingPipeline.closing)
    ClosingPipeline.closing.clear()
    assert run.stats["finish_reason"] == "closed_by_pipeline"
    pushed = [c for c in event_changes(run.items) if c.event_id == PUSHED_ID]
    assert [(c.kind, c.betting_status) for c in pushed] == [("status", "response")]
