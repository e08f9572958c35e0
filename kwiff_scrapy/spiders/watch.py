"""``kwiff_watch``: poll Kwiff for as long as Scrapy runs, and yield what changed.

::

    scrapy crawl kwiff_watch -a interval=10 -O changes.jsonl
    scrapy crawl kwiff_watch -a details=1 -O changes.jsonl
    scrapy crawl kwiff_watch -a events=10744160,10744177 -O changes.jsonl

Each poll sends ``event:list`` (default), or ``event:get`` per watched event
(``details=1``: every listed event; ``events=``: the given ones), spread evenly over
the interval. Each answer is compared with the last *successful* one and the
differences are yielded as :class:`~kwiff_scrapy.model.items.OddsChange` and
:class:`~kwiff_scrapy.model.items.EventChange` items. A poll that fails (after
Scrapy's retries) is counted and never compared. The last-seen prices live in
``spider.state``, so ``JOBDIR`` pauses and resumes a watch.

The spider's ``start()`` is the clock: it yields each poll's commands when they
are due (ordinary requests: middlewares, retries, concurrency limits, delays and
stats apply), waits until every one of them is answered or has failed, then waits
for the next poll. An unfinished ``start()`` keeps the spider open until Scrapy
stops it (``CLOSESPIDER_*``, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import defaults
from ..integration import signals, stats
from ..integration.config import KwiffSettings
from ..integration.http import KwiffRequest, KwiffResponse
from ..model.changes import Change, EventSnapshot, diff_event
from ..model.items import EventChange, OddsChange
from ..model.parsing import EVENT_NOT_OBJECT, EVENT_WITHOUT_ID, parse_event_detail, parse_events
from ..model.sports import country_code, sport_argument
from .base import KwiffSpider, truthy
from .event import event_ids

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator

    from scrapy import Request
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

#: The key of the watch's state in ``spider.state`` (saved with ``JOBDIR``).
STATE_KEY = "kwiff_watch"
#: The meta key naming the poll a command belongs to.
POLL_META_KEY = "kwiff_watch_poll"


def poll_interval(value: Any, minimum: float = defaults.MIN_WATCH_INTERVAL) -> float:
    """``-a interval=SECONDS``: a number of seconds, at least *minimum*."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < minimum:
        raise ValueError(
            f"interval must be a number of seconds, at least {minimum:g} "
            f"(-a interval=10), not {value!r}"
        )
    return seconds


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


