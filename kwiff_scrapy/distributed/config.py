"""The settings of several workers sharing a crawl or a watch through Redis, read once.

The Redis settings are scrapy-redis's own (``REDIS_URL``, ``REDIS_PARAMS``,
``SCHEDULER_QUEUE_KEY``, ``SCHEDULER_PERSIST``...); what kwiff_scrapy adds is named
``KWIFF_REDIS_*`` / ``KWIFF_WORKER_*`` / ``KWIFF_WATCH_LEASE``. :class:`DistributedSettings`
reads them all once per crawler, like :class:`~kwiff_scrapy.integration.config.KwiffSettings`.
"""

from __future__ import annotations

import math
import os
import secrets
import socket
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import defaults
from ..connection.pool import Backoff

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

#: Scrapy's own dupe filter: per process, so a shared crawl replaces it with scrapy-redis's.
SCRAPY_DUPEFILTER = "scrapy.dupefilters.RFPDupeFilter"
REDIS_DUPEFILTER = "scrapy_redis.dupefilter.RFPDupeFilter"


_DEFAULT_BACKOFF = Backoff(defaults.REDIS_RETRY_DELAY, defaults.REDIS_RETRY_MAX_DELAY)


@dataclass(frozen=True, slots=True)
class DistributedSettings:
    """What the shared scheduler and the shared watch read from Scrapy settings, validated."""

    key_template: str = defaults.REDIS_KEY
    """``KWIFF_REDIS_KEY``: prefix of every key; ``%(spider)s`` is the spider's name."""
    worker_id: str = ""
    """``KWIFF_WORKER_ID``: this worker's name in Redis and in logs (default host:pid:random)."""
    worker_timeout: float = defaults.REDIS_WORKER_TIMEOUT
    idle_poll: float = defaults.REDIS_IDLE_POLL
    backoff: Backoff = _DEFAULT_BACKOFF
    watch_lease: float | None = None
    """``KWIFF_WATCH_LEASE``: seconds a claimed poll is held (None: the watch's interval)."""
    persist: bool = False
    """``SCHEDULER_PERSIST``: keep the dupe filter when a shared crawl ends."""
    flush_on_start: bool = False
    """``SCHEDULER_FLUSH_ON_START``: start the shared crawl or watch afresh."""
    redis_timeout: float = defaults.REDIS_TIMEOUT
    """``KWIFF_REDIS_TIMEOUT``: the client's socket timeouts unless ``REDIS_PARAMS`` has them."""
    secret: str = field(default="", repr=False)
    """``KWIFF_REDIS_SECRET``: signs the shared queue's entries (empty: unsigned)."""

    def key(self, spider_name: str) -> str:
        """The key prefix for *spider_name*."""
        return self.key_template % {"spider": spider_name}

    def lease(self, interval: float) -> float:
        """Seconds a claimed poll of a watch polling every *interval* seconds is held."""
        if self.watch_lease is not None:
            return self.watch_lease
        return max(interval, defaults.MIN_WATCH_LEASE)

    @classmethod
    def of(cls, crawler: Crawler) -> DistributedSettings:
        """The crawler's settings, parsed on first use and kept for the crawl."""
        parsed = _PARSED.get(crawler)
        if parsed is None:
            parsed = _PARSED[crawler] = cls.from_settings(crawler.settings)
        return parsed

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> DistributedSettings:
        """Read and validate; a bad value raises ``ValueError`` naming the setting."""
        template = settings.get("KWIFF_REDIS_KEY") or defaults.REDIS_KEY
        try:
            template % {"spider": "spider"}
        except (KeyError, ValueError, TypeError):
            raise ValueError(
                f"KWIFF_REDIS_KEY must be a key prefix such as 'kwiff:%(spider)s', not {template!r}"
            ) from None
        retry_delay = _seconds(settings, "KWIFF_REDIS_RETRY_DELAY", defaults.REDIS_RETRY_DELAY)
        retry_max = _seconds(
            settings, "KWIFF_REDIS_RETRY_MAX_DELAY", defaults.REDIS_RETRY_MAX_DELAY
        )
        if retry_max < retry_delay:
            raise ValueError("KWIFF_REDIS_RETRY_MAX_DELAY must be at least KWIFF_REDIS_RETRY_DELAY")
        lease = settings.get("KWIFF_WATCH_LEASE")
        return cls(
            key_template=template,
            worker_id=str(settings.get("KWIFF_WORKER_ID") or "") or default_worker_id(),
            worker_timeout=_seconds(
                settings, "KWIFF_REDIS_WORKER_TIMEOUT", defaults.REDIS_WORKER_TIMEOUT
            ),
            idle_poll=_seconds(settings, "KWIFF_REDIS_IDLE_POLL", defaults.REDIS_IDLE_POLL),
            backoff=Backoff(retry_delay, retry_max),
            watch_lease=(
                None
                if lease in (None, "")
                else _seconds(settings, "KWIFF_WATCH_LEASE", defaults.MIN_WATCH_LEASE)
            ),
            persist=settings.getbool("SCHEDULER_PERSIST"),
            flush_on_start=settings.getbool("SCHEDULER_FLUSH_ON_START"),
            redis_timeout=_seconds(settings, "KWIFF_REDIS_TIMEOUT", defaults.REDIS_TIMEOUT),
            secret=str(settings.get("KWIFF_REDIS_SECRET") or ""),
        )


