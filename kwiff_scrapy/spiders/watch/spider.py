"""The ``kwiff_watch`` spider: its arguments, callbacks, pushed events and stats.

The clock and the last-seen prices belong to its watch (:mod:`.local` or :mod:`.shared`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from scrapy import Request
from scrapy import signals as scrapy_signals

from ... import defaults
from ...distributed import LOCAL_META_KEY, shared_scheduler
from ...integration import signals, stats
from ...integration.batch import (
    NOT_RETRIED,
    BatchAnswer,
    KwiffBatchRequest,
    KwiffBatchResponse,
    retry_failed,
)
from ...integration.config import KwiffSettings
from ...integration.http import KwiffRequest, KwiffResponse
from ...integration.signal_settings import SignalSettings
from ...integration.startup import report_start_error
from ...model.changes import Change, EventSnapshot
from ...model.detectors import SignalDetectors
from ...model.items import EventChange, KwiffEvent, OddsChange
from ...model.parsing import parse_event_detail, parse_event_get_ack
from ...model.sports import country_code, sport_argument
from .. import arguments
from ..base import KwiffSpider, listed_events
from ..event import event_ids
from .blind import Blindness, Transition, blind_after, failure_reason, notice_text, watch_title
from .checkpoint import Checkpoint
from .local import STATE_KEY, LocalWatch, WatchState
from .shared import SharedWatch

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

    from ...model.event_list import ListedEvents
    from ...model.signals import OddsSignal

logger = logging.getLogger(__name__)

#: The meta key of the pushed changes a :data:`PUSHED_URL` request carries.
PUSHED_META_KEY = "kwiff_watch_pushed"
#: The signal detectors' key in ``spider.state``: their windows survive a ``JOBDIR`` pause.
SIGNALS_STATE_KEY = "kwiff_watch_signals"
#: What carries pushed changes into the crawl: a request Scrapy's ``data:`` handler
#: answers locally, whose callback yields them (see :meth:`KwiffWatchSpider.carry`).
PUSHED_URL = "data:,"


class Watch(Protocol):
    """What the spider asks of its watch: the clock, and a home for each answer.

    :meth:`run` is ``start()``: it yields the polls' requests when they are due. The
    spider's callbacks hand each parsed answer to ``answered_*`` and get back the changes
    to yield; a command that failed goes to :meth:`failed`; every command, answered or
    not, ends with :meth:`settled`. ``answered_*`` and :meth:`failed` are awaited: the
    shared watch compares and writes through Redis off the event loop.
    """

    def run(self) -> AsyncIterator[Request]: ...

    async def answered_list(
        self,
        request: Request | None,
        listed: dict[int, EventSnapshot],
        complete: bool,
        seen_at: str | None,
    ) -> list[Change | OddsSignal]: ...

    async def answered_event(
        self,
        request: Request | None,
        event_id: int,
        snapshot: EventSnapshot | None,
        seen_at: str | None,
    ) -> list[Change | OddsSignal]: ...

    async def failed(self, request: Request | None) -> None: ...

    def expect(self, request: Request) -> None:
        """*request* (commands tried again from a callback) belongs to its poll too."""
        ...

    def settled(self, request: Request | None) -> None: ...

    async def claim_notice(self, blind: bool) -> bool:
        """True if this worker is the one to say the watch went blind (*blind*) or sees
        again; a local watch always is."""
        ...


#: The setting of the default ``-a group=``.
GROUP_SETTING = "KWIFF_WATCH_GROUP"


def poll_group(value: Any, name: str = "group") -> int:
    """``-a group=N`` (or ``KWIFF_WATCH_GROUP``): a whole number of commands, at least 1."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if size < 1 or isinstance(value, bool) or (isinstance(value, float) and value != size):
        raise ValueError(
            f"{name} must be a whole number of event:get commands per request, at least 1 "
            f"(1: one request per event), not {value!r}"
        )
    return size


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


