"""scrapy-redis's scheduler, adapted to Scrapy 2.19 and to several workers of one crawl.

``SCHEDULER = "kwiff_scrapy.distributed.Scheduler"``. The queue (scrapy-redis's
``PriorityQueue``, or ``SCHEDULER_QUEUE_CLASS``), its serializer, the dupe filter
(scrapy-redis's ``RFPDupeFilter``) and the settings that build them are scrapy-redis's
own. What this subclass changes, and why:

- **Never blocks the event loop.** scrapy-redis calls Redis from the engine's own
  calls (and pops with ``BRPOP`` for ``SCHEDULER_IDLE_BEFORE_CLOSE`` seconds), which
  freezes every WebSocket session of the worker while Redis is slow or silent. Here
  Scrapy's synchronous calls (``enqueue_request``, ``next_request``,
  ``has_pending_requests``, ``spider_idle``) touch only local buffers, and one task,
  the *pump*, makes every Redis call in the Redis thread of
  :class:`~.connection.RedisGuard`, in order: it queues what was yielded (dupe filter
  first, in the order yielded), takes one request when the engine found none, checks
  whether the crawl is over when the engine is idle, and wakes the engine. A request is
  always somewhere: yielded and not queued, queued, or taken and not yet handed to the
  engine (put back in the queue if the worker closes). ``enqueue_request`` always says
  True: a duplicate is logged and sent ``request_dropped`` when the pump finds it. An
  idle worker looks at the queue every ``KWIFF_REDIS_IDLE_POLL`` seconds instead of at
  Scrapy's 5 s heartbeat; ``SCHEDULER_IDLE_BEFORE_CLOSE`` is not used.
- **Ends when the shared work is done** (:mod:`.termination`): not when this worker's
  queue is empty, and without flushing the queue and the dupe filter under the other
  workers when one of them closes (scrapy-redis does that unless
  ``SCHEDULER_PERSIST``); the last one deletes them once the crawl is over.
- **One worker seeds the crawl.** Every worker runs the same ``start()``; the first
  worker of a run queues its start requests, the others leave theirs to it.
- **Redis outages** (:class:`~.connection.RedisGuard`): a request yielded while Redis is
  away is kept (with its place in the dupe filter if it already had one) and queued when
  Redis is back; pops and checks wait with backoff instead of raising into the engine.
- **Bad queue entries**: a request that cannot be read back from the queue is logged,
  counted (``kwiff/redis/requests_undecodable``) and dropped, instead of raising into the
  engine; one that cannot be serialised is kept and sent by this worker
  (``kwiff/redis/requests_kept_local``). With ``KWIFF_REDIS_SECRET``, entries are signed
  (:mod:`.signing`) and one not signed with it is dropped unread
  (``kwiff/redis/forged_entries``).
- **Worker-local requests**: a request whose meta has ``kwiff_local`` (the shared
  watch's polls, which belong to the worker that claimed them) never enters the queue.
- **Each worker its own proxy**: a request taken from the queue loses the proxy another
  worker's environment gave it (a retry carries it), so that this worker applies its own.
- Stats without the ``spider`` argument Scrapy 2.19 deprecates; a clear one-line error
  and exit status 1 when Redis is unreachable at start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import deque
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.misc import load_object
from scrapy_redis import picklecompat  # type: ignore[import-untyped]
from scrapy_redis.dupefilter import RFPDupeFilter  # type: ignore[import-untyped]
from scrapy_redis.scheduler import Scheduler as RedisScheduler  # type: ignore[import-untyped]

from ..integration import stats
from ..integration.startup import report_start_error
from . import FROM_QUEUE_META_KEY, LOCAL_META_KEY
from .config import DistributedSettings, scrapy_redis_settings
from .connection import RedisGuard, RedisUnreachable, check_reachable, client, describe
from .privates import forget_environment_proxy, wake
from .signing import ForgedEntry, SignedSerializer
from .termination import IdleCheck, Run, SharedCrawl, Verdict

if TYPE_CHECKING:
    from redis import Redis
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

#: Requests read and dropped in one ``next_request`` call before giving the engine a turn.
_MAX_DROPPED_PER_CALL = 100


class Scheduler(RedisScheduler):
    """scrapy-redis's Redis scheduler, shared safely by several Kwiff workers."""

    # Set by scrapy-redis (untyped): the client, the queue and the dupe filter.
    server: Redis
    queue: Any
    df: Any
    persist: bool
    flush_on_start: bool
    idle_before_close: int
    dupefilter_cls: str
    dupefilter_key: str
    queue_cls: str
    queue_key: str
    serializer: Any
    spider: Spider

    def __init__(self, server: Redis, **kwargs: Any) -> None:
        super().__init__(server, **kwargs)
        self.crawler: Crawler | None = None
        self.config = DistributedSettings()
        self.run: Run | None = None
        self.shared: SharedCrawl | None = None
        self.guard: RedisGuard | None = None
        self._local: deque[Request] = deque()
        #: Requests for the shared queue, in the order they were yielded, not queued yet.
        self._unsent: deque[_Unsent] = deque()
        #: Requests taken from the shared queue, for the engine's next ``next_request``.
        self._taken: deque[Request] = deque()
        #: Start requests of a worker that joined a run it does not seed.
        self._held: list[Request] = []
        self._busy = False
        self._over = False
        #: ``SCHEDULER_FLUSH_ON_START`` applied: the shared watch starts afresh too.
        self.started_afresh = False
        #: What the pump has to do: the engine wants a request / to know if the crawl is over.
        self._work = asyncio.Event()
        self._wanted = False
        self._idle_wanted = False
        self._taking = False
        #: The last pop found the queue empty (and this worker queued nothing since).
        self._queue_empty = False
        self._closing = False
        #: Counts requests queued here or taken: an idle check older than a change is stale.
        self._activity = 0
        self._idle_check: _IdleFound | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._warned_unserialisable = False
        #: More that this worker tells about itself (the shared watch adds its key).
        self.described: dict[str, str] = {}

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Scheduler:
        name = crawler.spidercls.name
        try:
            config = DistributedSettings.of(crawler)
            server = client(crawler)
            check_reachable(server)
            instance: Scheduler = cls.from_settings(scrapy_redis_settings(crawler.settings, config))
        except (ValueError, RedisUnreachable) as exc:
            report_start_error(name, exc)
            raise
        instance.server = server  # one client per worker (from_settings built another)
        instance.stats = crawler.stats
        instance.crawler = crawler
        instance.config = config
        instance.guard = RedisGuard(crawler, config)
        if instance.idle_before_close:
            logger.info(
                "SCHEDULER_IDLE_BEFORE_CLOSE is not used: a shared crawl ends when no worker "
                "has work left, and an idle worker never blocks on the queue"
            )
        crawler.signals.connect(instance._on_spider_idle, signal=signals.spider_idle)
        return instance

    def open(self, spider: Spider) -> Deferred[None]:
        """Build the queue and the dupe filter, and join Redis off the event loop."""
        # scrapy-redis's open() without its Spider.log() call (deprecated in Scrapy 2.19),
        # and without flushing the queue under the other workers.
        self.spider = spider
        serializer = self.serializer
        if self.config.secret:
            serializer = SignedSerializer(serializer or picklecompat, self.config.secret)
        try:
            self.queue = load_object(self.queue_cls)(
                server=self.server,
                spider=spider,
                key=self.queue_key % {"spider": spider.name},
                serializer=serializer,
            )
        except TypeError as exc:
            raise ValueError(
                f"Failed to instantiate queue class {self.queue_cls!r}: {exc}"
            ) from exc
        dupefilter_cls = load_object(self.dupefilter_cls)
        if self.df is None and issubclass(dupefilter_cls, RFPDupeFilter):
            # scrapy-redis would build it from the spider's raw settings: its own client
            # (blocking retries) and key default. Same class, this worker's client and key.
            self.df = dupefilter_cls(
                self.server,
                key=self.dupefilter_key % {"spider": spider.name},
                debug=spider.settings.getbool("DUPEFILTER_DEBUG"),
            )
        elif self.df is None:
            self.df = dupefilter_cls.from_spider(spider)
        self.shared = SharedCrawl(
            self.server,
            self.config.key(spider.name),
            self.config.worker_id,
            self.config.worker_timeout,
        )
        return deferred_from_coro(self._open())

    async def _open(self) -> None:
        about = self.about()
        self.started_afresh = await self._guard.off_loop(lambda: self._set_up(about))
        logger.info(
            "Worker %s shares the crawl through Redis at %s (queue %s)",
            self.config.worker_id,
            describe(self.server),
            self.queue.key,
        )
        self._work.set()  # join at once
        self._pump_task = asyncio.get_running_loop().create_task(self._pump())

    def _set_up(self, about: dict[str, str]) -> bool:
        """In the Redis thread: flush if asked and allowed, and a first sign of life."""
        afresh = self.flush_on_start and self.may_flush()
        if afresh:
            logger.info("SCHEDULER_FLUSH_ON_START: the shared crawl starts afresh")
            self.flush()
        elif queued := len(self.queue):
            logger.info("The shared queue holds %d requests: this worker takes its share", queued)
        self._shared.heartbeat(about)
        return afresh

    def about(self) -> dict[str, str]:
        """What this worker tells about itself in its signs of life (``scrapy kwiff
        status`` shows it): fields of :data:`.termination.WORKER_FIELDS`."""
        fields = {
            "host": socket.gethostname(),
            "pid": str(os.getpid()),
            "spider": self.spider.name,
            "queue": self.queue.key,
            **self.described,
        }
        crawler = self.crawler
        if crawler is not None and crawler.stats is not None:
            fields["claimed"] = str(crawler.stats.get_value(stats.WATCH_CLAIMED, 0))
        try:
            engine = crawler.engine if crawler is not None else None
        except RuntimeError:  # Scrapy 2.19: not set before the crawl starts
            engine = None
        downloader = getattr(engine, "downloader", None)
        fields["in_progress"] = str(len(getattr(downloader, "active", ())))
        return fields

    def redis_link(self) -> RedisLink:
        """What a component sharing this worker's Redis (the shared watch) needs."""
        assert self.guard is not None, "built by from_crawler"
        return RedisLink(self.server, self.guard, self.config, self.started_afresh)

    def flush(self) -> None:
        super().flush()
        if self.shared is not None:
            self.shared.flush()

    def may_flush(self) -> bool:
        """``SCHEDULER_FLUSH_ON_START`` applies only while no other worker is alive: a
        worker that joins a running crawl or watch with it must not wipe it."""
        others = self._shared.other_workers()
        if others:
            logger.warning(
                "SCHEDULER_FLUSH_ON_START ignored: %d other worker(s) share this crawl now "
                "(%s); this worker joins them",
                len(others),
                ", ".join(others[:5]),
            )
        return not others

    # -- the engine's interface (no Redis call here: the pump makes them) --------------

    def enqueue_request(self, request: Request) -> bool:
        """Always True: a request for the shared queue goes through the dupe filter when
        the pump sends it; one filtered then is logged and sent ``request_dropped``."""
        if request.meta.get(LOCAL_META_KEY):
            self._local.append(request)
            return True
        if (
            request.meta.get("is_start_request")
            and not request.meta.get(FROM_QUEUE_META_KEY)  # e.g. a retry of the seeder's
            and not self._seeds()
        ):
            self._held.append(request)  # the seeder queues the start requests
            if self.run is not None and self.run.seeded:
                self._drop_held()
            return True
        self._unsent.append(_Unsent(request))
        self._activity += 1
        self._work.set()
        return True

    def next_request(self) -> Request | None:
        if self._local:
            return self._local.popleft()
        if self._taken:
            return self._taken.popleft()
        if not self._wanted:  # the pump takes one from the shared queue and wakes the engine
            self._wanted = True
            self._work.set()
        return None

    def has_pending_requests(self) -> bool:
        return bool(self._local or self._unsent or self._taken or self._taking)

    def close(self, reason: str) -> Deferred[None]:
        return deferred_from_coro(self._close(reason))

    async def _close(self, reason: str) -> None:
        self._closing = True
        self._work.set()
        if self._pump_task is not None:
            await self._pump_task  # ends between two calls: nothing taken is dropped
        if self._taken:  # taken for the engine and not sent: back to the queue
            self._unsent.extendleft(
                reversed([_Unsent(request, seen=True, kept=True) for request in self._taken])
            )
            self._taken.clear()
        await self._send_unsent()
        if self._unsent:
            logger.warning(
                "Closing with %d requests yielded while Redis was away: they are lost",
                len(self._unsent),
            )
        if self._local:
            logger.info("Closing with %d worker-local requests not sent", len(self._local))
        try:
            await self._guard.off_loop(lambda: self._leave(reason))
        except RedisError as exc:
            logger.warning("Could not tell Redis that this worker leaves: %s", exc)
        finally:
            self._guard.shut_down()

    def _leave(self, reason: str) -> None:
        """In the Redis thread: never scrapy-redis's flush (the other workers still need the
        queue); the last worker of a crawl that is over deletes it."""
        if self.shared is None:
            return
        if self._over and reason == "finished":
            delete = [self.queue.key] if self.persist else [self.queue.key, self.df.key]
            if self.shared.finish(self.run, delete):
                logger.info("The shared crawl is over: its queue and dupe filter are cleared")
        else:
            self.shared.leave()

    # -- seeding and termination -------------------------------------------------------

    def _seeds(self) -> bool:
        """Whether this worker queues its start requests (else they are held or dropped)."""
        return self.run is not None and self.run.seeder == self.config.worker_id

    async def _join(self) -> None:
        run = await self._guard.run("joining the shared crawl", self._shared.join, None)
        if run is None:
            return
        self.run = run
        if run.seeder == self.config.worker_id:
            logger.info("This worker seeds the shared crawl (run %s)", run.id)
            self._queue_held()  # yielded before it joined, if any
        else:
            logger.info(
                "Joined the shared crawl (run %s) seeded by worker %s: its start requests "
                "are left to that worker",
                run.id,
                run.seeder,
            )
            if run.seeded:
                self._drop_held()

    def _on_spider_idle(self) -> None:
        """This worker has nothing in progress: is the shared crawl over?

        The answer comes from an idle check the pump made since nothing changed here;
        without one, the pump is asked for one and the engine woken when it has it.
        """
        if self._over:
            return
        found, self._idle_check = self._idle_check, None
        if found is None or found.activity != self._activity:
            self._idle_wanted = True
            self._work.set()
            raise DontCloseSpider
        run, check = found.run, found.check
        if check.verdict is Verdict.SEED:
            self._seed_instead(run)
            raise DontCloseSpider
        if check.seeded or check.over:
            self._drop_held()
        if check.over:
            self._over = True
            logger.info("The shared crawl is over: nothing queued, no worker busy")
            return
        raise DontCloseSpider

    def _seed_instead(self, run: Run) -> None:
        logger.warning(
            "Worker %s is gone before it had queued every start request: this worker "
            "queues its own (those already queued are filtered as duplicates)",
            run.seeder,
        )
        self.run = replace(run, seeder=self.config.worker_id)
        self._queue_held()

    def _queue_held(self) -> None:
        held, self._held = self._held, []
        for request in held:
            self.enqueue_request(request)

    def _drop_held(self) -> None:
        if self._held:
            self._count(stats.REDIS_START_SKIPPED, len(self._held))
            self._held.clear()

    # -- the pump: every Redis call of the crawl, off the event loop, one at a time ----

    async def _pump(self) -> None:
        """Joins the run, sends what was yielded, takes what the engine wants, checks
        whether the crawl is over, gives signs of life, and wakes the engine: at once when
        it has something for it, and every ``KWIFF_REDIS_IDLE_POLL`` seconds otherwise."""
        loop = asyncio.get_running_loop()
        beat_every = self.config.worker_timeout / 3
        next_beat = loop.time() + beat_every
        while not self._closing:
            ticked = False
            try:
                async with asyncio.timeout(self.config.idle_poll):
                    await self._work.wait()
            except TimeoutError:
                ticked = True
            self._work.clear()
            if self._closing:
                return
            try:
                if await self._pump_once(ticked, beat=loop.time() >= next_beat):
                    next_beat = loop.time() + beat_every
            except Exception:  # a bug must not stop this worker from taking requests
                logger.exception("The shared scheduler's pump failed: it goes on")

    async def _pump_once(self, ticked: bool, beat: bool) -> bool:
        """One round of :meth:`_pump`; whether a sign of life was given."""
        if self.run is None:
            await self._join()
        beaten = beat and self._guard.available
        if beaten:
            about = self.about()
            await self._guard.run(
                "signalling this worker alive", lambda: self._shared.heartbeat(about), None
            )
        await self._send_unsent()
        news = ticked
        if self._idle_wanted:
            news |= await self._check_idle()
        if self._wanted and (ticked or not self._queue_empty):
            news |= await self._take()
        if news:
            self._wake_engine()
        return beaten

    def _wake_engine(self) -> None:
        try:
            engine = self.crawler.engine if self.crawler is not None else None
        except RuntimeError:  # Scrapy 2.19: not set before the crawl starts
            engine = None
        if engine is not None:
            wake(engine)

    async def _send_unsent(self) -> None:
        """Queue what was yielded, in order, until Redis fails."""
        while self._unsent and self._guard.available:
            entry = self._unsent[0]
            try:
                queued = await self._guard.off_loop(partial(self._send, entry))
            except RedisError as exc:
                self._guard.failed("queueing a request", exc)
                break
            except Exception as exc:  # not serialisable: this worker sends it itself
                self._unsent.popleft()
                self._keep_local(entry.request, exc)
                continue
            self._guard.succeeded()
            self._unsent.popleft()
            if queued:
                self._queue_empty = False
                self._count(stats.REDIS_ENQUEUED)
            else:
                self.df.log(entry.request, self.spider)
                if self.crawler is not None:
                    self.crawler.signals.send_catch_log(
                        signals.request_dropped, request=entry.request, spider=self.spider
                    )
        if self._guard.failing:  # kept until Redis is back
            for entry in self._unsent:
                if not entry.kept:
                    entry.kept = True
                    self._count(stats.REDIS_KEPT_DURING_OUTAGE)

    def _send(self, entry: _Unsent) -> bool:
        """In the Redis thread: queue *entry* after the dupe filter; False if filtered out."""
        request = entry.request
        if not entry.seen and not request.dont_filter and self.df.request_seen(request):
            return False
        entry.seen = True  # if the push fails, the dupe filter has it already
        self.queue.push(request)
        return True

    async def _take(self) -> bool:
        """Take a request from the shared queue for the engine, which found none; whether
        one was taken. An empty queue is looked at again after ``KWIFF_REDIS_IDLE_POLL``,
        or once this worker queued something."""
        guard = self._guard
        if self._over or not guard.available:  # over: never flagged busy again
            return False
        if not self._busy:
            # Flagged before the pop: a request taken always counts as work in progress.
            if not await guard.run("marking this worker busy", self._shared.mark_busy, False):
                return False
            self._busy = True
        self._taking = True
        try:
            for _ in range(_MAX_DROPPED_PER_CALL):
                try:
                    request = await guard.off_loop(self.queue.pop)
                except RedisError as exc:
                    guard.failed("taking a request", exc)
                    return False
                except ForgedEntry as exc:  # refused unread: gone from the queue
                    guard.succeeded()
                    self._count(stats.REDIS_FORGED)
                    logger.warning(
                        "Dropped an entry of the shared queue that is not signed with this "
                        "worker's KWIFF_REDIS_SECRET (%s): forged, or queued by a worker with "
                        "another secret or none",
                        exc,
                    )
                    continue
                except Exception as exc:  # the entry is gone from the queue: drop it
                    guard.succeeded()
                    self._count(stats.REDIS_UNDECODABLE)
                    logger.warning(
                        "Dropped a request from the shared queue that cannot be read: %r", exc
                    )
                    continue
                guard.succeeded()
                if request is None:
                    self._queue_empty = True
                    return False
                request.meta[FROM_QUEUE_META_KEY] = True
                forget_environment_proxy(request)
                self._count(stats.REDIS_DEQUEUED)
                self._wanted = False
                self._queue_empty = False
                self._taken.append(request)
                self._activity += 1
                return True
            return False
        finally:
            self._taking = False

    async def _check_idle(self) -> bool:
        """Clear this worker's busy flag and learn whether the crawl is over; whether the
        answer is there for the engine."""
        self._idle_wanted = False
        run = self.run
        if run is None or self._unsent or self._taken or self._local:
            return False
        activity = self._activity
        queue_key = self.queue.key
        check: IdleCheck | None = await self._guard.run(
            "checking whether the crawl is over",
            lambda: self._shared.idle(run, queue_key),
            None,
        )
        if check is None:
            return False
        self._busy = False
        self._idle_check = _IdleFound(activity, run, check)
        for worker in check.lost_workers:
            self._count(stats.REDIS_WORKERS_LOST)
            logger.warning(
                "Worker %s gave no sign of life for %g s while it had requests in progress: "
                "taken as gone, those requests are lost",
                worker,
                self.config.worker_timeout,
            )
        return True

    def _keep_local(self, request: Request, error: Exception) -> None:
        self._count(stats.REDIS_KEPT_LOCAL)
        if not self._warned_unserialisable:
            self._warned_unserialisable = True
            logger.warning(
                "Cannot serialise %s for the shared queue (%r): this worker sends it "
                "itself (further ones are counted as kwiff/redis/requests_kept_local)",
                request,
                error,
            )
        self._local.append(request)

    @property
    def _guard(self) -> RedisGuard:
        assert self.guard is not None, "built by from_crawler"
        return self.guard

    @property
    def _shared(self) -> SharedCrawl:
        assert self.shared is not None, "opened"
        return self.shared

    def _count(self, key: str, count: int = 1) -> None:
        if self.crawler is not None:
            stats.increment(self.crawler, key, count)


@dataclass(slots=True)
class _Unsent:
    """A request for the shared queue, not queued yet."""

    request: Request
    seen: bool = False
    """The dupe filter has it already (its push failed after the filter let it through)."""
    kept: bool = False
    """Counted as kept during an outage."""


@dataclass(frozen=True, slots=True)
class _IdleFound:
    """An idle check's answer, valid while nothing was queued or taken since *activity*."""

    activity: int
    run: Run
    check: IdleCheck


@dataclass(frozen=True, slots=True)
class RedisLink:
    """This worker's Redis as the scheduler shares it (:meth:`Scheduler.redis_link`)."""

    server: Redis
    guard: RedisGuard
    config: DistributedSettings
    started_afresh: bool
    """``SCHEDULER_FLUSH_ON_START`` applied: the shared watch starts afresh too."""
