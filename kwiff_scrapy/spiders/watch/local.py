"""The watch of one process: the last-seen prices in ``spider.state``, ``start()`` the clock."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...integration import stats
from ...model.changes import Change, EventSnapshot, compare_event, compare_list

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from scrapy import Request

    from ...integration.http import KwiffRequest, KwiffResponse
    from ...model.signals import OddsSignal
    from .spider import KwiffWatchSpider

logger = logging.getLogger(__name__)

#: The key of the watch's state in ``spider.state`` (saved with ``JOBDIR``).
STATE_KEY = "kwiff_watch"
#: The meta key naming the poll a command belongs to.
POLL_META_KEY = "kwiff_watch_poll"


@dataclass
class WatchState:
    """What a watch remembers between polls: the last successful snapshot of each event."""

    events: dict[int, EventSnapshot] = field(default_factory=dict)
    baselined: bool = False
    """True once a poll has succeeded: from then on every event is compared."""


@dataclass
class _Poll:
    """One poll in flight: its commands still unanswered, and what it found."""

    number: int
    started: float
    changes: int = 0
    failed: bool = False
    outstanding: int = 0
    listed: list[int] | None = None
    settled: asyncio.Event = field(default_factory=lambda: _set(asyncio.Event()))

    def expect(self) -> None:
        self.outstanding += 1
        self.settled.clear()

    def settle(self) -> None:
        self.outstanding -= 1
        if self.outstanding <= 0:
            self.settled.set()


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()  # a poll with nothing sent is settled
    return event


class LocalWatch:
    """The watch of one process: ``spider.state`` holds the last-seen prices, and
    :meth:`run` is the clock, poll after poll, each waited for before the next."""

    def __init__(self, spider: KwiffWatchSpider) -> None:
        self.spider = spider
        self._polls: dict[int, _Poll] = {}

    async def run(self) -> AsyncIterator[Request]:
        spider = self.spider
        state = spider.watch_state()
        spider.checkpoint.resume(state)
        loop = asyncio.get_running_loop()
        number = 0
        while True:
            number += 1
            poll = self._polls[number] = _Poll(number, loop.time())
            try:
                async for request in self._poll_requests(poll):
                    yield request
                await poll.settled.wait()
            finally:
                del self._polls[number]
            if not poll.failed:
                state.baselined = True
            spider.poll_finished(poll.number, poll.changes, poll.failed)
            await spider.checkpoint.after_poll(spider.crawler, spider.state, poll.number)
            next_start = poll.started + spider.interval
            if loop.time() > next_start:
                spider.count(stats.WATCH_OVERRUNS)
                logger.info(
                    "Poll %d took %.1f s, longer than the %g s interval: the next starts now",
                    number,
                    loop.time() - poll.started,
                    spider.interval,
                )
            async for carrier in spider.carry_pushed_until(next_start):
                yield carrier

    async def _poll_requests(self, poll: _Poll) -> AsyncIterator[Request]:
        spider = self.spider
        if spider.watched_ids is None:
            poll.expect()
            yield self._command(poll, "event:list", spider.list_payload(), spider.parse_poll_list)
            if not spider.details:
                return
            await poll.settled.wait()
            if poll.listed is None:  # the list failed: no details this time
                return
            ids = poll.listed
        else:
            ids = list(spider.watched_ids)
        # Spread evenly over the interval: the n-th of N at started + n * interval / N,
        # in groups of spider.group commands a request.
        loop = asyncio.get_running_loop()
        groups = [ids[start : start + spider.group] for start in range(0, len(ids), spider.group)]
        for position, group in enumerate(groups):
            delay = poll.started + position * spider.interval / len(groups) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            poll.expect()
            if len(group) == 1:
                payload = {"eventId": group[0]}
                yield self._command(poll, "event:get", payload, spider.parse_poll_event)
            else:
                payloads = [{"eventId": event_id} for event_id in group]
                yield spider.command_group(
                    "event:get", payloads, spider.parse_poll_events, {POLL_META_KEY: poll.number}
                )

    def _command(
        self,
        poll: _Poll,
        message: str,
        payload: dict[str, Any],
        callback: Callable[[KwiffResponse], AsyncIterator[Change | OddsSignal]],
    ) -> KwiffRequest:
        return self.spider.command(message, payload, callback, {POLL_META_KEY: poll.number})

    def _poll_of(self, request: Request | None) -> _Poll | None:
        """The poll a command belongs to; None for one restored from an earlier run's JOBDIR."""
        number = request.meta.get(POLL_META_KEY) if request is not None else None
        return self._polls.get(number) if isinstance(number, int) else None

    # -- the answers, from the spider's callbacks -----------------------------------------

    async def answered_list(
        self,
        request: Request | None,
        listed: dict[int, EventSnapshot],
        complete: bool,
        seen_at: str | None,
    ) -> list[Change | OddsSignal]:
        poll = self._poll_of(request)
        state = self.spider.watch_state()
        if poll is not None:
            poll.listed = list(listed)
        comparison = compare_list(
            state.events,
            state.events,
            listed,
            compare_listed=not self.spider.details,
            complete=complete,
            seen_at=seen_at,
        )
        state.events.update(comparison.writes)
        for event_id in comparison.deletes:
            state.events.pop(event_id, None)
        return self._emit(poll, state, comparison.changes)

    async def answered_event(
        self,
        request: Request | None,
        event_id: int,
        snapshot: EventSnapshot | None,
        seen_at: str | None,
    ) -> list[Change | OddsSignal]:
        poll = self._poll_of(request)
        state = self.spider.watch_state()
        if snapshot is None:
            self.spider.stop_watching(event_id)
        comparison = compare_event(event_id, state.events.get(event_id), snapshot, seen_at=seen_at)
        state.events.update(comparison.writes)
        for gone in comparison.deletes:
            state.events.pop(gone, None)
        return self._emit(poll, state, comparison.changes)

    async def failed(self, request: Request | None) -> None:
        poll = self._poll_of(request)
        if poll is not None:
            poll.failed = True

    def expect(self, request: Request) -> None:
        poll = self._poll_of(request)
        if poll is not None:
            poll.expect()

    def settled(self, request: Request | None) -> None:
        poll = self._poll_of(request)
        if poll is not None:
            poll.settle()

    async def claim_notice(self, blind: bool) -> bool:
        """One process: it is always the one to say the watch went blind, or sees again."""
        return True

    def _emit(
        self, poll: _Poll | None, state: WatchState, changes: list[Change]
    ) -> list[Change | OddsSignal]:
        """The changes to yield, then their signals: none for the first poll with
        ``baseline=0``."""
        if not (state.baselined or self.spider.baseline):
            return []
        for change in changes:
            self.spider.count_change(change)
        if poll is not None:
            poll.changes += len(changes)
        return self.spider.with_signals(changes)
