"""The one Redis client of a crawler, and Redis outages met with backoff, not with a crash.

The client is built by scrapy-redis from the usual settings (``REDIS_URL``,
``REDIS_HOST``/``REDIS_PORT``, ``REDIS_PARAMS``...; see
:func:`~kwiff_scrapy.distributed.config.scrapy_redis_settings`), once per crawler: the
scheduler and the shared watch use the same one.

Every call the scheduler and the watch make goes through a :class:`RedisGuard`, which
runs it in a thread of its own (:meth:`RedisGuard.run`): the event loop never waits for
Redis, so a Redis that stops answering stalls no WebSocket session. A call that fails
with a Redis error (connection refused or lost, timeout) is logged and counted, and
makes the guard wait before the next try: 0.5 s, doubling up to 10 s
(``KWIFF_REDIS_RETRY_*``). While it waits, calls return their fallback at once; the
first call that succeeds again ends the outage. The calls run one at a time, in the
order they are made.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import RedisError

from ..integration import stats
from .config import DistributedSettings, scrapy_redis_settings

if TYPE_CHECKING:
    from redis import Redis
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

T = TypeVar("T")


class RedisUnreachable(ConnectionError):
    """Redis did not answer when the crawl started."""


def client(crawler: Crawler) -> Redis:
    """The crawler's Redis client, built on first use from its settings."""
    server = _CLIENTS.get(crawler)
    if server is None:
        from scrapy_redis.connection import (  # type: ignore[import-untyped]
            get_redis_from_settings,
        )

        effective = scrapy_redis_settings(crawler.settings, DistributedSettings.of(crawler))
        server = _CLIENTS[crawler] = get_redis_from_settings(effective)
    return server


def use_client(crawler: Crawler, server: Redis) -> None:
    """Make *server* the crawler's client (the scheduler's, built by scrapy-redis)."""
    _CLIENTS[crawler] = server


def describe(server: Redis) -> str:
    """``redis://host:port/db`` of a client, without its password (for messages)."""
    kwargs = server.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    host, port = kwargs.get("host", "localhost"), kwargs.get("port", 6379)
    return f"redis://{host}:{port}/{kwargs.get('db', 0)}"


def check_reachable(server: Redis) -> None:
    """PING *server*; raise :class:`RedisUnreachable` with one clear sentence if it fails."""
    try:
        server.ping()
    except RedisError as exc:
        raise RedisUnreachable(
            f"Redis at {describe(server)} is unreachable ({exc}): start it, or check "
            f"REDIS_URL (or REDIS_HOST/REDIS_PORT)"
        ) from None


class RedisGuard:
    """Runs Redis calls for one worker: errors become a logged outage and a backoff.

    :meth:`run` (off the event loop) and :meth:`call` (on the caller's thread: only
    before the crawl starts and after it ends) return the call's result, or *fallback*
    if Redis failed now or is in its backoff wait. ``available`` says whether a call
    would be tried now.
    """

    def __init__(
        self,
        crawler: Crawler,
        config: DistributedSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._crawler = crawler
        self._backoff = config.backoff
        self._clock = clock
        self._failures = 0
        self._retry_at = 0.0
        self._outage_started = 0.0
        self._outage_ended: float | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kwiff-redis")
        self._shut_down = False

    @property
    def failing(self) -> bool:
        """True from a failed call until the next successful one."""
        return self._failures > 0

    def outage_within(self, seconds: float) -> bool:
        """True if Redis is unreachable now or was within the last *seconds*."""
        if self.failing:
            return True
        ended = self._outage_ended
        return ended is not None and self._clock() - ended <= seconds

    @property
    def available(self) -> bool:
        """False while waiting before the next try."""
        return self._clock() >= self._retry_at

    def call(self, what: str, action: Callable[[], T], fallback: T) -> T:
        """``action()``, or *fallback* if Redis fails or is in its backoff wait."""
        if not self.available:
            return fallback
        try:
            result = action()
        except RedisError as exc:
            self.failed(what, exc)
            return fallback
        self.succeeded()
        return result

    async def run(self, what: str, action: Callable[[], T], fallback: T) -> T:
        """``action()`` in the Redis thread, or *fallback* if Redis fails or is waited for
        (or the worker has closed)."""
        if not self.available or self._shut_down:
            return fallback
        try:
            result = await self.off_loop(action)
        except RedisError as exc:
            self.failed(what, exc)
            return fallback
        self.succeeded()
        return result

    async def off_loop(self, action: Callable[[], T]) -> T:
        """``action()`` in the Redis thread, its errors raised (the caller handles them)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, action)

    def shut_down(self) -> None:
        """No more calls: the thread ends once the call in progress, if any, returns."""
        self._shut_down = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    def failed(self, what: str, error: BaseException) -> None:
        """Count a failure of *what* and set the wait before the next try."""
        self._failures += 1
        delay = self._backoff.delay(self._failures)
        self._retry_at = self._clock() + delay
        stats.increment(self._crawler, stats.REDIS_ERRORS)
        if self._failures == 1:
            self._outage_started = self._clock()
            stats.increment(self._crawler, stats.REDIS_OUTAGES)
            logger.warning(
                "Redis is unreachable (%s: %s): this worker goes on with what it has and "
                "retries in %.1f s, then with growing delays",
                what,
                error,
                delay,
            )
        else:
            logger.info("Redis still unreachable (%s: %s): next try in %.1f s", what, error, delay)

    def succeeded(self) -> None:
        if self._failures:
            logger.warning(
                "Redis is reachable again after %.1f s and %d failed tries: resuming",
                self._clock() - self._outage_started,
                self._failures,
            )
            stats.increment(self._crawler, stats.REDIS_RECOVERIES)
            self._outage_ended = self._clock()
        self._failures = 0
        self._retry_at = 0.0


_CLIENTS: weakref.WeakKeyDictionary[Crawler, Any] = weakref.WeakKeyDictionary()


def redis_text(value: bytes | str | None) -> str:
    """A value read from Redis as text: the client returns bytes (scrapy-redis does not
    ask it to decode), a test's client may return str; None (no such key) is ""."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)
