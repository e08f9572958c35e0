"""What ``scrapy kwiff status`` reads from Redis, on keys the building blocks write."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from kwiff_scrapy.distributed.polls import RedisPolls
from kwiff_scrapy.distributed.state import Commit, RedisSnapshots
from kwiff_scrapy.distributed.termination import SharedCrawl

from ..support.extras import require
from ..support.redis_workers import redis_prefix, redis_server

__all__ = ["redis_prefix", "redis_server"]  # fixtures used here

require("redis", "redis", "the status of shared crawls")

from kwiff_scrapy.distributed.status import read_status  # noqa: E402


def test_a_shared_crawl_its_workers_queue_and_run(redis_server: Any, redis_prefix: str) -> None:
    prefix = f"{redis_prefix}:kwiff_football"
    seeder = SharedCrawl(redis_server, prefix, "w1", worker_timeout=30)
    other = SharedCrawl(redis_server, prefix, "w2", worker_timeout=30)
    run = seeder.join()
    other.join()
    seeder.heartbeat({"host": "box", "pid": "42", "in_progress": "3", "queue": f"{prefix}:q"})
    other.heartbeat({"host": "box", "pid": "43", "in_progress": "0"})
    seeder.mark_busy()
    redis_server.zadd(f"{prefix}:q", {"a": 0, "b": 0})
    status = read_status(redis_server, f"{redis_prefix}:*", "redis://test")
    [crawl] = status.crawls
    assert crawl.prefix == prefix
    assert [(w.id, w.host, w.pid, w.in_progress) for w in crawl.workers] == [
        ("w1", "box", 42, 3),
        ("w2", "box", 43, 0),
    ]
    assert all(w.seen is not None and abs(status.now - w.seen) < 5 for w in crawl.workers)
    assert (crawl.queue_key, crawl.queue_length) == (f"{prefix}:q", 2)
    assert (crawl.run_id, crawl.seeder, crawl.seeded, crawl.busy) == (run.id, "w1", False, ["w1"])
    assert status.problems() == []  # a crawl is never late
    other.leave()
    [crawl] = read_status(redis_server, f"{redis_prefix}:*", "redis://test").crawls
    assert [w.id for w in crawl.workers] == ["w1"]


@pytest.mark.parametrize(("overdue", "late"), [(5.0, False), (25.0, True)])
def test_a_watch_is_late_after_two_intervals(
    redis_server: Any, redis_prefix: str, overdue: float, late: bool
) -> None:
    key = f"{redis_prefix}:kwiff_watch:watch:11:GB:list"
    redis_server.hset(f"{key}:config", "interval", "10.0")
    worker = SharedCrawl(redis_server, f"{redis_prefix}:kwiff_watch", "w1", worker_timeout=30)
    worker.heartbeat({"host": socket.gethostname(), "watch": key, "claimed": "7"})
    polls = RedisPolls(redis_server, key, "w1")
    polls.schedule({"list": 0.0})
    [claim] = polls.claim(1, lease=30).claimed
    RedisSnapshots(redis_server, key, polls).commit(claim, 10.0, Commit(failed=True))
    polls.schedule({"event:1": -overdue, "event:2": 60.0})
    [claim] = polls.claim(1, lease=30).claimed  # the event overdue, now leased
    assert claim.task == "event:1"
    status = read_status(redis_server, f"{redis_prefix}:*", "redis://test")
    [crawl] = status.crawls
    [watch] = crawl.watches
    assert watch.workers == ["w1"]
    assert crawl.workers[0].claimed == 7
    tasks = {task.task: task for task in watch.tasks}
    assert set(tasks) == {"list", "event:1", "event:2"}
    assert tasks["list"].last_poll is not None
    assert tasks["list"].last_failed
    assert tasks["list"].next_due is not None
    assert tasks["event:2"].last_poll is None
    assert (tasks["event:1"].leased_by, tasks["event:1"].late_by) == ("w1", 0.0)
    assert watch.leased_tasks == 1
    assert status.problems() == []
    # The lease runs out: the poll is overdue since.
    redis_server.zadd(f"{key}:leases", {"event:1": status.now - overdue})
    status = read_status(redis_server, f"{redis_prefix}:*", "redis://test")
    [watch] = status.crawls[0].watches
    assert watch.late_tasks == 1
    assert watch.late_by == pytest.approx(overdue, abs=2)
    assert bool(status.problems()) is late
    worker.leave()
    problems = read_status(redis_server, f"{redis_prefix}:*", "redis://test").problems()
    assert f"watch {key} has no worker" in problems
