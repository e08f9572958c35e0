"""``scrapy kwiff status``: the workers, queues and watches shared through Redis.

::

    scrapy kwiff status                        # every shared crawl and watch
    scrapy kwiff status --spider kwiff_watch   # one spider's
    scrapy kwiff status --json                 # the same, for a program

It reads Redis (``REDIS_URL``, or ``--redis URL``; keys under ``KWIFF_REDIS_KEY``) and
never writes to it (:mod:`kwiff_scrapy.distributed.status`). For each shared crawl: the
workers alive (id, host, pid, last sign of life, polls claimed, commands in progress),
the queue's length and the run; for each shared watch: each task's last poll, next due
time or lease, and how late it is. Exit status 1 when a watch is late by more than two
intervals or has no worker (each problem on standard error), or Redis cannot be read;
0 otherwise, so that cron or a monitor can act on it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from scrapy.exceptions import UsageError

from ..distributed.config import DistributedSettings
from .output import echo, stop_writing_to_stdout
from .preview import format_table
from .subcommand import Subcommand

if TYPE_CHECKING:
    import argparse

    from redis import Redis
    from scrapy.settings import BaseSettings

    from ..distributed.status import CrawlStatus, Status, TaskStatus, WatchStatus

STATUS: Final = "status"
DESCRIPTION: Final = "the workers, queues and watches shared through Redis, and what is late"
SYNTAX: Final = f"{STATUS} [--spider NAME] [--redis URL] [--json]"
HELP: Final = (
    f"{STATUS} reads Redis (REDIS_URL, or --redis) and shows each shared crawl's live "
    "workers, queue and run, and each shared watch's polls: last poll, next due time, "
    "leases, lateness. Exit status 1 when a watch is late by more than two intervals or "
    "has no worker."
)
#: Tasks of one watch listed in the text output (the latest first); --json lists all.
MAX_TASKS_SHOWN: Final = 20


@dataclass(frozen=True, slots=True)
class StatusPlan:
    settings: BaseSettings
    pattern: str
    as_json: bool


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(title=f"{STATUS} options")
    group.add_argument(
        "--spider",
        metavar="NAME",
        default=None,
        help="only this spider's shared crawl and watches (default: every one)",
    )
    group.add_argument(
        "--redis", metavar="URL", default=None, help="Redis to read (default: REDIS_URL)"
    )
    group.add_argument("--json", action="store_true", help="print the status as JSON")


def options_given(opts: argparse.Namespace) -> list[str]:
    given = {
        "--spider": opts.spider is not None,
        "--redis": opts.redis is not None,
        "--json": bool(opts.json),
    }
    return [name for name, present in given.items() if present]


def plan_status(opts: argparse.Namespace, settings: BaseSettings) -> StatusPlan:
    if opts.redis is not None:
        settings = settings.copy()
        settings.set("REDIS_URL", opts.redis, "cmdline")
    try:
        config = DistributedSettings.from_settings(settings)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    spider = opts.spider if opts.spider is not None else "*"
    return StatusPlan(settings, config.key(spider), bool(opts.json))


def run(plan: StatusPlan) -> int:
    try:
        from redis.exceptions import RedisError
    except ImportError as exc:
        echo(
            f"scrapy kwiff {STATUS} needs redis ({exc}): pip install 'kwiff-scrapy[redis]'",
            sys.stderr,
        )
        return 1
    from ..distributed.connection import describe
    from ..distributed.status import read_status

    try:
        server = _client(plan.settings)
        status = read_status(server, plan.pattern, describe(server))
    except RedisError as exc:
        echo(f"Cannot read Redis: {exc} (start it, or check REDIS_URL or --redis)", sys.stderr)
        return 1
    try:
        if plan.as_json:
            echo(json.dumps(status.as_dict(), indent=2), sys.stdout)
        else:
            echo(format_status(status), sys.stdout)
    except BrokenPipeError:
        stop_writing_to_stdout()
    for problem in status.problems():
        echo(f"PROBLEM: {problem}", sys.stderr)
    return 1 if status.problems() else 0


def _client(settings: BaseSettings) -> Redis:
    from scrapy_redis.connection import get_redis_from_settings  # type: ignore[import-untyped]

    from ..distributed.config import scrapy_redis_settings

    return get_redis_from_settings(
        scrapy_redis_settings(settings, DistributedSettings.from_settings(settings))
    )


# -- the text ----------------------------------------------------------------------------


def format_status(status: Status) -> str:
    lines = [f"Redis {status.redis}, {_clock(status.now)} UTC"]
    if not status.crawls:
        lines.append("No shared crawl or watch found.")
    for crawl in status.crawls:
        lines += ["", *_crawl_lines(crawl, status.now)]
    return "\n".join(lines)


def _crawl_lines(crawl: CrawlStatus, now: float) -> list[str]:
    run = ""
    if crawl.run_id and not crawl.watches:  # a watch's run is never seeded nor over
        state = "seeded" if crawl.seeded else "being seeded"
        run = f", run {crawl.run_id[:8]} {state} by {crawl.seeder}"
    lines = [
        f"{crawl.prefix}: {len(crawl.workers)} worker(s) alive, queue {crawl.queue_key} "
        f"holds {crawl.queue_length} request(s){run}"
    ]
    if crawl.workers:
        rows: list[tuple[str, ...]] = [
            (
                worker.id,
                worker.host or "?",
                "" if worker.pid is None else str(worker.pid),
                _ago(worker.seen, now),
                _count(worker.claimed),
                _count(worker.in_progress),
            )
            for worker in crawl.workers
        ]
        headers: tuple[str, ...] = (
            "worker",
            "host",
            "pid",
            "last sign of life",
            "polls claimed",
            "in progress",
        )
        if not crawl.watches:
            headers += ("state",)
            busy = ["busy" if worker.id in crawl.busy else "idle" for worker in crawl.workers]
            rows = [(*row, state) for row, state in zip(rows, busy, strict=True)]
        lines += _indent(format_table(headers, rows))
    for watch in crawl.watches:
        lines += _watch_lines(watch, now)
    return lines


def _watch_lines(watch: WatchStatus, now: float) -> list[str]:
    interval = "?" if watch.interval is None else f"{watch.interval:g} s"
    workers = ", ".join(watch.workers) or "none"
    lines = [
        "",
        f"  watch {watch.key} (every {interval}): {len(watch.tasks)} poll(s), "
        f"{watch.leased_tasks} leased, {watch.late_tasks} late; workers: {workers}",
    ]
    shown = sorted(watch.tasks, key=lambda task: -task.late_by)[:MAX_TASKS_SHOWN]
    rows = [(task.task, _last_poll(task, now), _next(task, now), _late(task)) for task in shown]
    lines += _indent(format_table(("poll", "last poll", "next", "late by"), rows), "    ")
    if len(watch.tasks) > len(shown):
        lines.append(f"    ... and {len(watch.tasks) - len(shown)} more (--json lists all)")
    return lines


def _last_poll(task: TaskStatus, now: float) -> str:
    if task.last_poll is None:
        return "never"
    return _ago(task.last_poll, now) + (" (failed)" if task.last_failed else "")


def _next(task: TaskStatus, now: float) -> str:
    if task.leased_by is not None:
        until = task.lease_until or now
        return f"polled by {task.leased_by}, lease until {_clock(until)}"
    if task.next_due is None:
        return ""
    if task.next_due <= now:
        return f"due since {_clock(task.next_due)}"
    return f"due {_clock(task.next_due)} (in {task.next_due - now:.1f} s)"


def _late(task: TaskStatus) -> str:
    return f"{task.late_by:.1f} s" if task.late_by > 0 else ""


def _ago(moment: float | None, now: float) -> str:
    if moment is None:
        return "?"
    return f"{_clock(moment)} ({max(0.0, now - moment):.1f} s ago)"


def _clock(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%H:%M:%S")


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _indent(text: str, by: str = "  ") -> list[str]:
    return [f"{by}{line}" for line in text.splitlines()]


SUBCOMMAND: Final = Subcommand(
    name=STATUS,
    description=DESCRIPTION,
    syntax=SYNTAX,
    help=HELP,
    add_options=add_options,
    options_given=options_given,
    prepare=plan_status,
    run=lambda plan, _crawler_process: run(plan),
)
