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
  retries, concurrency limits, delays and stats apply; the ``event:get`` commands in
  groups of ``group``, each group one request), waits until every one of them is
  answered or has failed, then waits for the next poll.
- :class:`SharedWatch` (several workers, with ``SCHEDULER =
  "kwiff_scrapy.distributed.Scheduler"``): each poll of the list or of one event is a
  task in Redis, claimed with a lease by one worker per interval
  (:mod:`kwiff_scrapy.distributed.polls`); the last-seen prices are in Redis and each
  answer is compared and written with one compare-and-set
  (:mod:`kwiff_scrapy.distributed.state`), so each change is yielded by one worker.

An unfinished ``start()`` keeps the spider open until Scrapy stops it
(``CLOSESPIDER_*``, Ctrl-C, SIGTERM).
"""

from .local import POLL_META_KEY, STATE_KEY, LocalWatch, WatchState
from .shared import (
    CLAIM_META_KEY,
    EVENT_TASK_PREFIX,
    LIST_TASK,
    SharedWatch,
    event_task,
    watch_name,
)
from .spider import (
    PUSHED_META_KEY,
    PUSHED_URL,
    SIGNALS_STATE_KEY,
    KwiffWatchSpider,
    Watch,
    poll_group,
    poll_interval,
)

__all__ = [
    "CLAIM_META_KEY",
    "EVENT_TASK_PREFIX",
    "LIST_TASK",
    "POLL_META_KEY",
    "PUSHED_META_KEY",
    "PUSHED_URL",
    "SIGNALS_STATE_KEY",
    "STATE_KEY",
    "KwiffWatchSpider",
    "LocalWatch",
    "SharedWatch",
    "Watch",
    "WatchState",
    "event_task",
    "poll_group",
    "poll_interval",
    "watch_name",
]
