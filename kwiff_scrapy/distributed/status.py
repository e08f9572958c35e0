"""What is in Redis about shared crawls and watches, read for ``scrapy kwiff status``.

Read-only: it finds every shared crawl under a key pattern (``KWIFF_REDIS_KEY`` with
``*`` for the spider), and for each one its live workers (their signs of life, see
:mod:`.termination`), its queue, its run, and its watches with each task's last poll,
next due time and lease (:mod:`.polls`, :mod:`.state`). :meth:`Status.problems` says
what a monitor should act on: a watch late by more than two intervals, or with no
worker. Times are Redis's, as the workers'.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from .connection import redis_text

if TYPE_CHECKING:
    from redis import Redis

#: A watch is late when a poll is overdue by more than this many intervals.
LATE_INTERVALS = 2.0

_WORKER = ":worker:"
_WATCH = ":watch:"


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    id: str
    host: str | None = None
    pid: int | None = None
    spider: str | None = None
    watch: str | None = None
    seen: float | None = None
    """Its last sign of life (Redis time)."""
    started: float | None = None
    claimed: int | None = None
    """Polls of a shared watch it has claimed since it started."""
    in_progress: int | None = None
    """Commands it has sent and not had answered, at its last sign of life."""
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class TaskStatus:
    task: str
    last_poll: float | None = None
    last_failed: bool = False
    next_due: float | None = None
    """When it is due (None while a worker holds it)."""
    leased_by: str | None = None
    lease_until: float | None = None
    late_by: float = 0.0
    """Seconds it is overdue: past its due time, or past a lease that ran out."""


@dataclass(frozen=True, slots=True)
class WatchStatus:
    key: str
    interval: float | None
    tasks: list[TaskStatus]
    workers: list[str]
    """The live workers that say they run this watch."""

    @property
    def late_by(self) -> float:
        return max((task.late_by for task in self.tasks), default=0.0)

    @property
    def late_tasks(self) -> int:
        return sum(1 for task in self.tasks if task.late_by > 0)

    @property
    def leased_tasks(self) -> int:
        return sum(1 for task in self.tasks if task.leased_by is not None)

    def problems(self) -> list[str]:
        found = []
        if not self.workers:
            found.append(f"watch {self.key} has no worker")
        interval = self.interval or 0.0
        if interval and self.late_by > LATE_INTERVALS * interval:
            found.append(
                f"watch {self.key} is late by {self.late_by:.1f} s "
                f"(more than {LATE_INTERVALS:g} intervals of {interval:g} s)"
            )
        return found


@dataclass(frozen=True, slots=True)
class CrawlStatus:
    """The keys under one prefix (a spider's, with ``KWIFF_REDIS_KEY``'s default)."""

    prefix: str
    workers: list[WorkerStatus]
    queue_key: str
    queue_length: int
    run_id: str | None = None
    seeder: str | None = None
    seeded: bool = False
    busy: list[str] = field(default_factory=list)
    watches: list[WatchStatus] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Status:
    redis: str
    now: float
    crawls: list[CrawlStatus]

    def problems(self) -> list[str]:
        return [problem for crawl in self.crawls for w in crawl.watches for problem in w.problems()]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for crawl, crawl_data in zip(self.crawls, data["crawls"], strict=True):
            for watch, watch_data in zip(crawl.watches, crawl_data["watches"], strict=True):
                watch_data |= {
                    "late_by": watch.late_by,
                    "late_tasks": watch.late_tasks,
                    "leased_tasks": watch.leased_tasks,
                    "problems": watch.problems(),
                }
        data["problems"] = self.problems()
        return data


def read_status(server: Redis, pattern: str, described: str) -> Status:
    """Every shared crawl and watch whose prefix matches *pattern* (a glob)."""
    seconds, micros = server.time()
    now = seconds + micros / 1_000_000
    prefixes: dict[str, set[str]] = {}  # prefix -> its watches' keys
    for key in _scan(server, f"{pattern}{_WORKER}*"):
        prefixes.setdefault(key.split(_WORKER, 1)[0], set())
    for key in _scan(server, f"{pattern}{_WATCH}*:config"):
        watch = key.removesuffix(":config")
        prefixes.setdefault(watch.split(_WATCH, 1)[0], set()).add(watch)
    for key in _scan(server, f"{pattern}:run"):
        if redis_text(server.type(key)) == "hash" and server.hexists(key, "seeder"):
            prefixes.setdefault(key.removesuffix(":run"), set())
    crawls = [
        _crawl(server, prefix, sorted(watches), now) for prefix, watches in sorted(prefixes.items())
    ]
    return Status(described, now, crawls)


def _crawl(server: Redis, prefix: str, watch_keys: list[str], now: float) -> CrawlStatus:
    found = (
        _worker(server, key, key.split(_WORKER, 1)[1])
        for key in sorted(_scan(server, f"{_glob_escape(prefix)}{_WORKER}*"))
    )
    workers = [worker for worker in found if worker is not None]
    queue_key = next((w.queue for w in workers if w.queue), None) or f"{prefix}:requests"
    run = {redis_text(k): redis_text(v) for k, v in server.hgetall(f"{prefix}:run").items()}
    busy = sorted(redis_text(worker) for worker in server.hkeys(f"{prefix}:busy"))
    watches = [_watch(server, key, workers, now) for key in watch_keys]
    return CrawlStatus(
        prefix=prefix,
        workers=workers,
        queue_key=queue_key,
        queue_length=_length(server, queue_key),
        run_id=run.get("id"),
        seeder=run.get("seeder"),
        seeded=run.get("seeded") == "1",
        busy=busy,
        watches=watches,
    )


def _worker(server: Redis, key: str, worker_id: str) -> WorkerStatus | None:
    try:
        fields = {redis_text(k): redis_text(v) for k, v in server.hgetall(key).items()}
    except ResponseError:  # a sign of life without details (a plain string)
        return WorkerStatus(worker_id) if server.exists(key) else None
    if not fields:
        return None  # gone since it was listed
    return WorkerStatus(
        id=worker_id,
        host=fields.get("host"),
        pid=_number(fields.get("pid"), int),
        spider=fields.get("spider"),
        watch=fields.get("watch"),
        seen=_number(fields.get("seen"), float),
        started=_number(fields.get("started"), float),
        claimed=_number(fields.get("claimed"), int),
        in_progress=_number(fields.get("in_progress"), int),
        queue=fields.get("queue"),
    )


def _watch(server: Redis, key: str, workers: list[WorkerStatus], now: float) -> WatchStatus:
    with server.pipeline(transaction=True) as pipe:  # one consistent read
        pipe.hget(f"{key}:config", "interval")
        pipe.zrange(f"{key}:due", 0, -1, withscores=True)
        pipe.zrange(f"{key}:leases", 0, -1, withscores=True)
        pipe.hgetall(f"{key}:holders")
        pipe.hgetall(f"{key}:polled")
        interval_raw, due, leases, holders, polled = pipe.execute()
    interval = _number(redis_text(interval_raw) if interval_raw is not None else None, float)
    holder_of = {
        redis_text(task): redis_text(token).rpartition("#")[0] for task, token in holders.items()
    }
    last = {redis_text(task): redis_text(value) for task, value in polled.items()}
    tasks = []
    for raw, when in due:
        task = redis_text(raw)
        tasks.append(_task(task, last.get(task), next_due=when, late_by=max(0.0, now - when)))
    for raw, until in leases:
        task = redis_text(raw)
        tasks.append(
            _task(
                task,
                last.get(task),
                leased_by=holder_of.get(task),
                lease_until=until,
                late_by=max(0.0, now - until),
            )
        )
    tasks.sort(key=lambda task: (task.task != "list", task.task))
    mine = sorted(worker.id for worker in workers if worker.watch == key)
    return WatchStatus(key, interval, tasks, mine)


def _task(task: str, polled: str | None, **known: Any) -> TaskStatus:
    when, _, failed = (polled or "").partition(":")
    return TaskStatus(task, _number(when, float), failed == "1", **known)


def _length(server: Redis, key: str) -> int:
    kind = redis_text(server.type(key))
    if kind == "zset":
        return int(server.zcard(key))
    if kind == "list":
        return int(server.llen(key))
    return 0


def _scan(server: Redis, match: str) -> set[str]:
    return {redis_text(key) for key in server.scan_iter(match=match, count=1000)}


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def _number(text: str | None, kind: type[int] | type[float]) -> Any:
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