def scrapy_redis_settings(settings: BaseSettings, config: DistributedSettings) -> BaseSettings:
    """*settings* as scrapy-redis's scheduler should read them in a shared Kwiff crawl.

    - the queue and dupe-filter keys default to ``<KWIFF_REDIS_KEY>:requests`` and
      ``<KWIFF_REDIS_KEY>:dupefilter`` (scrapy-redis's own defaults when the prefix is
      ``%(spider)s``), so one setting moves every key of a crawl;
    - ``DUPEFILTER_CLASS`` left at Scrapy's per-process filter becomes scrapy-redis's;
    - the client fails fast and does not retry by itself (redis-py 6+ retries a failed
      call for seconds, and scrapy-redis waits 30 s to connect): the scheduler is called
      on the event loop, and retries with backoff without blocking it.
      ``REDIS_PARAMS`` still overrides each of these.
    """
    from redis.backoff import NoBackoff  # the redis extra: imported when used
    from redis.retry import Retry

    copy = settings.copy()
    copy.frozen = False  # a crawler's settings are frozen; this is a private copy
    prefix = config.key_template
    if not settings.get("SCHEDULER_QUEUE_KEY"):
        copy.set("SCHEDULER_QUEUE_KEY", f"{prefix}:requests")
    if not settings.get("SCHEDULER_DUPEFILTER_KEY"):
        copy.set("SCHEDULER_DUPEFILTER_KEY", f"{prefix}:dupefilter")
    if settings.get("DUPEFILTER_CLASS") in (None, "", SCRAPY_DUPEFILTER):
        copy.set("DUPEFILTER_CLASS", REDIS_DUPEFILTER)
    params: dict[str, Any] = {
        "socket_timeout": config.redis_timeout,
        "socket_connect_timeout": config.redis_timeout,
        "retry": Retry(NoBackoff(), 0),
        **settings.getdict("REDIS_PARAMS"),
    }
    copy.set("REDIS_PARAMS", params)
    return copy


def default_worker_id() -> str:
    """``host:pid:random``: unique among workers, and readable in logs and in Redis."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


#: Each crawler's settings, parsed once (settings are frozen once a crawl starts).
_PARSED: weakref.WeakKeyDictionary[Crawler, DistributedSettings] = weakref.WeakKeyDictionary()


def _seconds(settings: BaseSettings, name: str, default: float) -> float:
    value = settings.get(name)
    if value is None or value == "":
        return default
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds
