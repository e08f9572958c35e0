"""The watch of several workers: polls claimed with leases, last-seen prices in Redis."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy import signals as scrapy_signals

from ... import defaults
from ...distributed import LOCAL_META_KEY
from ...distributed.polls import RedisPolls
from ...distributed.signal_states import SharedDetectors
from ...distributed.state import Commit, Outcome, RedisSnapshots
from ...integration import stats
from ...model.changes import compare_event, compare_list

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from scrapy import Request

    from ...distributed.polls import Claim, Claims
    from ...distributed.scheduler import Scheduler
    from ...distributed.state import Committed
    from ...integration.http import KwiffRequest
    from ...model.changes import Change, Comparison, EventSnapshot
    from ...model.signals import OddsSignal
    from .spider import KwiffWatchSpider

logger = logging.getLogger(__name__)

#: The meta key naming the shared poll (task and claim token) a command belongs to.
CLAIM_META_KEY = "kwiff_watch_claim"
#: The task of a shared watch that polls ``event:list``; an event's is ``event:<id>``.
LIST_TASK = "list"
EVENT_TASK_PREFIX = "event:"


#: What one compare-and-set attempt returns: the comparison, the outcome, how many
#: stored snapshots could not be read, and the signals the changes gave.
_Attempt = tuple["Comparison", "Committed", int, "list[OddsSignal]"]


@dataclass
class _Held:
    """A task this worker claimed: polled, then committed, then settled."""

    claim: Claim
    changes: int = 0
    failed: bool = False
    committed: bool = False
    #: What the last attempt compared, kept until its commit's reply is in: the changes,
    #: the unreadable snapshots and the signals (see ``_after_lost_reply``).
    pending: tuple[Comparison, int, list[OddsSignal]] | None = None


class SharedWatch:
    """One watch polled by several workers through Redis (the shared scheduler's).

    :meth:`run` claims the tasks that are due (at most as many as this worker has
    request slots: ``CONCURRENT_REQUESTS``, ``CONCURRENT_REQUESTS_PER_DOMAIN``), yields
    their commands as worker-local requests, renews the leases of those in flight and
    sleeps until the next task is due. Each answer is compared with the shared
    snapshots and written back with one compare-and-set; a poll whose lease was lost
    yields nothing (the worker that took it over reports the changes). With
    ``KWIFF_SIGNALS``, the detectors' state of each event lives beside its snapshot and is
    written by the same compare-and-set (:mod:`kwiff_scrapy.distributed.signal_states`),
    so each signal is yielded once, by the worker whose commit went through. Every Redis call
    goes through the scheduler's guard, in its Redis thread (the event loop never waits
    for Redis; only handing back the polls at close is synchronous): while Redis is away
    nothing is claimed or committed, and polls not committed are polled again once their
    leases run out.

    The keys are under ``<KWIFF_REDIS_KEY>:watch:<sport>:<country>:<mode>``, so that
    workers watching the same thing share, and other watches do not.
    """

    def __init__(self, spider: KwiffWatchSpider, scheduler: Scheduler) -> None:
        self.spider = spider
        self.crawler = spider.crawler
        link = scheduler.redis_link()
        config = link.config
        self.guard = link.guard
        self.server = link.server
        self.key = f"{config.key(spider.name)}:watch:{watch_name(spider)}"
        self.polls = RedisPolls(self.server, self.key, config.worker_id)
        self.snapshots = RedisSnapshots(self.server, self.key, self.polls)
        signal_settings = spider.signal_settings
        self.detectors = SharedDetectors(signal_settings.rules) if signal_settings.enabled else None
        self.config_key = f"{self.key}:config"
        scheduler.described["watch"] = self.key  # in this worker's signs of life
        self.lease = config.lease(spider.interval)
        self.afresh = link.started_afresh
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
        self.worker = config.worker_id
        self._reported_gone: set[str] = set()
        self.finished = 0
        self._freed = asyncio.Event()
        self.crawler.signals.connect(self._on_closed, signal=scrapy_signals.spider_closed)

    def _report_lapsed(self, claims: Claims) -> None:
        """Say once per worker that another worker's leases ran out (it is taken as gone),
        unless this worker could not reach Redis either within a lease: then no worker
        could renew, and the lapse says nothing of the others."""
        if self.guard.outage_within(self.lease):
            logger.info(
                "%d poll(s) whose lease ran out while Redis was unreachable are due again "
                "(no worker could renew its leases meanwhile)",
                claims.expired,
            )
            return
        logger.info(
            "%d poll(s) whose worker stopped renewing its lease are due again", claims.expired
        )
        for worker in claims.lapsed_holders:
            if worker == self.worker or worker in self._reported_gone:
                continue
            self._reported_gone.add(worker)
            logger.warning(
                "Worker %s stopped renewing its leases for %g s: taken as gone, its polls "
                "are taken over (check that worker's log and whether it was killed)",
                worker,
                self.lease,
            )

    # -- the clock -----------------------------------------------------------------------

    async def run(self) -> AsyncIterator[Request]:
        spider = self.spider
        loop = asyncio.get_running_loop()
        while not await self.guard.run("setting up the shared watch", self._set_up, False):
            async for carrier in spider.carry_pushed_until(loop.time() + self.tick):
                yield carrier
        next_renewal = loop.time() + self.lease / 3
        while True:
            if self.held and loop.time() >= next_renewal:
                await self.guard.run("renewing leases", self._renew, None)
                next_renewal = loop.time() + self.lease / 3
            wait = self.tick
            room = self.capacity - len(self.held)
            if room > 0:

                def claim_due(room: int = room) -> Claims:
                    return self.polls.claim(room, self.lease)

                claims = await self.guard.run("claiming polls", claim_due, None)
                if claims is not None:
                    if claims.expired:
                        spider.count(stats.WATCH_LEASES_EXPIRED, claims.expired)
                        self._report_lapsed(claims)
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
        """In the Redis thread."""
        claims = [held.claim for held in list(self.held.values()) if not held.committed]
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

    async def answered_list(
        self,
        request: Request | None,
        listed: dict[int, EventSnapshot],
        complete: bool,
        seen_at: str | None,
    ) -> list[Change | OddsSignal]:
        held = self._held_for(request)
        if held is None:
            return []
        spider = self.spider

        def attempt() -> _Attempt:
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
            signals = self._detect(held, comparison.changes, commit)
            held.pending = comparison, loaded.unreadable, signals
            committed = self.snapshots.commit(held.claim, spider.interval, commit)
            return comparison, committed, loaded.unreadable, signals

        return await self._commit(held, attempt)

    async def answered_event(
        self,
        request: Request | None,
        event_id: int,
        snapshot: EventSnapshot | None,
        seen_at: str | None,
    ) -> list[Change | OddsSignal]:
        held = self._held_for(request)
        if held is None:
            return []
        spider = self.spider

        def attempt() -> _Attempt:
            loaded = self.snapshots.load([event_id])
            comparison = compare_event(
                event_id, loaded.snapshots.get(event_id), snapshot, seen_at=seen_at
            )
            commit = Commit(
                expected=loaded.versions, writes=comparison.writes, deletes=comparison.deletes
            )
            if snapshot is None and spider.watched_ids is not None:
                commit.drop_tasks = [held.claim.task]
            signals = self._detect(held, comparison.changes, commit)
            held.pending = comparison, loaded.unreadable, signals
            committed = self.snapshots.commit(held.claim, spider.interval, commit)
            return comparison, committed, loaded.unreadable, signals

        changes = await self._commit(held, attempt)
        if snapshot is None and held.committed:
            spider.stop_watching(event_id)
        return changes

    def _detect(self, held: _Held, changes: list[Change], commit: Commit) -> list[OddsSignal]:
        """The signals of *changes*, their events' new detector states put into *commit*
        (in the Redis thread, after the snapshots were loaded: see :mod:`.signal_states`)."""
        detectors = self.detectors
        if not changes:
            return []
        if detectors is None or not (
            self.spider.baseline or self.snapshots.baselined(held.claim.task)
        ):
            # Not fed (signals off here; baseline=0's first poll): a state those events
            # kept from an earlier run would miss these changes, so it goes.
            commit.signal_deletes = SharedDetectors.events_of(changes)
            return []
        stored = self.snapshots.signal_states(detectors.events_of(changes))
        detected = detectors.detect(changes, stored)
        commit.signal_writes = detected.writes
        commit.signal_deletes = detected.deletes
        return detected.signals

    async def failed(self, request: Request | None) -> None:
        held = self._held_for(request)
        if held is None or held.committed:
            return
        held.failed = True
        interval = self.spider.interval
        committed = await self.guard.run(
            "completing a failed poll",
            lambda: self.snapshots.commit(held.claim, interval, Commit(failed=True)),
            None,
        )
        held.committed = committed is not None

    def expect(self, request: Request) -> None:
        """Never called: a shared watch sends one request per task, retried by Scrapy."""

    def settled(self, request: Request | None) -> None:
        held = self._held_for(request)
        if held is None:
            return
        del self.held[held.claim.task]
        self._freed.set()
        self.finished += 1
        self.spider.poll_finished(self.finished, held.changes, held.failed)

    async def claim_notice(self, blind: bool) -> bool:
        """The watch's claim in Redis, so that it is said once, not once per worker: the
        first worker to go blind sets ``<key>:blind`` (SET NX, expiring after a week),
        the first to see again after that deletes it."""
        key = f"{self.key}:blind"
        ttl = math.ceil(defaults.WATCH_BLIND_CLAIM_TTL)

        def claim() -> bool:
            if blind:
                return bool(self.server.set(key, self.worker, nx=True, ex=ttl))
            return bool(self.server.delete(key))

        return await self.guard.run("claiming the blind watch's notice", claim, False)

    async def _commit(
        self, held: _Held, attempt: Callable[[], _Attempt]
    ) -> list[Change | OddsSignal]:
        """Compare and write (in the Redis thread), again while the snapshots change
        underneath; the changes, then their signals."""
        spider = self.spider
        for _ in range(defaults.WATCH_COMMIT_ATTEMPTS):
            held.pending = None
            result = await self.guard.run("comparing an answer", attempt, None)
            if result is None:
                result = await self._after_lost_reply(held)
            if result is None:  # Redis is away: polled again once the lease runs out
                held.failed = True
                return []
            comparison, committed, unreadable, signals = result
            if unreadable:
                spider.count(stats.REDIS_SNAPSHOTS_UNREADABLE, unreadable)
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
            for signal in signals:
                spider.count(stats.watch_signal(signal.rule))
            return [*comparison.changes, *signals]
        logger.warning("Poll %s: the shared state kept changing: not compared", held.claim.task)
        await self.failed_after_conflicts(held)
        return []

    async def _after_lost_reply(self, held: _Held) -> _Attempt | None:
        """A commit call that failed after it was sent may have gone through, its reply
        lost (Redis restarted, the connection cut): then its changes are in Redis and
        no poll would report them again. So once Redis answers, within a lease, ask: the
        attempt's result if it went through, else None (the poll failed)."""
        pending, held.pending = held.pending, None
        if pending is None:  # failed before the commit was sent
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lease
        while loop.time() < deadline:
            if self.guard.available:
                committed = await self.guard.run(
                    "asking whether a commit went through",
                    lambda: self.snapshots.landed(held.claim),
                    None,
                )
                if committed is not None:
                    if committed.outcome is not Outcome.OK:
                        return None
                    logger.info(
                        "Poll %s: its commit went through though Redis's reply was lost: "
                        "its changes are reported",
                        held.claim.task,
                    )
                    comparison, unreadable, signals = pending
                    return comparison, committed, unreadable, signals
            await asyncio.sleep(self.tick)
        logger.warning(
            "Poll %s: Redis did not answer within a lease, so whether its commit went "
            "through is unknown: its changes are not reported if it did",
            held.claim.task,
        )
        return None

    async def failed_after_conflicts(self, held: _Held) -> None:
        held.failed = True
        interval = self.spider.interval
        await self.guard.run(
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
