"""Several ``scrapy crawl`` processes sharing a crawl or a watch through a real Redis, as
users run them: the simulator in a process of its own, three workers, real feed files,
one worker killed with SIGKILL, the odds history of every worker in one PostgreSQL."""

from __future__ import annotations

import contextlib
import signal
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from kwiff_scrapy.simulator import SimulatedData

from ..support.crawl_process import HANG_GUARD, run_crawl, started_crawl
from ..support.databases import postgres_server, postgres_uri, price_rows
from ..support.redis_workers import (
    REDIS_URL,
    assert_each_change_reported_once,
    feed_records,
    keys_under,
    redis_packages,
    redis_prefix,
    redis_server,
    simulator_process,
    stat_in_log,
    unbuffered_feed,
    wait_for,
)

# Fixtures used here:
__all__ = ["postgres_server", "postgres_uri", "redis_packages", "redis_prefix", "redis_server"]

pytestmark = pytest.mark.slow

WORKERS = 3


def worker_arguments(prefix: str, worker: str, *more: str) -> list[str]:
    return [
        "-s", "SCHEDULER=kwiff_scrapy.distributed.Scheduler",
        "-s", f"REDIS_URL={REDIS_URL}",
        "-s", f"KWIFF_REDIS_KEY={prefix}:%(spider)s",
        "-s", f"KWIFF_WORKER_ID={worker}",
        "-s", "CONCURRENT_REQUESTS=1",
        *more,
    ]  # fmt: skip


def assert_clean_log(log: Path) -> None:
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text, text[-3000:]
    assert "] ERROR:" not in text, text[-3000:]


@pytest.mark.usefixtures("redis_packages")
def test_unreachable_redis_at_start_is_one_line_and_exit_status_1() -> None:
    result = run_crawl(
        "-s", "SCHEDULER=kwiff_scrapy.distributed.Scheduler",
        "-s", "REDIS_URL=redis://127.0.0.1:1/0",
    )  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1, result.stderr[-3000:]
    assert "Cannot start the crawl: Redis at redis://127.0.0.1:1/0 is unreachable" in errors[0]
    assert "REDIS_URL" in errors[0]
    assert "Traceback" not in result.stderr


def test_three_processes_fetch_every_event_exactly_once_then_all_end(
    tmp_path: Path, redis_prefix: str, redis_server: Any
) -> None:
    events = 60
    listed = sorted(event["id"] for event in SimulatedData(football_events=events).events(11))
    options = ("--football-events", str(events), "--delay", "0.05", "--per-serve")
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(simulator_process(tmp_path / "simulator.log", *options))
        processes = []
        for n in range(WORKERS):
            arguments = ["-a", "details=1", "-O", str(tmp_path / f"w{n}.jsonl")]
            arguments += worker_arguments(redis_prefix, f"w{n}")
            log = tmp_path / f"w{n}.log"
            processes.append(stack.enter_context(started_crawl(log, *arguments, endpoint=url)))
        statuses = [process.wait(timeout=HANG_GUARD) for process in processes]
    assert statuses == [0] * WORKERS
    fetched = [
        record["event_id"]
        for n in range(WORKERS)
        for record in feed_records(tmp_path / f"w{n}.jsonl")
    ]
    assert sorted(fetched) == listed  # every event once, across the three feeds
    logs = [tmp_path / f"w{n}.log" for n in range(WORKERS)]
    for log in logs:
        assert_clean_log(log)
        assert "Spider closed (finished)" in log.read_text(encoding="utf-8")
    commands = [stat_in_log(log, "kwiff/commands_sent") for log in logs]
    assert sum(commands) == 1 + events
    assert all(commands), f"a worker sent nothing: {commands}"
    assert keys_under(redis_server, redis_prefix) == []


def stored_history(uri: str) -> tuple[dict[str, int], dict[str, set[str]], dict[int, set[str]]]:
    """Prices stored per outcome key, and the outcome keys of each market and event."""
    import psycopg

    prices: dict[str, int] = defaultdict(int)
    for outcome_key, *_ in price_rows(uri):
        prices[outcome_key] += 1
    by_market: dict[str, set[str]] = defaultdict(set)
    by_event: dict[int, set[str]] = defaultdict(set)
    with psycopg.connect(uri, autocommit=True, connect_timeout=5) as connection:
        query = "SELECT market_key, outcome_key, event_id FROM kwiff_outcomes"
        for market_key, outcome_key, event_id in connection.execute(query):
            by_market[market_key].add(outcome_key)
            by_event[event_id].add(outcome_key)
    return prices, by_market, by_event


