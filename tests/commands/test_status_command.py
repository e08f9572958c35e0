"""``scrapy kwiff status`` against two real watch workers (processes) sharing a watch through
Redis: both shown alive with what they are doing, then one killed, then the other."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ..support.crawl_process import PROJECT_ROOT, scrapy_kwiff, started_crawl
from ..support.redis_workers import REDIS_URL, redis_packages, redis_prefix, redis_server
from ..support.waiting import until_sync

__all__ = ["redis_packages", "redis_prefix", "redis_server"]  # fixtures used here

pytestmark = pytest.mark.slow


def worker_arguments(prefix: str, worker: str) -> list[str]:
    return [
        "-a", "interval=2",
        "-s", 'KWIFF_SIMULATOR_OPTIONS={"speed": null, "football_events": 5}',  # quick polls
        "-s", "SCHEDULER=kwiff_scrapy.distributed.Scheduler",
        "-s", f"REDIS_URL={REDIS_URL}",
        "-s", f"KWIFF_REDIS_KEY={prefix}:%(spider)s",
        "-s", f"KWIFF_WORKER_ID={worker}",
        "-s", "KWIFF_REDIS_WORKER_TIMEOUT=10",
    ]  # fmt: skip


def status(prefix: str, *more: str) -> subprocess.CompletedProcess[str]:
    return scrapy_kwiff(
        PROJECT_ROOT, "status", "--redis", REDIS_URL, "-s", f"KWIFF_REDIS_KEY={prefix}:%(spider)s",
        *more,
    )  # fmt: skip


def status_json(prefix: str) -> tuple[int, dict[str, Any]]:
    result = status(prefix, "--json")
    assert result.returncode in (0, 1), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout)


def the_crawl(data: dict[str, Any]) -> dict[str, Any]:
    [crawl] = data["crawls"]
    return crawl


def workers(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {worker["id"]: worker for crawl in data["crawls"] for worker in crawl["workers"]}


def test_status_shows_the_workers_and_the_watch_then_a_watch_with_none_fails(
    tmp_path: Path, redis_prefix: str, redis_server: Any
) -> None:
    latest: dict[str, Any] = {}

    def seen(condition: Any) -> bool:
        code, data = status_json(redis_prefix)
        latest.update(code=code, data=data)
        return bool(condition(code, data))

    with contextlib.ExitStack() as stack:
        processes = {
            name: stack.enter_context(
                started_crawl(
                    tmp_path / f"{name}.log",
                    *worker_arguments(redis_prefix, name),
                    spider="kwiff_watch",
                )
            )
            for name in ("w1", "w2")
        }

        def both_at_work(code: int, data: dict[str, Any]) -> bool:
            found = workers(data)
            return (
                code == 0
                and set(found) == {"w1", "w2"}
                and all(w["watch"] for w in found.values())
                and sum(w["claimed"] or 0 for w in found.values()) >= 3
            )

        until_sync(lambda: seen(both_at_work), "both workers at work on the watch in the status")
        data = latest["data"]
        crawl = the_crawl(data)
        assert crawl["prefix"] == f"{redis_prefix}:kwiff_watch"
        for name, worker in workers(data).items():
            assert worker["host"] == socket.gethostname()
            assert worker["pid"] == processes[name].pid
            assert worker["spider"] == "kwiff_watch"
            assert worker["in_progress"] in (0, 1)
            assert 0 <= data["now"] - worker["seen"] < 10
        [watch] = crawl["watches"]
        assert watch["key"] == f"{redis_prefix}:kwiff_watch:watch:11:GB:list"
        assert watch["interval"] == 2.0
        assert sorted(watch["workers"]) == ["w1", "w2"]
        [task] = watch["tasks"]
        assert task["task"] == "list"
        assert task["last_poll"] is not None, data
        assert (task["next_due"] is None) != (task["leased_by"] is None)
        assert watch["problems"] == []
        assert data["problems"] == []

        text = status(redis_prefix)
        assert text.returncode == 0, text.stderr
        assert f"{redis_prefix}:kwiff_watch: 2 worker(s) alive" in text.stdout
        assert "watch " + watch["key"] + " (every 2 s)" in text.stdout
        assert "w1" in text.stdout
        assert "w2" in text.stdout

        os.kill(processes["w1"].pid, signal.SIGKILL)  # no goodbye: its sign of life expires
        processes["w1"].wait()

        def only_w2_polling(code: int, data: dict[str, Any]) -> bool:
            [watch] = the_crawl(data)["watches"]
            [task] = watch["tasks"]
            return (
                code == 0
                and set(workers(data)) == {"w2"}
                and task["last_poll"] is not None
                and task["last_poll"] > data["now"] - 3
            )

        until_sync(lambda: seen(only_w2_polling), "w1 gone and w2 polling alone")
        assert latest["data"]["problems"] == []

        processes["w2"].send_signal(signal.SIGINT)  # stops cleanly: its sign of life goes
        processes["w2"].wait()

    until_sync(
        lambda: seen(lambda code, data: code == 1 and not workers(data)),
        "the status failing once no worker is left",
    )
    problems = latest["data"]["problems"]
    assert f"watch {redis_prefix}:kwiff_watch:watch:11:GB:list has no worker" in problems
    result = status(redis_prefix)
    assert result.returncode == 1
    assert "PROBLEM: watch" in result.stderr
    assert "has no worker" in result.stderr

    # Two intervals later the watch is late too.
    until_sync(
        lambda: seen(lambda code, data: any("is late by" in p for p in data["problems"])),
        "the watch reported late",
    )


@pytest.mark.usefixtures("redis_packages")
def test_nothing_shared_is_no_problem_and_unreachable_redis_is_one_line() -> None:
    result = scrapy_kwiff(
        PROJECT_ROOT, "status", "--redis", REDIS_URL, "-s", "KWIFF_REDIS_KEY=kwiff-none:%(spider)s"
    )
    assert result.returncode == 0, result.stderr
    assert "No shared crawl or watch found." in result.stdout
    result = scrapy_kwiff(PROJECT_ROOT, "status", "--redis", "redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Cannot read Redis:")
    assert "Traceback" not in result.stderr