class KwiffWatchSpider(KwiffSpider):
    """Yields odds and event changes, poll after poll, until Scrapy stops it.

    Arguments: ``sport`` / ``sport_id`` / ``country`` (as the event-list spiders),
    ``interval`` (seconds between the starts of two polls, default 10, at least 1),
    ``details=1``, ``events=ID,...``, ``group=N`` (the ``event:get`` commands of a
    local poll sent as one request, default ``KWIFF_WATCH_GROUP``, 50), ``baseline=0``
    (yield nothing for the first poll, which otherwise reports every event and outcome
    as ``new``), and ``markets=``,
    ``within=``, ``date=``, ``tz=`` as the event-list spiders (the window chooses the
    listed events; an id of ``events=`` is watched whatever its start).

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
        markets: str | None = None,
        within: str | None = None,
        date: str | None = None,
        tz: str | None = None,
        group: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        #: ``event:get`` commands per request of a local details poll (``-a group=``, else
        #: ``KWIFF_WATCH_GROUP``, read in :meth:`from_crawler`).
        self.group = poll_group(group) if group is not None else defaults.WATCH_GROUP
        self._group_given = group is not None
        self.sport_id = sport_argument(sport, sport_id)
        self.country = country_code(country) if country else None
        self.interval = poll_interval(interval, self.min_interval)
        self.details = arguments.boolean(details, "details")
        self.watched_ids = event_ids(events, "events") if events is not None else None
        self.baseline = arguments.boolean(baseline, "baseline")
        self.selection = arguments.selection(markets, within, date, tz)
        self._watch: Watch | None = None
        self._pushed: list[Change] = []
        self._pushed_ready = asyncio.Event()
        self.signal_settings = SignalSettings()
        self._warned_shared_signals = False
        #: ``KWIFF_WATCH_BLIND_AFTER``; the failed polls in a row, made at the start.
        self.blind_after = defaults.WATCH_BLIND_AFTER
        self._blindness: Blindness | None = None
        self._notices: set[asyncio.Task[None]] = set()
        #: ``KWIFF_WATCH_CHECKPOINT``: a local watch's state saved to ``JOBDIR`` after polls.
        self.checkpoint = Checkpoint(None, 0)

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """A watch logs its main stats every minute (``KWIFF_PERIODIC_LOG``, which the
        add-on turns into Scrapy's ``PeriodicLog`` on one line, in place of ``LogStats``),
        unless the project says otherwise.

        Its queued commands stay in memory even with ``JOBDIR``: Scrapy's disk queues
        take the memory queues' classes. Each poll sends its own commands, so a queued
        one is of no use to the next run, and a run killed (SIGKILL, the OOM killer)
        leaves disk queue files that hand the next run a stale command in place of its
        first, on which its poll would wait for ever. ``JOBDIR`` keeps what the watch
        needs: ``spider.state``, the prices last seen and the detectors' windows.
        """
        super().update_settings(settings)
        if settings.get("KWIFF_PERIODIC_LOG") is None:
            settings.set("KWIFF_PERIODIC_LOG", True, "spider")
        for queue in ("SCHEDULER", "SCHEDULER_START"):
            in_memory = settings.get(f"{queue}_MEMORY_QUEUE")
            settings.set(f"{queue}_DISK_QUEUE", in_memory, "spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> KwiffWatchSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        try:
            spider.signal_settings = SignalSettings.from_settings(crawler.settings)
            spider.blind_after = blind_after(crawler.settings)
            spider.checkpoint = Checkpoint.of(crawler)
            if not spider._group_given and crawler.settings.get(GROUP_SETTING) is not None:
                spider.group = poll_group(crawler.settings.get(GROUP_SETTING), GROUP_SETTING)
        except ValueError as exc:  # a bad KWIFF_SIGNALS, KWIFF_WATCH_* setting
            report_start_error(cls.name, exc)
            raise
        crawler.signals.connect(spider._on_pushed_event, signal=signals.unsolicited_event)
        crawler.signals.connect(spider._finish_notices, signal=scrapy_signals.spider_closed)
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
        self.blindness()  # "seen nothing since" the start, until a poll sees
        async for request in self.watch().run():
            yield request

    def watch(self) -> Watch:
        """The watch this spider runs: shared when the crawl's scheduler is the shared one."""
        if self._watch is None:
            scheduler = shared_scheduler(self.crawler)
            self._watch = LocalWatch(self) if scheduler is None else SharedWatch(self, scheduler)
        return self._watch

    # -- the answers ---------------------------------------------------------------------

    async def parse_poll_list(self, response: KwiffResponse) -> AsyncIterator[Change | OddsSignal]:
        """An ``event:list`` of a poll: compare every event (``details``: only who is listed)."""
        watch = self.watch()
        try:
            listed = self._usable_list(response)
            if listed is None:
                self.blindness().note("the service answered without events")
                await watch.failed(response.request)
                return
            if self.details:  # who is listed, no more: each event:get is compared
                snapshots = {
                    event.event_id: EventSnapshot(event.event_id) for event in listed.events
                }
            else:
                snapshots = {
                    event.event_id: EventSnapshot.of(event, priced=True) for event in listed.events
                }
            items = await watch.answered_list(
                response.request, snapshots, listed.complete, listed.fetched_at
            )
            for item in items:
                yield item
        finally:
            watch.settled(response.request)

    async def parse_poll_event(self, response: KwiffResponse) -> AsyncIterator[Change | OddsSignal]:
        """An ``event:get`` of a poll: compare the event with its last successful answer."""
        try:
            items = await self._event_answered(
                response.request,
                response.payload.get("eventId"),
                response.message,
                response.body,
                lambda: response,
            )
            for item in items:
                yield item
        finally:
            self.watch().settled(response.request)

    async def parse_poll_events(
        self, response: KwiffBatchResponse
    ) -> AsyncIterator[Change | OddsSignal | KwiffBatchRequest]:
        """The ``event:get`` commands of a poll sent as one request (``-a group=``): each
        answer compared as :meth:`parse_poll_event` compares one; the commands that got
        no answer tried again as one request (Scrapy's retry settings), else each logged
        and the poll failed."""
        watch = self.watch()
        request = response.request
        assert isinstance(request, KwiffBatchRequest)
        message = request.message
        failed: list[BatchAnswer] = []
        try:
            for answer in response.answers:
                if answer.body is None:
                    failed.append(answer)
                    continue
                items = await self._event_answered(
                    request,
                    answer.payload.get("eventId"),
                    message,
                    answer.body,
                    partial(KwiffResponse.from_ack, request, answer.body, answer.args),
                )
                for item in items:
                    yield item
            if not failed:
                return
            retry = retry_failed(response, failed, self)
            if retry is not None:
                watch.expect(retry)
                yield retry
                failed = [answer for answer in failed if isinstance(answer.failure, NOT_RETRIED)]
            for answer in failed:
                logger.warning("%s %s failed: %s", message, answer.payload, answer.failure)
            if failed:
                self.blindness().note(failure_reason(failed[0].failure))
                await watch.failed(request)
        finally:
            watch.settled(request)

    async def _event_answered(
        self,
        request: Request | None,
        event_id: Any,
        message: str,
        body: bytes,
        response: Callable[[], KwiffResponse],
    ) -> list[Change | OddsSignal]:
        """The changes one ``event:get`` answer (*body*) brings: read straight from its
        bytes when plain, else through the whole *response* (an error answer, a null
        result: the event is gone, an odd field)."""
        watch = self.watch()
        # The markets of -a markets= only: the time window chose which listed events are
        # watched, an id of -a events= is watched anyway.
        selected = self.selection.markets_only() if self.selection else None
        skips: Counter[str] = Counter()
        read = (
            parse_event_get_ack(body, skips=skips, select=selected)
            if isinstance(event_id, int)
            else None
        )
        if read is not None:  # plain, with an event and no error: the usual answer
            self.report_answer(message, None, skips)
            return await self._compare_event(request, event_id, *read)
        whole = response()
        answer = whole.answer
        usable = isinstance(event_id, int) and answer.error is None
        data = answer.data
        if usable and isinstance(data, dict) and "result" in data and data["result"] is None:
            # The service has no such event (any more): it is gone.
            return await watch.answered_event(request, event_id, None, answer.fetched_at)
        # Reports an error answer.
        event = self.parse_with(whole, partial(parse_event_detail, select=selected))
        if not usable:
            self.blindness().note("the service answered without the event")
            await watch.failed(request)
            return []
        return await self._compare_event(request, event_id, event, answer.fetched_at)

    async def _compare_event(
        self,
        request: Request | None,
        event_id: int,
        event: KwiffEvent | None,
        fetched_at: str | None,
    ) -> list[Change | OddsSignal]:
        """The changes an answered event brings and their signals, or none (the poll
        failed) if unusable."""
        watch = self.watch()
        if event is None or event.event_id != event_id:
            logger.warning("event:get %s answered no usable event: not compared", event_id)
            self.blindness().note("the service answered without the event")
            await watch.failed(request)
            return []
        return await watch.answered_event(
            request, event_id, EventSnapshot.of(event, priced=True), fetched_at
        )

    async def poll_failed(self, failure: Failure) -> None:
        """Errback of every poll command: the command failed after Scrapy's retries."""
        request = failure.request  # type: ignore[attr-defined]
        if isinstance(request, KwiffBatchRequest):  # each command, as if sent alone
            for payload in request.payloads:
                logger.warning("%s %s failed: %s", request.message, payload, failure.value)
        else:
            logger.warning("%s failed: %s", request, failure.value)
        self.blindness().note(failure_reason(failure.value))
        watch = self.watch()
        await watch.failed(request)
        watch.settled(request)

    def _usable_list(self, response: KwiffResponse) -> ListedEvents | None:
        """The listed events, or None if the answer cannot be compared (an error answer,
        no events list). An error answer's skips are logged, as every spider's are."""
        # details: who is listed, no more (each event's own event:get is read whole).
        listed = listed_events(response, self.selection, markets=not self.details)
        self.warn_unmatched_markets()
        if listed.error is not None:
            self.report_answer(response.message, listed.answer, listed.skips)
            return None
        if not listed.has_events_list:
            logger.warning("event:list answered without an events list: not compared")
            return None
        self.count_skips(listed.skips)
        if not listed.complete:
            logger.warning("event:list had unreadable events: none is reported removed this time")
        return listed

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
        callback: Callable[[KwiffResponse], AsyncIterator[Change | OddsSignal]],
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

    def command_group(
        self,
        message: str,
        payloads: list[dict[str, Any]],
        callback: Callable[[KwiffBatchResponse], AsyncIterator[Any]],
        meta: dict[str, Any],
    ) -> KwiffBatchRequest:
        """Commands of *message* sent as one request (:mod:`~kwiff_scrapy.integration.batch`)."""
        return KwiffBatchRequest(
            message,
            payloads,
            callback=callback,
            errback=self.poll_failed,
            dont_filter=True,
            meta={**meta, "dont_cache": True},
        )

    # -- signals ---------------------------------------------------------------------------

    def with_signals(self, changes: list[Change]) -> list[Change | OddsSignal]:
        """*changes*, then the signals they complete (see :mod:`kwiff_scrapy.model.detectors`).

        Each call is one answer's changes, so the detectors close its polls at the end. The
        local watch calls this for each answer; a shared watch detects in its commit
        (:mod:`kwiff_scrapy.distributed.signal_states`), so here only pushed changes come
        from it, and those it yields without signals.
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
            if not self._warned_shared_signals:
                self._warned_shared_signals = True
                logger.warning(
                    "KWIFF_SIGNALS: in a shared watch, changes the server pushed are not fed "
                    "to the detectors (each worker gets its own pushes); those of the polls are"
                )
            return None
        self.watch_state()
        detectors = self.state.get(SIGNALS_STATE_KEY)
        if not isinstance(detectors, SignalDetectors) or detectors.rules != settings.rules:
            if isinstance(detectors, SignalDetectors):
                logger.info("KWIFF_SIGNALS changed since the pause: the detectors start afresh")
            detectors = self.state[SIGNALS_STATE_KEY] = SignalDetectors(settings.rules)
        return detectors

    # -- state and stats -----------------------------------------------------------------

    def watch_state(self) -> WatchState:
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
        """Count a finished poll and send ``poll_finished``; say once when the watch
        went blind, or sees again (:mod:`.blind`)."""
        self.count(stats.WATCH_POLLS)
        if failed:
            self.count(stats.WATCH_FAILED_POLLS)
        self.crawler.signals.send_catch_log(
            signal=signals.poll_finished, poll=poll, changes=changes, failed=failed
        )
        transition = self.blindness().poll(failed, datetime.now(UTC))
        if transition is not None:
            task = asyncio.ensure_future(self._say(transition))
            self._notices.add(task)
            task.add_done_callback(self._notices.discard)

    # -- a blind watch says so -------------------------------------------------------------

    def blindness(self) -> Blindness:
        """This watch's failed polls in a row (a shared watch: this worker's)."""
        if self._blindness is None:
            self._blindness = Blindness(self.blind_after, datetime.now(UTC))
        return self._blindness

    async def _finish_notices(self) -> None:
        """At close: let the notices still claiming (a shared watch's, through Redis) end,
        rather than leave their tasks pending when the loop goes."""
        if self._notices:
            await asyncio.wait(list(self._notices))

    async def _say(self, transition: Transition) -> None:
        """Log, count and send the notice, if this worker is the one to say it."""
        if not await self.watch().claim_notice(transition.blind):
            logger.info(
                "The watch %s: another worker said so already",
                "went blind" if transition.blind else "sees again",
            )
            return
        text = notice_text(watch_title(self.name, self.sport_id, self.country_()), transition)
        logger.warning("%s", text)
        self.count(stats.WATCH_BLIND if transition.blind else stats.WATCH_SEES_AGAIN)
        self.crawler.signals.send_catch_log(
            signal=signals.watch_notice, text=text, blind=transition.blind
        )
