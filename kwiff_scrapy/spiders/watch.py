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
Scrapy's retries) is counted and never compared.

Where the last-seen prices live and who decides when to poll is pluggable:

- :class:`LocalWatch` (one process): the last-seen prices are in ``spider.state``, so
  ``JOBDIR`` pauses and resumes a watch; the spider's ``start()`` is the clock: it
  yields each poll's commands when they are due (ordinary requests: middlewares,
  retries, concurrency limits, delays and stats apply), waits until every one of them
  is answered or has failed, then waits for the next poll.
- :class:`SharedWatch` (several workers, with ``SCHEDULER =
  "kwiff_scrapy.distributed.Scheduler"``): each poll of the list or of one event is a
  task in Redis, claimed with a lease by one worker per interval
  (:mod:`kwiff_scrapy.distributed.polls`); the last-seen prices are in Redis and each
  answer is compared and written with one compare-and-set
  (:mod:`kwiff_scrapy.distributed.state`), so each change is yielded by one worker.

An unfinished ``start()`` keeps the spider open until Scrapy stops it
(``CLOSESPIDER_*``, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy import signals as scrapy_signals

from .. import defaults
from ..distributed import LOCAL_META_KEY, shared_scheduler
from ..distributed.polls import RedisPolls
from ..distributed.state import Commit, Outcome, RedisSnapshots
from ..integration import signals, stats
from ..integration.config import KwiffSettings
from ..integration.http import KwiffRequest, KwiffResponse
from ..integration.signal_settings import SignalSettings
from ..model.changes import Change, EventSnapshot, diff_event
from ..model.detectors import SignalDetectors
from ..model.items import EventChange, OddsChange
from ..model.parsing import (
    EVENT_NOT_OBJECT,
    EVENT_WITHOUT_ID,
    parse_event_detail,
    parse_events,
)
from ..model.sports import country_code, sport_argument
from .base import KwiffSpider, truthy
from .event import event_ids

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from ..distributed.polls import Claim, Claims
    from ..distributed.scheduler import Scheduler
    from ..distributed.state import Committed
    from ..model.signals import OddsSignal

logger = logging.getLogger(__name__)

#: The key of the watch's state in ``spider.state`` (saved with ``JOBDIR``).
STATE_KEY = "kwiff_watch"
#: The signal detectors' key in ``spider.state``: their windows survive a ``JOBDIR`` pause.
SIGNALS_STATE_KEY = "kwiff_watch_signals"
#: The meta key naming the poll a command belongs to.
POLL_META_KEY = "kwiff_watch_poll"
#: The meta key naming the shared poll (task and claim token) a command belongs to.
CLAIM_META_KEY = "kwiff_watch_claim"
#: The meta key of the pushed changes a :data:`PUSHED_URL` request carries.
PUSHED_META_KEY = "kwiff_watch_pushed"
#: What carries pushed changes into the crawl: a request Scrapy's ``data:`` handler
#: answers locally, whose callback yields them (see :meth:`KwiffWatchSpider.carry`).
PUSHED_URL = "data:,"
#: The task of a shared watch that polls ``event:list``; an event's is ``event:<id>``.
LIST_TASK = "list"
EVENT_TASK_PREFIX = "event:"


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


# -- comparing an answer with what was seen (pure) -----------------------------------------


@dataclass
class Comparison:
    """The changes an answer shows, and the snapshots to keep for the next comparison."""

    changes: list[Change] = field(default_factory=list)
    writes: dict[int, EventSnapshot] = field(default_factory=dict)
    deletes: list[int] = field(default_factory=list)


def compare_list(
    previous: Mapping[int, EventSnapshot],
    known: Iterable[int],
    listed: Mapping[int, EventSnapshot],
    *,
    compare_listed: bool,
    complete: bool,
    seen_at: str | None,
) -> Comparison:
    """An ``event:list`` answer against the snapshots of the events *known* so far.

    *compare_listed*: compare every listed event (without ``details``; with it, the
    events' own ``event:get`` answers are compared). *complete*: every entry of the
    list could be read, so a known event missing from it is gone (``removed``).
    *previous* needs the snapshots of the listed events (if compared) and of the gone.
    """
    comparison = Comparison()
    if compare_listed:
        for event_id, snapshot in listed.items():
            comparison.changes += diff_event(previous.get(event_id), snapshot)
            comparison.writes[event_id] = snapshot
    if complete:
        for event_id in sorted(set(known) - listed.keys()):
            comparison.changes += diff_event(previous.get(event_id), None, seen_at=seen_at)
            comparison.deletes.append(event_id)
    return comparison


def compare_event(
    event_id: int,
    previous: EventSnapshot | None,
    current: EventSnapshot | None,
    *,
    seen_at: str | None,
) -> Comparison:
    """An ``event:get`` answer (``current`` None: the service has no such event any more)."""
    changes = diff_event(previous, current, seen_at=seen_at)
    if current is None:
        return Comparison(changes, deletes=[event_id])
    return Comparison(changes, writes={event_id: current})


# -- the spider -----------------------------------------------------------------------------


class KwiffWatchSpider(KwiffSpider):
    """Yields odds and event changes, poll after poll, until Scrapy stops it.

    Arguments: ``sport`` / ``sport_id`` / ``country`` (as the event-list spiders),
    ``interval`` (seconds between the starts of two polls, default 10, at least 1),
    ``details=1``, ``events=ID,...`` and ``baseline=0`` (yield nothing for the first
    poll, which otherwise reports every event and outcome as ``new``).

    ``start()`` runs the watch: a :class:`LocalWatch`, or a :class:`SharedWatch` when
    the crawl's scheduler is ``kwiff_scrapy.distributed.Scheduler``. The callbacks
    parse each answer and hand it to the watch, which compares it with the last
    successful one and returns the changes to yield. Override :meth:`pushed_event` to
    turn events the server pushes into changes.
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
        self._watch: LocalWatch | SharedWatch | None = None
        self._pushed: list[Change] = []
        self._pushed_ready = asyncio.Event()
        self.signal_settings = SignalSettings()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> KwiffWatchSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.signal_settings = SignalSettings.from_settings(crawler.settings)
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
        self._pushed.extend(self.pushed_event(name, args))
        if self._pushed:
            self._pushed_ready.set()

    def _take_pushed(self) -> list[Change]:
        """The pushed changes not yet taken, counted."""
        changes, self._pushed = self._pushed, []
        self._pushed_ready.clear()
        for change in changes:
            self.count_change(change)
        return changes

    async def _pushed_batches(
        self, deadline: float, wakeup: asyncio.Event | None = None
    ) -> AsyncIterator[list[Change]]:
        """The changes pushed until *deadline* (loop time) or until *wakeup* is set, in
        batches as they come. Those already pushed come out first, even if *deadline* has
        passed: a poll that overruns its interval does not hold them back."""
        loop = asyncio.get_running_loop()
        while True:
            if changes := self._take_pushed():
                yield changes
            remaining = deadline - loop.time()
            if remaining <= 0 or (wakeup is not None and wakeup.is_set()):
                return
            if self._pushed:
                continue
            waiting = {asyncio.ensure_future(self._pushed_ready.wait())}
            if wakeup is not None:
                waiting.add(asyncio.ensure_future(wakeup.wait()))
            try:
                await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for future in waiting:
                    future.cancel()

    async def pushed_until(
        self, deadline: float, wakeup: asyncio.Event | None = None
    ) -> AsyncIterator[Change]:
        """Yield pushed changes until *deadline* (loop time), or until *wakeup* is set.

        Not for ``start()``: it yields them carried by requests (:meth:`carry`)."""
        async for changes in self._pushed_batches(deadline, wakeup):
            for change in changes:
                yield change

    async def carry_pushed_until(
        self, deadline: float, wakeup: asyncio.Event | None = None
    ) -> AsyncIterator[Request]:
        """What ``start()`` yields between polls: a request per batch of pushed changes."""
        async for changes in self._pushed_batches(deadline, wakeup):
            yield self.carry(changes)

    def carry(self, changes: list[Change]) -> Request:
        """A local request whose callback yields *changes*.

        Pushed changes are not yielded from ``start()`` as items: Scrapy's scraper does
        not check again whether it may close once an item from ``start()`` has been
        through the item pipelines, so a spider closing while one is still in them would
        never finish closing. Carried by a request, they are scraped like a poll's
        changes, and a closing spider waits for them.
        """
        return Request(
            PUSHED_URL,
            callback=self.parse_pushed,
            errback=self.carry_failed,
            dont_filter=True,
            meta={PUSHED_META_KEY: changes, LOCAL_META_KEY: True, "dont_cache": True},
        )

    def parse_pushed(self, response: Response) -> list[Change | OddsSignal]:
        changes: list[Change] = response.meta.get(PUSHED_META_KEY) or []
        return self.with_signals(changes)

    def carry_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        lost = len(request.meta.get(PUSHED_META_KEY) or [])
        logger.error("%d pushed change(s) lost: %s failed: %s", lost, request, failure.value)

    # -- the watch -----------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        async for request in self.watch().run():
            yield request

    def watch(self) -> LocalWatch | SharedWatch:
        """The watch this spider runs: shared when the crawl's scheduler is the shared one."""
        if self._watch is None:
            scheduler = shared_scheduler(self.crawler)
            self._watch = LocalWatch(self) if scheduler is None else SharedWatch(self, scheduler)
        return self._watch

    # -- the answers ---------------------------------------------------------------------

    def parse_poll_list(self, response: KwiffResponse) -> Iterator[Change | OddsSignal]:
        """An ``event:list`` of a poll: compare every event (``details``: only who is listed)."""
        watch = self.watch()
        try:
            listed = self._listed(response)
            if listed is None:
                watch.failed(response.request)
                return
            snapshots, complete = listed
            yield from self.with_signals(
                watch.answered_list(
                    response.request, snapshots, complete, response.answer.fetched_at
                )
            )
        finally:
            watch.settled(response.request)

    def parse_poll_event(self, response: KwiffResponse) -> Iterator[Change | OddsSignal]:
        """An ``event:get`` of a poll: compare the event with its last successful answer."""
        watch = self.watch()
        event_id = response.payload.get("eventId")
        try:
            if not isinstance(event_id, int) or response.answer.error is not None:
                self.parse_answer(response, parse_event_detail)  # logs and counts the error
                watch.failed(response.request)
                return
            data = response.answer.data
            seen_at = response.answer.fetched_at
            if isinstance(data, dict) and "result" in data and data["result"] is None:
                # The service has no such event (any more): it is gone.
                yield from self.with_signals(
                    watch.answered_event(response.request, event_id, None, seen_at)
                )
                return
            event = self.parse_answer(response, parse_event_detail)
            if event is None or event.event_id != event_id:
                logger.warning("event:get %s answered no usable event: not compared", event_id)
                watch.failed(response.request)
                return
            snapshot = EventSnapshot.of(event)
            yield from self.with_signals(
                watch.answered_event(response.request, event_id, snapshot, seen_at)
            )
        finally:
            watch.settled(response.request)

    def poll_failed(self, failure: Failure) -> None:
        """Errback of every poll command: the command failed after Scrapy's retries."""
        request = failure.request  # type: ignore[attr-defined]
        logger.warning("%s failed: %s", request, failure.value)
        watch = self.watch()
        watch.failed(request)
        watch.settled(request)

    def _listed(self, response: KwiffResponse) -> tuple[dict[int, EventSnapshot], bool] | None:
        """The listed events and whether every entry could be read; None if unusable."""
        skips: Counter[str] = Counter()
        events = self.parse_answer_bytes(response, parse_events, skips)
        if events is None:
            answer = response.answer
            if answer.error is not None:
                self.parse_answer(response, parse_events)  # logs and counts the error
                return None
            data = answer.data
            if not isinstance(data, dict) or not isinstance(data.get("events"), list):
                logger.warning("event:list answered without an events list: not compared")
                return None
            events = parse_events(data, fetched_at=answer.fetched_at, skips=skips)
        for reason, count in skips.items():
            self.count(stats.parse_skipped(reason), count)
        complete = not (skips[EVENT_NOT_OBJECT] or skips[EVENT_WITHOUT_ID])
        if not complete:
            logger.warning("event:list had unreadable events: none is reported removed this time")
        return {event.event_id: EventSnapshot.of(event) for event in events}, complete

    def stop_watching(self, event_id: int) -> None:
        """``events=``: the event is gone, poll it no more."""
        if self.watched_ids is not None and event_id in self.watched_ids:
            self.watched_ids.remove(event_id)
            logger.info("Event %s is gone: no longer watched", event_id)

    # -- commands ------------------------------------------------------------------------

    def list_payload(self) -> dict[str, Any]:
        return {"listId": defaults.LIST_ID, "sportId": self.sport_id, "country": self.country_()}

    def country_(self) -> str:
        return self.country or KwiffSettings.of(self.crawler).country

    def command(
        self,
        message: str,
        payload: dict[str, Any],
        callback: Callable[[KwiffResponse], Iterator[Change | OddsSignal]],
        meta: dict[str, Any],
    ) -> KwiffRequest:
        # A poll repeats the same command: never filtered as a duplicate, never cached.
        return KwiffRequest(
            message,
            payload,
            callback=callback,
            errback=self.poll_failed,
            dont_filter=True,
            meta={**meta, "dont_cache": True},
        )

    # -- signals ---------------------------------------------------------------------------

    def with_signals(self, changes: list[Change]) -> list[Change | OddsSignal]:
        """*changes*, then the signals they complete (see :mod:`kwiff_scrapy.model.detectors`).

        Each call is one answer's changes, so the detectors close its polls at the end.
        """
        detectors = self._detectors() if changes else None
        if detectors is None:
            return list(changes)
        found = detectors.feed(changes) + detectors.flush()
        for signal in found:
            self.count(stats.watch_signal(signal.rule))
        return [*changes, *found]

    def _detectors(self) -> SignalDetectors | None:
        """The detectors in ``spider.state``, made on first use; None when signals are off."""
        settings = self.signal_settings
        if not settings.enabled:
            return None
        if isinstance(self.watch(), SharedWatch):
            if not getattr(self, "_warned_shared_signals", False):
                self._warned_shared_signals = True
                logger.warning(
                    "KWIFF_SIGNALS: a shared watch does not detect signals yet (each worker "
                    "sees only the events it polls); signals are off for this worker"
                )
            return None
        self._state()
        detectors = self.state.get(SIGNALS_STATE_KEY)
        if not isinstance(detectors, SignalDetectors) or detectors.rules != settings.rules:
            if isinstance(detectors, SignalDetectors):
                logger.info("KWIFF_SIGNALS changed since the pause: the detectors start afresh")
            detectors = self.state[SIGNALS_STATE_KEY] = SignalDetectors(settings.rules)
        return detectors

    # -- state and stats -----------------------------------------------------------------

    def _state(self) -> WatchState:
        """The watch's state in ``spider.state`` (persisted by ``JOBDIR``), made on first use."""
        if not isinstance(getattr(self, "state", None), dict):
            self.state: dict[str, Any] = {}
        state = self.state.get(STATE_KEY)
        if not isinstance(state, WatchState):
            state = self.state[STATE_KEY] = WatchState()
        return state

    def count_change(self, change: Change) -> None:
        if isinstance(change, OddsChange):
            self.count(stats.watch_change(change.kind))
        elif isinstance(change, EventChange):
            self.count(stats.watch_event_change(change.kind))

    def poll_finished(self, poll: int, changes: int, failed: bool) -> None:
        """Count a finished poll and send ``poll_finished``."""
        self.count(stats.WATCH_POLLS)
        if failed:
            self.count(stats.WATCH_FAILED_POLLS)
        self.crawler.signals.send_catch_log(
            signal=signals.poll_finished, poll=poll, changes=changes, failed=failed
        )


# -- one process: the local watch -----------------------------------------------------------


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
        state = spider._state()
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

    async def _poll_requests(self, poll: _Poll) -> AsyncIterator[KwiffRequest]:
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
        # Spread evenly over the interval: the n-th of N at started + n * interval / N.
        loop = asyncio.get_running_loop()
        for position, event_id in enumerate(ids):
            delay = poll.started + position * spider.interval / len(ids) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            poll.expect()
            yield self._command(poll, "event:get", {"eventId": event_id}, spider.parse_poll_event)

    def _command(
        self,
        poll: _Poll,
        message: str,
        payload: dict[str, Any],
        callback: Callable[[KwiffResponse], Iterator[Change | OddsSignal]],
    ) -> KwiffRequest:
        return self.spider.command(message, payload, callback, {POLL_META_KEY: poll.number})

    def _poll_of(self, request: Request | None) -> _Poll | None:
        """The poll a command belongs to; None for one restored from an earlier run's JOBDIR."""
        number = request.meta.get(POLL_META_KEY) if request is not None else None
        return self._polls.get(number) if isinstance(number, int) else None

    # -- the answers, from the spider's callbacks -----------------------------------------

    def answered_list(
        self,
        request: Request | None,
        listed: dict[int, EventSnapshot],
        complete: bool,
        seen_at: str | None,
    ) -> list[Change]:
        poll = self._poll_of(request)
        state = self.spider._state()
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

    def answered_event(
        self,
        request: Request | None,
        event_id: int,
        snapshot: EventSnapshot | None,
        seen_at: str | None,
    ) -> list[Change]:
        poll = self._poll_of(request)
        state = self.spider._state()
        if snapshot is None:
            self.spider.stop_watching(event_id)
        comparison = compare_event(event_id, state.events.get(event_id), snapshot, seen_at=seen_at)
        state.events.update(comparison.writes)
        for gone in comparison.deletes:
            state.events.pop(gone, None)
        return self._emit(poll, state, comparison.changes)

    def failed(self, request: Request | None) -> None:
        poll = self._poll_of(request)
        if poll is not None:
            poll.failed = True

    def settled(self, request: Request | None) -> None:
        poll = self._poll_of(request)
        if poll is not None:
            poll.settle()

    def _emit(self, poll: _Poll | None, state: WatchState, changes: list[Change]) -> list[Change]:
        """The changes to yield: none for the first poll with ``baseline=0``."""
        if not (state.baselined or self.spider.baseline):
            return []
        for change in changes:
            self.spider.count_change(change)
        if poll is not None:
            poll.changes += len(changes)
        return changes


# -- several workers: the shared watch ------------------------------------------------------


@dataclass
class _Held:
    """A task this worker claimed: polled, then committed, then settled."""

    claim: Claim
    changes: int = 0
    failed: bool = False
    committed: bool = False


class SharedWatch:
    """One watch polled by several workers through Redis (the shared scheduler's).

    :meth:`run` claims the tasks that are due (at most as many as this worker has
    request slots: ``CONCURRENT_REQUESTS``, ``CONCURRENT_REQUESTS_PER_DOMAIN``), yields
    their commands as worker-local requests, renews the leases of those in flight and
    sleeps until the next task is due. Each answer is compared with the shared
    snapshots and written back with one compare-and-set; a poll whose lease was lost
    yields nothing (the worker that took it over reports the changes). Every Redis call
    goes through the scheduler's guard: while Redis is away nothing is claimed or
    committed, and polls not committed are polled again once their leases run out.

    The keys are under ``<KWIFF_REDIS_KEY>:watch:<sport>:<country>:<mode>``, so that
    workers watching the same thing share, and other watches do not.
    """

    def __init__(self, spider: KwiffWatchSpider, scheduler: Scheduler) -> None:
        self.spider = spider
        self.crawler = spider.crawler
        config = scheduler.config
        assert scheduler.guard is not None, "the scheduler is built"
        self.guard = scheduler.guard
        self.server = scheduler.server
        self.key = f"{config.key(spider.name)}:watch:{watch_name(spider)}"
        self.polls = RedisPolls(self.server, self.key, config.worker_id)
        self.snapshots = RedisSnapshots(self.server, self.key, self.polls)
        self.config_key = f"{self.key}:config"
        self.lease = config.lease(spider.interval)
        self.afresh = scheduler.started_afresh
        settings = self.crawler.settings
        self.capacity = max(
            1,
            min(
                settings.getint("CONCURRENT_REQUESTS"),
                settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") or 1,
            ),
        )
        self.tick = min(1.0, self.lease / 4)
        self.held: dict[str, _Held] = {}
        self.finished = 0
        self._freed = asyncio.Event()
        self.crawler.signals.connect(self._on_closed, signal=scrapy_signals.spider_closed)

    # -- the clock -----------------------------------------------------------------------

    async def run(self) -> AsyncIterator[Request]:
        spider = self.spider
        loop = asyncio.get_running_loop()
        while not self.guard.call("setting up the shared watch", self._set_up, False):
            async for carrier in spider.carry_pushed_until(loop.time() + self.tick):
                yield carrier
        next_renewal = loop.time() + self.lease / 3
        while True:
            if self.held and loop.time() >= next_renewal:
                self.guard.call("renewing leases", self._renew, None)
                next_renewal = loop.time() + self.lease / 3
            wait = self.tick
            room = self.capacity - len(self.held)
            if room > 0:

                def claim_due(room: int = room) -> Claims:
                    return self.polls.claim(room, self.lease)

                claims = self.guard.call("claiming polls", claim_due, None)
                if claims is not None:
                    if claims.expired:
                        spider.count(stats.WATCH_LEASES_EXPIRED, claims.expired)
                        logger.info(
                            "%d poll(s) whose worker stopped renewing its lease are due again",
                            claims.expired,
                        )
                    for claim in claims.claimed:
                        spider.count(stats.WATCH_CLAIMED)
                        self.held[claim.task] = _Held(claim)
                        yield self._request(claim)
                    if claims.soonest is not None:
                        wait = min(wait, max(0.0, claims.soonest))
            self._freed.clear()
            deadline = loop.time() + wait
            if self.held:
                deadline = min(deadline, next_renewal)
            async for carrier in spider.carry_pushed_until(deadline, self._freed):
                yield carrier

    def _set_up(self) -> bool:
        """Create the watch's tasks if this worker is the first; True once done."""
        spider = self.spider
        if self.afresh:  # SCHEDULER_FLUSH_ON_START, and no other worker running
            self.server.delete(self.config_key, *self.polls.keys, *self.snapshots.keys)
            self.afresh = False
            logger.info("SCHEDULER_FLUSH_ON_START: the shared watch starts afresh")
        created = self.server.hsetnx(self.config_key, "interval", repr(spider.interval))
        if spider.watched_ids is None:
            tasks = {LIST_TASK: 0.0}
        else:
            ids = spider.watched_ids
            tasks = {
                event_task(event_id): position * spider.interval / len(ids)
                for position, event_id in enumerate(ids)
            }
        # The list's poll always exists (adding it is a no-op then); events dropped as gone
        # are not added back, unless the watch has no poll at all.
        if created or spider.watched_ids is None or not self.polls.tasks():
            self.polls.schedule(tasks)
        if created:
            logger.info("Started the shared watch %s (%d tasks)", self.key, len(tasks))
        else:
            interval = float(self.server.hget(self.config_key, "interval") or spider.interval)
            if interval != spider.interval:
                logger.warning(
                    "The shared watch %s was started with interval=%g; this worker's %g "
                    "applies to the polls it completes",
                    self.key,
                    interval,
                    spider.interval,
                )
            logger.info("Joined the shared watch %s", self.key)
        return True

    def _renew(self) -> None:
        claims = [held.claim for held in self.held.values() if not held.committed]
        for task in self.polls.renew(claims, self.lease):
            logger.info("Lost the lease of poll %s: another worker polls it", task)

    def _request(self, claim: Claim) -> KwiffRequest:
        spider = self.spider
        meta = {CLAIM_META_KEY: (claim.task, claim.token), LOCAL_META_KEY: True}
        if claim.task == LIST_TASK:
            return spider.command("event:list", spider.list_payload(), spider.parse_poll_list, meta)
        event_id = int(claim.task.removeprefix(EVENT_TASK_PREFIX))
        return spider.command("event:get", {"eventId": event_id}, spider.parse_poll_event, meta)

    def _held_for(self, request: Request | None) -> _Held | None:
        value = request.meta.get(CLAIM_META_KEY) if request is not None else None
        if not isinstance(value, tuple | list) or len(value) != 2:
            return None
        held = self.held.get(value[0])
        return held if held is not None and held.claim.token == value[1] else None

    # -- the answers, from the spider's callbacks -----------------------------------------

    def answered_list(
        self,
        request: Request | None,
        listed: dict[int, EventSnapshot],
        complete: bool,
        seen_at: str | None,
    ) -> list[Change]:
        held = self._held_for(request)
        if held is None:
            return []
        spider = self.spider

        def attempt() -> tuple[Comparison, Committed]:
            known = self.snapshots.known()
            needed = set(listed) if not spider.details else set()
            if complete:
                needed |= known - listed.keys()
            loaded = self.snapshots.load(needed)
            comparison = compare_list(
                loaded.snapshots,
                known,
                listed,
                compare_listed=not spider.details,
                complete=complete,
                seen_at=seen_at,
            )
            commit = Commit(
                expected=loaded.versions, writes=comparison.writes, deletes=comparison.deletes
            )
            if spider.details:
                tasks = self.polls.tasks()
                new = [event_id for event_id in listed if event_task(event_id) not in tasks]
                commit.add_tasks = {
                    event_task(event_id): position * spider.interval / len(new)
                    for position, event_id in enumerate(new)
                }
                if complete:
                    wanted = {event_task(event_id) for event_id in listed}
                    commit.drop_tasks = sorted(
                        task
                        for task in tasks
                        if task.startswith(EVENT_TASK_PREFIX) and task not in wanted
                    )
            return comparison, self.snapshots.commit(held.claim, spider.interval, commit)

        return self._commit(held, attempt)

    def answered_event(
        self,
        request: Request | None,
        event_id: int,
        snapshot: EventSnapshot | None,
        seen_at: str | None,
    ) -> list[Change]:
        held = self._held_for(request)
        if held is None:
            return []
        spider = self.spider

        def attempt() -> tuple[Comparison, Committed]:
            loaded = self.snapshots.load([event_id])
            comparison = compare_event(
                event_id, loaded.snapshots.get(event_id), snapshot, seen_at=seen_at
            )
            commit = Commit(
                expected=loaded.versions, writes=comparison.writes, deletes=comparison.deletes
            )
            if snapshot is None and spider.watched_ids is not None:
                commit.drop_tasks = [held.claim.task]
            return comparison, self.snapshots.commit(held.claim, spider.interval, commit)

        changes = self._commit(held, attempt)
        if snapshot is None and held.committed:
            spider.stop_watching(event_id)
        return changes

    def failed(self, request: Request | None) -> None:
        held = self._held_for(request)
        if held is None or held.committed:
            return
        held.failed = True
        interval = self.spider.interval
        committed = self.guard.call(
            "completing a failed poll",
            lambda: self.snapshots.commit(held.claim, interval, Commit(failed=True)),
            None,
        )
        held.committed = committed is not None

    def settled(self, request: Request | None) -> None:
        held = self._held_for(request)
        if held is None:
            return
        del self.held[held.claim.task]
        self._freed.set()
        self.finished += 1
        self.spider.poll_finished(self.finished, held.changes, held.failed)

    def _commit(
        self, held: _Held, attempt: Callable[[], tuple[Comparison, Committed]]
    ) -> list[Change]:
        """Compare and write, again while the snapshots change underneath; the changes."""
        spider = self.spider
        for _ in range(defaults.WATCH_COMMIT_ATTEMPTS):
            result = self.guard.call("comparing an answer", attempt, None)
            if result is None:  # Redis is away: polled again once the lease runs out
                held.failed = True
                return []
            comparison, committed = result
            if committed.outcome is Outcome.CONFLICT:
                spider.count(stats.WATCH_COMMIT_CONFLICTS)
                continue
            held.committed = True
            if committed.outcome is Outcome.LOST:
                spider.count(stats.WATCH_LEASES_LOST)
                logger.info(
                    "Poll %s outlasted its lease and another worker took it over: "
                    "this answer is not compared",
                    held.claim.task,
                )
                return []
            if committed.overrun:
                spider.count(stats.WATCH_OVERRUNS)
            if not (committed.baselined or spider.baseline):
                return []
            for change in comparison.changes:
                spider.count_change(change)
            held.changes += len(comparison.changes)
            return comparison.changes
        logger.warning("Poll %s: the shared state kept changing: not compared", held.claim.task)
        self.failed_after_conflicts(held)
        return []

    def failed_after_conflicts(self, held: _Held) -> None:
        held.failed = True
        interval = self.spider.interval
        self.guard.call(
            "completing a poll",
            lambda: self.snapshots.commit(held.claim, interval, Commit(failed=True)),
            None,
        )
        held.committed = True

    def _on_closed(self) -> None:
        """Hand back the polls claimed and not completed: the other workers take them now."""
        claims = [held.claim for held in self.held.values() if not held.committed]
        if claims:
            released = self.guard.call("handing back polls", lambda: self.polls.release(claims), 0)
            if released:
                logger.info("Handed back %d claimed poll(s) to the other workers", released)


def event_task(event_id: int) -> str:
    return f"{EVENT_TASK_PREFIX}{event_id}"


def watch_name(spider: KwiffWatchSpider) -> str:
    """``<sport id>:<country>:<mode>``: what a shared watch polls, so that workers agree."""
    if spider.watched_ids is not None:
        ids = ",".join(map(str, sorted(spider.watched_ids)))
        mode = f"events-{hashlib.sha1(ids.encode(), usedforsecurity=False).hexdigest()[:12]}"
    else:
        mode = "details" if spider.details else "list"
    return f"{spider.sport_id}:{spider.country_()}:{mode}"