class KwiffWatchSpider(KwiffSpider):
    """Yields odds and event changes, poll after poll, until Scrapy stops it.

    Arguments: ``sport`` / ``sport_id`` / ``country`` (as the event-list spiders),
    ``interval`` (seconds between the starts of two polls, default 10, at least 1),
    ``details=1``, ``events=ID,...`` and ``baseline=0`` (yield nothing for the first
    poll, which otherwise reports every event and outcome as ``new``).

    ``start()`` is the clock: it yields each poll's commands at their time and waits
    for the poll's answers (or failures) before it schedules the next. The callbacks
    compare each answer with the last successful one and yield the changes. Override
    :meth:`pushed_event` to turn events the server pushes into changes.
    """

    name = "kwiff_watch"
    #: The shortest ``interval`` accepted (a subclass may lower it, e.g. for a benchmark).
    min_interval: float = defaults.MIN_WATCH_INTERVAL

    def __init__(
        self,
        *args: Any,
        sport: str | None = None,
        sport_id: str | int | None = None,
        country: str | None = None,
        interval: Any = defaults.WATCH_INTERVAL,
        details: Any = False,
        events: str | Iterable[int | str] | None = None,
        baseline: Any = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sport_id = sport_argument(sport, sport_id)
        self.country = country_code(country) if country else None
        self.interval = poll_interval(interval, self.min_interval)
        self.details = truthy(details)
        self.watched_ids = event_ids(events, "events") if events is not None else None
        self.baseline = truthy(baseline)
        self._polls: dict[int, _Poll] = {}
        self._pushed: asyncio.Queue[Change] = asyncio.Queue()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> KwiffWatchSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._on_pushed_event, signal=signals.unsolicited_event)
        return spider

    # -- the hook for pushed events --------------------------------------------------------

    def pushed_event(self, name: str, args: list[Any]) -> Iterable[Change]:
        """Changes to yield for an event the server pushed without being asked.

        What the live service pushes is unknown, so this yields nothing; every pushed
        event is counted (``kwiff/watch/pushed_events``). A subclass may parse *args*
        and return ``OddsChange`` / ``EventChange`` items: they are yielded between
        polls, like any other change.
        """
        return ()

    def _on_pushed_event(self, name: str, args: list[Any], endpoint: str) -> None:
        self.count(stats.WATCH_PUSHED_EVENTS)
        for change in self.pushed_event(name, args):
            self._pushed.put_nowait(change)

    # -- the clock -----------------------------------------------------------------------

    async def start(self) -> AsyncIterator[KwiffRequest | Change]:
        state = self._state()
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
            self._finish(poll, state)
            next_start = poll.started + self.interval
            if loop.time() > next_start:
                self.count(stats.WATCH_OVERRUNS)
                logger.info(
                    "Poll %d took %.1f s, longer than the %g s interval: the next starts now",
                    number,
                    loop.time() - poll.started,
                    self.interval,
                )
            async for change in self._pushed_until(next_start):
                yield change

    async def _poll_requests(self, poll: _Poll) -> AsyncIterator[KwiffRequest]:
        if self.watched_ids is None:
            poll.expect()
            yield self._command(poll, "event:list", self._list_payload(), self.parse_poll_list)
            if not self.details:
                return
            await poll.settled.wait()
            if poll.listed is None:  # the list failed: no details this time
                return
            ids = poll.listed
        else:
            ids = list(self.watched_ids)
        # Spread evenly over the interval: the n-th of N at started + n * interval / N.
        loop = asyncio.get_running_loop()
        for position, event_id in enumerate(ids):
            delay = poll.started + position * self.interval / len(ids) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            poll.expect()
            yield self._command(poll, "event:get", {"eventId": event_id}, self.parse_poll_event)

    def _finish(self, poll: _Poll, state: WatchState) -> None:
        if not poll.failed:
            state.baselined = True
        self.count(stats.WATCH_POLLS)
        if poll.failed:
            self.count(stats.WATCH_FAILED_POLLS)
        self.crawler.signals.send_catch_log(
            signal=signals.poll_finished, poll=poll.number, changes=poll.changes, failed=poll.failed
        )

    async def _pushed_until(self, deadline: float) -> AsyncIterator[Change]:
        """Yield pushed changes until *deadline* (loop time), then return."""
        loop = asyncio.get_running_loop()
        while (remaining := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(remaining):
                    change = await self._pushed.get()
            except TimeoutError:
                return
            self._count_change(change)
            yield change

    # -- the answers ---------------------------------------------------------------------

    def parse_poll_list(self, response: KwiffResponse) -> Iterator[Change]:
        """An ``event:list`` of a poll: compare every event (``details``: only who is listed)."""
        poll = self._poll_of(response.request)
        state = self._state()
        try:
            listed = self._listed(response)
            if listed is None:
                self._fail(poll)
                return
            snapshots, complete = listed
            if poll is not None:
                poll.listed = list(snapshots)
            if not self.details:
                for event_id, snapshot in snapshots.items():
                    yield from self._emit(
                        poll, state, diff_event(state.events.get(event_id), snapshot)
                    )
                    state.events[event_id] = snapshot
            if complete:
                gone = sorted(state.events.keys() - snapshots.keys())
                for event_id in gone:
                    previous = state.events.pop(event_id)
                    seen_at = response.answer.fetched_at
                    yield from self._emit(poll, state, diff_event(previous, None, seen_at=seen_at))
        finally:
            if poll is not None:
                poll.settle()

    def parse_poll_event(self, response: KwiffResponse) -> Iterator[Change]:
        """An ``event:get`` of a poll: compare the event with its last successful answer."""
        poll = self._poll_of(response.request)
        state = self._state()
        event_id = response.payload.get("eventId")
        try:
            if not isinstance(event_id, int) or response.answer.error is not None:
                self.parse_answer(response, parse_event_detail)  # logs and counts the error
                self._fail(poll)
                return
            data = response.answer.data
            if isinstance(data, dict) and "result" in data and data["result"] is None:
                # The service has no such event (any more): it is gone.
                self._stop_watching(event_id)
                previous = state.events.pop(event_id, None)
                seen_at = response.answer.fetched_at
                yield from self._emit(poll, state, diff_event(previous, None, seen_at=seen_at))
                return
            event = self.parse_answer(response, parse_event_detail)
            if event is None or event.event_id != event_id:
                logger.warning("event:get %s answered no usable event: not compared", event_id)
                self._fail(poll)
                return
            snapshot = EventSnapshot.of(event)
            yield from self._emit(poll, state, diff_event(state.events.get(event_id), snapshot))
            state.events[event_id] = snapshot
        finally:
            if poll is not None:
                poll.settle()

    def poll_failed(self, failure: Failure) -> None:
        """Errback of every poll command: the command failed after Scrapy's retries."""
        request = failure.request  # type: ignore[attr-defined]
        logger.warning("%s failed: %s", request, failure.value)
        poll = self._poll_of(request)
        self._fail(poll)
        if poll is not None:
            poll.settle()

    def _listed(self, response: KwiffResponse) -> tuple[dict[int, EventSnapshot], bool] | None:
        """The listed events and whether every entry could be read; None if unusable."""
        answer = response.answer
        if answer.error is not None:
            self.parse_answer(response, parse_events)  # logs and counts the error
            return None
        if not isinstance(answer.data, dict) or not isinstance(answer.data.get("events"), list):
            logger.warning("event:list answered without an events list: not compared")
            return None
        skips: Counter[str] = Counter()
        events = parse_events(answer.data, fetched_at=answer.fetched_at, skips=skips)
        for reason, count in skips.items():
            self.count(stats.parse_skipped(reason), count)
        complete = not (skips[EVENT_NOT_OBJECT] or skips[EVENT_WITHOUT_ID])
        if not complete:
            logger.warning("event:list had unreadable events: none is reported removed this time")
        return {event.event_id: EventSnapshot.of(event) for event in events}, complete

    def _emit(self, poll: _Poll | None, state: WatchState, changes: list[Change]) -> list[Change]:
        """The changes to yield: none for the first poll with ``baseline=0``."""
        if not (state.baselined or self.baseline):
            return []
        for change in changes:
            self._count_change(change)
        if poll is not None:
            poll.changes += len(changes)
        return changes

    def _fail(self, poll: _Poll | None) -> None:
        if poll is not None:
            poll.failed = True

    def _stop_watching(self, event_id: int) -> None:
        if self.watched_ids is not None and event_id in self.watched_ids:
            self.watched_ids.remove(event_id)
            logger.info("Event %s is gone: no longer watched", event_id)

    # -- commands ------------------------------------------------------------------------

    def _list_payload(self) -> dict[str, Any]:
        country = self.country or KwiffSettings.of(self.crawler).country
        return {"listId": defaults.LIST_ID, "sportId": self.sport_id, "country": country}

    def _command(
        self,
        poll: _Poll,
        message: str,
        payload: dict[str, Any],
        callback: Callable[[KwiffResponse], Iterator[Change]],
    ) -> KwiffRequest:
        # A poll repeats the same command: never filtered as a duplicate, never cached.
        return KwiffRequest(
            message,
            payload,
            callback=callback,
            errback=self.poll_failed,
            dont_filter=True,
            meta={POLL_META_KEY: poll.number, "dont_cache": True},
        )

    def _poll_of(self, request: Request | None) -> _Poll | None:
        """The poll a command belongs to; None for one restored from an earlier run's JOBDIR."""
        number = request.meta.get(POLL_META_KEY) if request is not None else None
        return self._polls.get(number) if isinstance(number, int) else None

    # -- state and stats -----------------------------------------------------------------

    def _state(self) -> WatchState:
        """The watch's state in ``spider.state`` (persisted by ``JOBDIR``), made on first use."""
        if not isinstance(getattr(self, "state", None), dict):
            self.state: dict[str, Any] = {}
        state = self.state.get(STATE_KEY)
        if not isinstance(state, WatchState):
            state = self.state[STATE_KEY] = WatchState()
        return state

    def _count_change(self, change: Change) -> None:
        if isinstance(change, OddsChange):
            self.count(stats.watch_change(change.kind))
        elif isinstance(change, EventChange):
            self.count(stats.watch_event_change(change.kind))
