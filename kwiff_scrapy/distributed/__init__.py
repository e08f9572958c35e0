"""Several workers (processes, machines) sharing crawls and watches through Redis.

Built on scrapy-redis (the ``redis`` extra: ``pip install 'kwiff-scrapy[redis]'``)::

    SCHEDULER = "kwiff_scrapy.distributed.Scheduler"
    REDIS_URL = "redis://127.0.0.1:6379/0"

- :mod:`.scheduler`: scrapy-redis's scheduler, adapted to Scrapy 2.19 and to several
  workers (one seeds, all share the queue and the dupe filter, all end together);
- :mod:`.termination`: when a shared crawl is over;
- :mod:`.polls`: recurring timed polls claimed with leases (the shared watch's clock);
- :mod:`.state`: the shared watch's last-seen snapshots, changed by compare-and-set;
- :mod:`.connection`: the one Redis client, and outages met with backoff;
- :mod:`.config`: the settings, read once;
- :mod:`.signing`: the shared queue's entries signed with ``KWIFF_REDIS_SECRET``;
- :mod:`.privates`: the private names of Scrapy this package relies on.

Importing this package does not import redis or scrapy-redis; ``Scheduler`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from .scheduler import Scheduler

#: Meta key of a request that stays with the worker that made it (never in the shared queue).
LOCAL_META_KEY = "kwiff_local"
#: Meta key set on a request taken from the shared queue (and kept by its retries): a start
#: request another worker queued is never held back as this worker's own.
FROM_QUEUE_META_KEY = "kwiff_from_queue"

__all__ = ["FROM_QUEUE_META_KEY", "LOCAL_META_KEY", "Scheduler", "shared_scheduler"]


def shared_scheduler(crawler: Crawler) -> Scheduler | None:
    """The crawl's scheduler if it is the shared one (``SCHEDULER`` set to it), else None."""
    engine = crawler.engine
    scheduler = engine.scheduler if engine is not None else None
    if scheduler is None:
        return None
    try:
        from .scheduler import Scheduler  # the redis extra
    except ImportError:  # not installed: cannot be the scheduler in use
        return None
    return scheduler if isinstance(scheduler, Scheduler) else None


def __getattr__(name: str) -> Any:
    if name == "Scheduler":  # SCHEDULER = "kwiff_scrapy.distributed.Scheduler"
        from .scheduler import Scheduler

        return Scheduler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