def changed_prices(
    log: list[dict[str, Any]], by_market: dict[str, set[str]], by_event: dict[int, set[str]]
) -> dict[str, int]:
    """How many prices each outcome should have stored after its first, from the change log
    (a move, a suspension or resumption of it or its market, its event's end)."""
    expected: dict[str, int] = defaultdict(int)
    for entry in log:
        kind = entry["kind"]
        if kind == "event_removed":
            keys = by_event[entry["event_id"]]
        elif kind in ("event_new", "event_status") or not entry["listed"]:
            continue  # no price; or a market event:list does not show
        elif entry["outcome_id"] is not None:
            keys = {str(entry["outcome_id"])}
        else:
            keys = by_market[str(entry["market_id"])]
        for key in keys:
            expected[key] += 1
    return dict(expected)


def test_a_shared_watch_reports_each_change_once_though_a_worker_is_killed(
    tmp_path: Path, redis_prefix: str, redis_server: Any, postgres_uri: str
) -> None:
    changes_file, serves_file = tmp_path / "changes.jsonl", tmp_path / "serves.jsonl"
    options = (
        "--football-events", "20", "--delay", "0.4", "--per-serve",
        "--change-log", str(changes_file), "--serve-log", str(serves_file),
    )  # fmt: skip
    history = ["-s", f"KWIFF_HISTORY_URI={postgres_uri}", "-s", "KWIFF_HISTORY_FLUSH_INTERVAL=0.1"]
    key = f"{redis_prefix}:kwiff_watch:watch:11:GB:list"

    def answers() -> int:
        return len({entry["answer"] for entry in feed_records(serves_file)})

    with contextlib.ExitStack() as stack:
        url = stack.enter_context(simulator_process(tmp_path / "simulator.log", *options))
        processes = {}
        for n in range(WORKERS):
            arguments = ["-a", "interval=1", *unbuffered_feed(tmp_path / f"w{n}.jsonl"), *history]
            arguments += worker_arguments(redis_prefix, f"w{n}")
            log = tmp_path / f"w{n}.log"
            processes[f"w{n}"] = stack.enter_context(
                started_crawl(log, *arguments, spider="kwiff_watch", endpoint=url)
            )
        wait_for(lambda: answers() >= 3, "three polls answered")
        # Kill the worker that claims the list's next poll, as soon as it holds the lease:
        # its command is then in flight (the simulator answers after 0.4 s), so that poll
        # is lost whole, never half reported.
        holder: list[str] = []

        def lease_holder() -> str:
            token = redis_server.hget(f"{key}:holders", "list")
            return token.decode().split("#")[0] if token else ""

        def someone_holds_it() -> bool:
            holder[:] = [lease_holder()]
            return bool(holder[0])

        wait_for(lambda: not lease_holder(), "a moment between two polls")
        wait_for(someone_holds_it, "a worker claiming the next poll")
        victim = holder[0]
        processes[victim].send_signal(signal.SIGKILL)
        processes[victim].wait(timeout=HANG_GUARD)
        killed_at = answers()
        wait_for(lambda: answers() >= killed_at + 4, "four more polls by the others")
        survivors = [name for name in processes if name != victim]
        for name in survivors:
            processes[name].send_signal(signal.SIGTERM)
        statuses = {name: processes[name].wait(timeout=HANG_GUARD) for name in survivors}

    assert statuses == dict.fromkeys(survivors, 0)
    logs = {name: tmp_path / f"{name}.log" for name in processes}
    for name in survivors:
        assert_clean_log(logs[name])
    # The poll the victim held was taken over when its lease ran out.
    assert sum(stat_in_log(logs[name], "kwiff/watch/leases_expired") for name in survivors) >= 1
    # Each change the simulator made was reported once, across the three feeds.
    change_log = feed_records(changes_file)
    items = [record for name in processes for record in feed_records(tmp_path / f"{name}.jsonl")]
    initial = {event["id"] for event in SimulatedData(football_events=20).events(11)}
    assert_each_change_reported_once(change_log, items, initial, every_market=False)
    # The history of all three workers, in one PostgreSQL database: each change once.
    prices, by_market, by_event = stored_history(postgres_uri)
    expected = changed_prices(change_log, by_market, by_event)
    assert expected, "nothing moved: the comparison would prove nothing"
    assert {key: count - 1 for key, count in prices.items() if count > 1} == expected
