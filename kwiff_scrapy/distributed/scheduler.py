"""scrapy-redis's scheduler, adapted to Scrapy 2.19 and to several workers of one crawl.

``SCHEDULER = "kwiff_scrapy.distributed.Scheduler"``. The queue (scrapy-redis's
``PriorityQueue``, or ``SCHEDULER_QUEUE_CLASS``), its serializer, the dupe filter
(scrapy-redis's ``RFPDupeFilter``) and the settings that build them are scrapy-redis's
own. What this subclass changes, and why:

- **Never blocks the event loop.** scrapy-redis pops with ``BRPOP`` for
  ``SCHEDULER_IDLE_BEFORE_CLOSE`` seconds, which freezes every WebSocket session of
  the worker; here pops never block (that setting is not used), and an idle worker
  looks at the queue every ``KWIFF_REDIS_IDLE_POLL`` seconds instead of at Scrapy's
  5 s heartbeat.
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
  (``kwiff/redis/requests_kept_local``).
- **Worker-local requests**: a request whose meta has ``kwiff_local`` (the shared
  watch's polls, which belong to the worker that claimed them) never enters the queue.
- **Each worker its own proxy**: a request taken from the queue loses the proxy another
  worker's environment gave it (a retry carries it), so that this worker applies its own.
- Stats without the ``spider`` argument Scrapy 2.19 deprecates; a clear one-line error
  and exit status 1 when Redis is unreachable at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.misc import load_object
from scrapy_redis.dupefilter import RFPDupeFilter  # type: ignore[import-untyped]
from scrapy_redis.scheduler import Scheduler as RedisScheduler  # type: ignore[import-untyped]

from ..integration import stats
from ..integration.startup import report_start_error
from . import FROM_QUEUE_META_KEY, LOCAL_META_KEY
from .config import DistributedSettings, scrapy_redis_settings
from .connection import RedisGuard, RedisUnreachable, check_reachable, client, describe
from .termination import IdleCheck, Run, SharedCrawl, Verdict

if TYPE_CHECKING:
    from redis import Redis
    from scrapy import Request, Spider
    from scrapy.core.engine import ExecutionEngine
    from scrapy.crawler import Crawler

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
        #: Requests yielded while Redis was away, and whether the dupe filter has them.
        self._unsent: deque[tuple[Request, bool]] = deque()
        #: Start requests of a worker that joined a run it does not seed.
        self._held: list[Request] = []
        self._busy = False
        self._over = False
        #: ``SCHEDULER_FLUSH_ON_START`` applied: the shared watch starts afresh too.
        self.started_afresh = False
        self._tending: asyncio.Task[None] | None = None
        self._warned_unserialisable = False

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

    def open(self, spider: Spider) -> None:
        # scrapy-redis's open() without its Spider.log() call (deprecated in Scrapy 2.19),
        # and without flushing the queue under the other workers.
        self.spider = spider
        try:
            self.queue = load_object(self.queue_cls)(
                server=self.server,
                spider=spider,
                key=self.queue_key % {"spider": spider.name},
                serializer=self.serializer,
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
        self.started_afresh = self.flush_on_start and self.may_flush()
        if self.started_afresh:
            logger.info("SCHEDULER_FLUSH_ON_START: the shared crawl starts afresh")
            self.flush()
        elif queued := len(self.queue):
            logger.info("The shared queue holds %d requests: this worker takes its share", queued)
        self.shared.heartbeat()
        logger.info(
            "Worker %s shares the crawl through Redis at %s (queue %s)",
            self.config.worker_id,
            describe(self.server),
            self.queue.key,
        )
        try:
            self._tending = asyncio.get_running_loop().create_task(self._tend())
        except RuntimeError:  # no asyncio loop: Scrapy's 5 s heartbeat only
            logger.warning("No asyncio event loop: idle workers look at the queue every 5 s")

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

    # -- the engine's interface --------------------------------------------------------

    def enqueue_request(self, request: Request) -> bool:
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
        if self._unsent or not self._guard.available:
            self._unsent.append((request, False))
            self._count(stats.REDIS_KEPT_DURING_OUTAGE)
            return True
        return self._push(request)

    def next_request(self) -> Request | None:
        if self._local:
            return self._local.popleft()
        if self._unsent:
            self._send_unsent()
        guard = self._guard
        if not guard.available:
            return None
        if not self._busy:
            # Flagged before the pop: a request taken always counts as work in progress.
            if not guard.call("marking this worker busy", self._shared.mark_busy, False):
                return None
            self._busy = True
        for _ in range(_MAX_DROPPED_PER_CALL):
            try:
                request = self.queue.pop()
            except RedisError as exc:
                guard.failed("taking a request", exc)
                return None
            except Exception as exc:  # the entry is gone from the queue: drop it
                guard.succeeded()
                self._count(stats.REDIS_UNDECODABLE)
                logger.warning(
                    "Dropped a request from the shared queue that cannot be read: %r", exc
                )
                continue
            guard.succeeded()
            if request is not None:
                request.meta[FROM_QUEUE_META_KEY] = True
                forget_environment_proxy(request)
                self._count(stats.REDIS_DEQUEUED)
            return request
        return None

    def has_pending_requests(self) -> bool:
        if self._local or self._unsent:
            return True
        # While Redis is away, nobody can tell: stay open.
        return self._guard.call("reading the queue length", lambda: len(self.queue) > 0, True)

    def close(self, reason: str) -> None:
        if self._tending is not None:
            self._tending.cancel()
        if self._unsent:
            self._send_unsent()
        if self._unsent:
            logger.warning(
                "Closing with %d requests yielded while Redis was away: they are lost",
                len(self._unsent),
            )
        if self._local:
            logger.info("Closing with %d worker-local requests not sent", len(self._local))
        if self.shared is None:
            return
        # Never scrapy-redis's flush here: the other workers still need the queue.
        try:
            if self._over and reason == "finished":
                delete = [self.queue.key] if self.persist else [self.queue.key, self.df.key]
                if self.shared.finish(self.run, delete):
                    logger.info("The shared crawl is over: its queue and dupe filter are cleared")
            else:
                self.shared.leave()
        except RedisError as exc:
            logger.warning("Could not tell Redis that this worker leaves: %s", exc)

    # -- seeding and termination -------------------------------------------------------

    def _seeds(self) -> bool:
        """Whether this worker queues its start requests (else they are held or dropped)."""
        if self.run is None and not self._join():
            return False
        assert self.run is not None
        return self.run.seeder == self.config.worker_id

    def _join(self) -> bool:
        run = self._guard.call("joining the shared crawl", self._shared.join, None)
        if run is None:
            return False
        self.run = run
        if run.seeder == self.config.worker_id:
            logger.info("This worker seeds the shared crawl (run %s)", run.id)
            self._queue_held()  # yielded while Redis was away, if any
        else:
            logger.info(
                "Joined the shared crawl (run %s) seeded by worker %s: its start requests "
                "are left to that worker",
                run.id,
                run.seeder,
            )
        return True

    def _on_spider_idle(self) -> None:
        """This worker has nothing in progress: is the shared crawl over?"""
        if self._over:
            return
        if self.run is None and not self._join():
            raise DontCloseSpider
        assert self.run is not None
        run = self.run
        queue_key = self.queue.key
        check: IdleCheck | None = self._guard.call(
            "checking whether the crawl is over",
            lambda: self._shared.idle(run, queue_key),
            None,
        )
        if check is None:
            raise DontCloseSpider
        self._busy = False
        for worker in check.lost_workers:
            self._count(stats.REDIS_WORKERS_LOST)
            logger.warning(
                "Worker %s gave no sign of life for %g s while it had requests in progress: "
                "taken as gone, those requests are lost",
                worker,
                self.config.worker_timeout,
            )
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

    # -- the queue ---------------------------------------------------------------------

    def _push(self, request: Request, seen: bool = False, kept: bool = False) -> bool:
        """Queue *request* (after the dupe filter unless *seen*); False if filtered out.

        If Redis fails, the request is kept (first in line) for when it is back; *kept*:
        it was kept already.
        """
        try:
            if not seen and not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            seen = True
            self.queue.push(request)
        except RedisError as exc:
            self._guard.failed("queueing a request", exc)
            if not kept:
                self._count(stats.REDIS_KEPT_DURING_OUTAGE)
            self._unsent.appendleft((request, seen))
            return True
        except Exception as exc:  # not serialisable: this worker sends it itself
            self._keep_local(request, exc)
            return True
        self._guard.succeeded()
        self._count(stats.REDIS_ENQUEUED)
        return True

    def _send_unsent(self) -> None:
        """Queue what was yielded while Redis was away, in order, until it fails again."""
        while self._unsent and self._guard.available:
            request, seen = self._unsent.popleft()
            self._push(request, seen, kept=True)

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

    # -- upkeep ------------------------------------------------------------------------

    async def _tend(self) -> None:
        """Signs of life, requests kept during an outage, and an idle engine woken up."""
        beat_every = self.config.worker_timeout / 3
        next_beat = time.monotonic() + beat_every
        while True:
            await asyncio.sleep(self.config.idle_poll)
            if time.monotonic() >= next_beat and self._guard.available:
                self._guard.call("signalling this worker alive", self._shared.heartbeat, None)
                next_beat = time.monotonic() + beat_every
            if self._unsent:
                self._send_unsent()
            if self.crawler is not None and self.crawler.engine is not None:
                wake(self.crawler.engine)

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


def forget_environment_proxy(request: Request) -> None:
    """Drop the proxy another worker's environment gave *request* (a retry, say).

    Scrapy's ``HttpProxyMiddleware`` marks a proxy it took from the environment
    (``kwiff_proxy``, ``wss_proxy``...) with ``_scheme_proxy``; each worker has its own,
    and applies it again. A proxy the spider itself set is kept.
    """
    if request.meta.pop("_scheme_proxy", False):
        request.meta.pop("proxy", None)
        if request.meta.pop("_auth_proxy", None) is not None:
            request.headers.pop(b"Proxy-Authorization", None)


def wake(engine: ExecutionEngine) -> None:
    """Have the engine ask the scheduler for requests now, not at its next 5 s heartbeat.

    Scrapy has no public call for this: it schedules the engine's own ``nextcall``
    (what every finished download does). Without it, nothing is lost: an idle worker
    only takes shared requests at Scrapy's heartbeat.
    """
    slot = getattr(engine, "_slot", None)
    nextcall = getattr(slot, "nextcall", None)
    if nextcall is not None:
        with contextlib.suppress(Exception):
            nextcall.schedule()
