"""Several workers in one event loop sharing a crawl or a watch through a real Redis.

Each worker is a crawler of its own (its own scheduler, worker id, Kwiff session), as
in separate processes; the end-to-end tests run real processes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scrapy import signals
from scrapy.crawler import AsyncCrawlerRunner, Crawler

from kwiff_scrapy.distributed.polls import RedisPolls
from kwiff_scrapy.distributed.state import _COMMIT as COMMIT_SCRIPT
from kwiff_scrapy.integration import stats
from kwiff_scrapy.integration.http import KwiffRequest
from kwiff_scrapy.integration.signal_settings import load_signal_rules
from kwiff_scrapy.integration.signals import poll_finished
from kwiff_scrapy.model.detectors import SignalDetectors
from kwiff_scrapy.model.items import EventChange, KwiffEvent, OddsChange
from kwiff_scrapy.model.signals import OddsSignal
from kwiff_scrapy.simulator import KwiffSimulator
from kwiff_scrapy.spiders.football import KwiffFootballSpider
from kwiff_scrapy.spiders.watch import KwiffWatchSpider

from ..conftest import BASE_SETTINGS, StartSimulator
from ..support import waiting
from ..support.crawl_process import HANG_GUARD
from ..support.redis_workers import (
    CuttableLink,
    assert_each_change_reported_once,
    distributed_settings,
    keys_under,
    redis_prefix,
    redis_server,
)

__all__ = ["redis_prefix", "redis_server"]  # fixtures used here

EVENTS = 30


class QuickWatchSpider(KwiffWatchSpider):
    """The watch with a shorter least interval, so that a test of a few polls is quick."""

    min_interval = 0.1


@dataclasses.dataclass
class Worker:
    crawler: Crawler
    items: list[Any] = dataclasses.field(default_factory=list)
    polls: list[tuple[int, int, bool]] = dataclasses.field(default_factory=list)

    def stat(self, key: str) -> Any:
        try:
            crawl_stats = self.crawler.stats
        except RuntimeError:  # not started yet
            return 0
        return crawl_stats.get_value(key, 0) if crawl_stats is not None else 0


@pytest.fixture
def link() -> Iterator[CuttableLink]:
    """A link to Redis that the test can cut: up at the start, down at the end."""
    link = CuttableLink()
    link.up()
    yield link
    link.down()


def through(link: CuttableLink, simulator: KwiffSimulator, **more: Any) -> dict[str, Any]:
    """A worker's settings: *simulator*, Redis through *link*, tried again quickly."""
    return {
        "KWIFF_ENDPOINT": simulator.url,
        "REDIS_URL": link.url,
        "KWIFF_REDIS_RETRY_DELAY": 0.05,
        "KWIFF_REDIS_RETRY_MAX_DELAY": 0.2,
        **more,
    }


class Workers:
    """Crawlers sharing one Redis prefix, started and stopped together or one by one."""

    def __init__(self, prefix: str, settings: dict[str, Any]) -> None:
        self.runner = AsyncCrawlerRunner(
            {**BASE_SETTINGS, **distributed_settings(prefix), **settings}
        )
        self.workers: list[Worker] = []
        self.tasks: list[asyncio.Future[None]] = []
        self.changed = asyncio.Event()

    def start(self, spider: type[Any], **arguments: Any) -> Worker:
        worker = Worker(self.runner.create_crawler(spider))

        def scraped(item: Any) -> None:
            worker.items.append(item)

        def finished(poll: int, changes: int, failed: bool) -> None:
            worker.polls.append((poll, changes, failed))
            self.changed.set()

        worker.crawler.signals.connect(scraped, signal=signals.item_scraped, weak=False)
        worker.crawler.signals.connect(finished, signal=poll_finished, weak=False)
        self.workers.append(worker)
        self.tasks.append(self.runner.crawl(worker.crawler, **arguments))
        return worker

    async def until(self, condition: Callable[[], bool]) -> None:
        """Return once ``condition()`` holds: checked after each poll, and every 20 ms;
        fail (naming the condition) if it never does."""
        await waiting.until(condition, changed=self.changed)

    async def stop(self) -> None:
        for worker in self.workers:
            engine = worker.crawler.engine
            if engine is not None and engine.spider is not None:
                await engine.close_spider_async(reason="done")
        await self.finished()

    async def finished(self) -> None:
        await asyncio.gather(*self.tasks)

    @property
    def items(self) -> list[Any]:
        return [item for worker in self.workers for item in worker.items]

    def total(self, key: str) -> int:
        return sum(worker.stat(key) for worker in self.workers)


def listed_ids(simulator: KwiffSimulator) -> list[int]:
    return [event["id"] for event in simulator.data.events(11, "GB")]


# -- crawls ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "queue", ["scrapy_redis.queue.PriorityQueue", "scrapy_redis.queue.FifoQueue"]
)
async def test_three_workers_fetch_every_event_once_and_all_end(
    start_simulator: StartSimulator, redis_prefix: str, redis_server: Any, queue: str
) -> None:
    simulator = await start_simulator(football_events=EVENTS, response_delay=0.01)
    settings = {
        "KWIFF_ENDPOINT": simulator.url,
        "CONCURRENT_REQUESTS": 2,
        "SCHEDULER_QUEUE_CLASS": queue,
    }
    for run in (1, 2):  # the same crawl again later fetches everything again
        workers = Workers(redis_prefix, settings)
        for _ in range(3):
            workers.start(KwiffFootballSpider, details="1")
        await workers.finished()
        ids = sorted(item.event_id for item in workers.items)
        assert ids == sorted(listed_ids(simulator)), f"run {run}"
        assert all(isinstance(item, KwiffEvent) and item.markets for item in workers.items)
        assert workers.total("kwiff/event_details_parsed") == EVENTS
        assert workers.total("kwiff/commands_sent") == 1 + EVENTS  # one list, one get each
        assert [w.stat("finish_reason") for w in workers.workers] == ["finished"] * 3
        assert workers.total(stats.REDIS_START_SKIPPED) == 2  # two joiners left theirs
        assert keys_under(redis_server, redis_prefix) == []  # the last one cleaned up


async def test_a_worker_seeds_the_crawl_when_the_seeder_died_before_seeding(
    start_simulator: StartSimulator, redis_prefix: str, redis_server: Any
) -> None:
    simulator = await start_simulator(football_events=EVENTS)
    run_key = f"{redis_prefix}:kwiff_football:run"
    redis_server.hset(run_key, mapping={"id": "r1", "seeder": "ghost", "seeded": "0"})
    workers = Workers(redis_prefix, {"KWIFF_ENDPOINT": simulator.url})
    for _ in range(2):
        workers.start(KwiffFootballSpider, details="1")
    await workers.finished()
    assert sorted(item.event_id for item in workers.items) == sorted(listed_ids(simulator))
    assert [w.stat("finish_reason") for w in workers.workers] == ["finished"] * 2


async def test_a_busy_worker_that_died_does_not_hold_the_crawl_open(
    start_simulator: StartSimulator, redis_prefix: str, redis_server: Any
) -> None:
    simulator = await start_simulator(football_events=EVENTS)
    prefix = f"{redis_prefix}:kwiff_football"
    redis_server.hset(f"{prefix}:run", mapping={"id": "r1", "seeder": "ghost", "seeded": "1"})
    redis_server.hset(f"{prefix}:busy", "ghost", "1")  # and no sign of life
    left = KwiffRequest("event:get", {"eventId": listed_ids(simulator)[0]}).to_dict()
    left["callback"] = "parse_event_get"
    redis_server.zadd(f"{prefix}:requests", {pickle.dumps(left): 0})
    workers = Workers(redis_prefix, {"KWIFF_ENDPOINT": simulator.url})
    worker = workers.start(KwiffFootballSpider, details="1")
    await workers.finished()
    assert [item.event_id for item in worker.items] == [listed_ids(simulator)[0]]
    assert worker.stat(stats.REDIS_WORKERS_LOST) == 1
    assert worker.stat("finish_reason") == "finished"
    assert worker.stat(stats.REDIS_START_SKIPPED) == 1  # the run was seeded already


async def test_a_start_request_taken_by_a_joiner_and_retried_is_not_held_back(
    start_simulator: StartSimulator, redis_prefix: str, redis_server: Any
) -> None:
    # The seeder queued its event:list and is busy elsewhere; this joiner takes the list,
    # its connection drops, and Scrapy retries it: the retry is queued like any request.
    simulator = await start_simulator(football_events=EVENTS, drop_after=1, faulty_connections=1)
    prefix = f"{redis_prefix}:kwiff_football"
    redis_server.hset(f"{prefix}:run", mapping={"id": "r1", "seeder": "seeder", "seeded": "1"})
    redis_server.set(f"{prefix}:worker:seeder", "1", px=60_000)
    start = KwiffRequest(
        "event:list",
        {"listId": "default", "sportId": 11, "country": "GB"},
        meta={"is_start_request": True},
    ).to_dict()
    start["callback"] = "parse_event_list"
    redis_server.zadd(f"{prefix}:requests", {pickle.dumps(start): 0})
    workers = Workers(redis_prefix, {"KWIFF_ENDPOINT": simulator.url})
    worker = workers.start(KwiffFootballSpider)
    await workers.finished()
    assert worker.stat("retry/count") == 1
    assert len(worker.items) == EVENTS


async def test_a_crawl_worker_rides_out_a_redis_outage_and_loses_nothing(
    start_simulator: StartSimulator,
    redis_prefix: str,
    redis_server: Any,
    link: CuttableLink,
) -> None:
    # Redis goes away while the event:list is in flight: the event:get commands its answer
    # yields are kept, queued when Redis is back, and the crawl ends complete.
    simulator = await start_simulator(football_events=EVENTS)
    settings = through(link, simulator)
    workers = Workers(redis_prefix, settings)
    simulator.hold_answers()
    worker = workers.start(KwiffFootballSpider, details="1")
    try:
        await waiting.guarded(
            simulator.wait_until(lambda: simulator.commands_received >= 1), "a command sent"
        )
        link.down()
        simulator.release_answers()
        await workers.until(lambda: worker.stat(stats.REDIS_KEPT_DURING_OUTAGE) >= EVENTS)
        link.up()
        await workers.finished()
    finally:
        link.down()
    assert sorted(item.event_id for item in worker.items) == sorted(listed_ids(simulator))
    assert worker.stat("finish_reason") == "finished"
    assert worker.stat(stats.REDIS_RECOVERIES) >= 1
    assert worker.stat(stats.REDIS_KEPT_DURING_OUTAGE) == EVENTS  # every event:get kept
    assert keys_under(redis_server, redis_prefix) == []


async def test_a_silent_redis_stalls_no_session_and_the_crawl_resumes_after_it(
    start_simulator: StartSimulator,
    redis_prefix: str,
    redis_server: Any,
    link: CuttableLink,
) -> None:
    # Redis accepts connections and never answers while the event:list's answer arrives:
    # the answer is parsed and its event:get commands kept, and the session keeps pinging,
    # all before the first Redis call gives up (KWIFF_REDIS_TIMEOUT: a generous 10 s; with
    # Redis called on the event loop, nothing moves until then, and the test fails).
    simulator = await start_simulator(football_events=EVENTS, ping_interval_ms=50)
    settings = through(link, simulator, KWIFF_REDIS_TIMEOUT=10)
    workers = Workers(redis_prefix, settings)
    simulator.hold_answers()
    worker = workers.start(KwiffFootballSpider, details="1")
    try:
        await waiting.guarded(
            simulator.wait_until(lambda: simulator.commands_received >= 1), "a command sent"
        )
        enqueued = worker.stat(stats.REDIS_ENQUEUED)  # the event:list
        link.swallow()
        simulator.release_answers()
        await workers.until(lambda: worker.stat("response_received_count") >= 1)
        await workers.until(lambda: link.swallowed >= 1)  # a Redis call is waiting
        pings = simulator.pings_received
        await waiting.guarded(
            simulator.wait_until(lambda: simulator.pings_received >= pings + 3),
            "three pings while Redis was silent",
        )
        assert worker.stat(stats.REDIS_ERRORS) == 0, "Redis was silent, not failing"
        assert worker.stat(stats.REDIS_ENQUEUED) == enqueued  # nothing reached Redis
        link.down()  # the silent calls fail at once; Redis is back right after
        link.up()
        await workers.finished()
    finally:
        link.down()
    assert sorted(item.event_id for item in worker.items) == sorted(listed_ids(simulator))
    assert worker.stat("finish_reason") == "finished"
    assert worker.stat(stats.REDIS_RECOVERIES) >= 1
    assert keys_under(redis_server, redis_prefix) == []


async def test_flush_on_start_starts_an_interrupted_crawl_afresh(
    start_simulator: StartSimulator, redis_prefix: str, redis_server: Any
) -> None:
    simulator = await start_simulator(football_events=EVENTS)
    prefix = f"{redis_prefix}:kwiff_football"
    redis_server.hset(f"{prefix}:run", mapping={"id": "old", "seeder": "ghost", "seeded": "1"})
    redis_server.sadd(f"{prefix}:dupefilter", "stale")
    workers = Workers(
        redis_prefix, {"KWIFF_ENDPOINT": simulator.url, "SCHEDULER_FLUSH_ON_START": True}
    )
    workers.start(KwiffFootballSpider)
    await workers.finished()
    assert len(workers.items) == EVENTS


async def test_flush_on_start_never_wipes_a_crawl_other_workers_share(
    start_simulator: StartSimulator, redis_prefix: str, redis_server: Any
) -> None:
    simulator = await start_simulator(football_events=EVENTS)
    prefix = f"{redis_prefix}:kwiff_football"
    redis_server.hset(f"{prefix}:run", mapping={"id": "r1", "seeder": "other", "seeded": "1"})
    redis_server.set(f"{prefix}:worker:other", "1", px=60_000)  # alive
    left = KwiffRequest("event:get", {"eventId": listed_ids(simulator)[0]}).to_dict()
    left["callback"] = "parse_event_get"
    redis_server.zadd(f"{prefix}:requests", {pickle.dumps(left): 0})
    workers = Workers(
        redis_prefix, {"KWIFF_ENDPOINT": simulator.url, "SCHEDULER_FLUSH_ON_START": True}
    )
    worker = workers.start(KwiffFootballSpider, details="1")
    await workers.finished()
    assert [item.event_id for item in worker.items] == [listed_ids(simulator)[0]]  # joined


# -- watches ---------------------------------------------------------------------------------


async def test_three_workers_share_a_watch_and_report_each_change_once(
    start_simulator: StartSimulator, redis_prefix: str
) -> None:
    simulator = await start_simulator(football_events=EVENTS, moving=True)
    # No worker dies here: a lease that never runs out keeps a poll slowed by a loaded
    # machine (its event loop held up longer than the 1 s lease) from being taken over
    # and polled again. The simulator would then step twice, and an outcome that moved
    # in both steps would show the watch only its second move.
    settings = {
        "KWIFF_ENDPOINT": simulator.url,
        "CONCURRENT_REQUESTS": 1,
        "KWIFF_WATCH_LEASE": HANG_GUARD,
    }
    workers = Workers(redis_prefix, settings)
    for _ in range(3):
        workers.start(QuickWatchSpider, interval="0.2")
    await workers.until(lambda: workers.total(stats.WATCH_POLLS) >= 12)
    await workers.stop()
    assert workers.total(stats.WATCH_LEASES_EXPIRED) == 0
    lists_answered = len({entry["answer"] for entry in simulator.serve_log()})
    assert workers.total(stats.WATCH_POLLS) == lists_answered  # each list compared once
    assert workers.total(stats.WATCH_FAILED_POLLS) == 0
    assert_each_change_reported_once(
        simulator.change_log(), workers.items, set(listed_ids(simulator)), every_market=False
    )


#: Thresholds low enough for the simulator's random steps over a few polls.
SIGNAL_RULES = [
    {"kind": "drop", "change": 0.01, "cooldown": 0},
    {"kind": "drift", "change": 0.01, "cooldown": 0},
    {"kind": "steam", "change": 0.01, "outcomes": 2, "cooldown": 0},
    {"kind": "margin", "points": 0.001, "cooldown": 0},
    {"kind": "suspensions", "count": 1, "cooldown": 0},
]


def signal_key(signal: OddsSignal) -> tuple[Any, ...]:
    """What makes a signal itself: one rule, about one subject, at one poll."""
    return (signal.rule, signal.event_id, signal.fetched_at, signal.market_id, signal.outcome_id)


@pytest.mark.parametrize(("details", "polls"), [("0", 15), ("1", 60)])
async def test_three_workers_detect_each_signal_once_as_one_process_would(
    start_simulator: StartSimulator,
    redis_prefix: str,
    redis_server: Any,
    details: str,
    polls: int,
) -> None:
    # details=0: one list poll, whichever worker; details=1: each event its own poll.
    events = EVENTS if details == "0" else 8
    simulator = await start_simulator(football_events=events, moving=True)
    settings = {
        "KWIFF_ENDPOINT": simulator.url,
        "CONCURRENT_REQUESTS": 1,
        "KWIFF_SIGNALS": SIGNAL_RULES,
    }
    workers = Workers(redis_prefix, settings)
    for _ in range(3):
        workers.start(QuickWatchSpider, interval="0.2", details=details)

    def across() -> list[OddsSignal]:
        """Signals whose window spans polls of different workers: the price a signal
        moved from was seen by another worker than the one that yielded the signal."""
        seen_by = {
            (change.event_id, change.fetched_at): n
            for n, worker in enumerate(workers.workers)
            for change in worker.items
            if isinstance(change, OddsChange)
        }
        return [
            signal
            for n, worker in enumerate(workers.workers)
            for signal in worker.items
            if isinstance(signal, OddsSignal)
            and signal.first_seen_at != signal.fetched_at
            and seen_by.get((signal.event_id, signal.first_seen_at), n) != n
        ]

    # Which worker claims each poll is up to them: the polls go on until one signal's
    # window spans two workers' polls, which is what the test is about.
    await workers.until(lambda: workers.total(stats.WATCH_POLLS) >= polls and bool(across()))
    await workers.stop()

    signals = [item for item in workers.items if isinstance(item, OddsSignal)]
    keys = [signal_key(signal) for signal in signals]
    assert len(keys) == len(set(keys)), "a signal yielded twice"
    assert {signal.kind for signal in signals} >= {"drop", "drift", "margin"}
    for rule in {signal.rule for signal in signals}:
        assert workers.total(f"kwiff/watch/signals/{rule}") == sum(s.rule == rule for s in signals)
    # One process's detectors over every change the three reported, in the service's
    # time order (each answer's changes share its time, and keep their order).
    changes = [item for item in workers.items if isinstance(item, OddsChange | EventChange)]
    reporters: dict[tuple[int, str | None], set[int]] = {}
    for n, worker in enumerate(workers.workers):
        for item in worker.items:
            if isinstance(item, OddsChange | EventChange):
                reporters.setdefault((item.event_id, item.fetched_at), set()).add(n)
    assert all(len(who) == 1 for who in reporters.values()), "two answers at one time"
    changes.sort(key=lambda change: change.fetched_at or "")
    one_process = SignalDetectors(load_signal_rules(SIGNAL_RULES))
    expected = one_process.feed(changes) + one_process.flush()
    assert sorted(signals, key=repr) == sorted(expected, key=repr)
    assert across(), "no signal spanned two workers' polls: the test proves nothing"
    # The detectors' state is in Redis, one JSON record per event (and no more).
    key = f"{redis_prefix}:kwiff_watch:watch:11:GB:{'details' if details == '1' else 'list'}"
    states = redis_server.hkeys(f"{key}:signals")
    assert states
    assert set(states) <= set(redis_server.hkeys(f"{key}:snapshots"))


async def test_a_worker_without_signals_drops_the_state_its_changes_leave_behind(
    start_simulator: StartSimulator, redis_prefix: str, redis_server: Any
) -> None:
    simulator = await start_simulator(football_events=EVENTS, moving=True)
    key = f"{redis_prefix}:kwiff_watch:watch:11:GB:list"
    base = {"KWIFF_ENDPOINT": simulator.url}
    with_signals = Workers(redis_prefix, {**base, "KWIFF_SIGNALS": SIGNAL_RULES})
    first = with_signals.start(QuickWatchSpider, interval="0.2")
    await with_signals.until(lambda: len(first.polls) >= 3)
    await with_signals.stop()
    kept = {int(event_id) for event_id in redis_server.hkeys(f"{key}:signals")}
    assert kept
    without = Workers(redis_prefix, base)
    second = without.start(QuickWatchSpider, interval="0.2")
    await without.until(lambda: len(second.polls) >= 2)
    await without.stop()
    changed = {item.event_id for item in second.items if isinstance(item, OddsChange | EventChange)}
    assert changed & kept, "nothing changed that had a state: the test proves nothing"
    # Their states missed these changes: none is left to be carried on from later.
    left = {int(event_id) for event_id in redis_server.hkeys(f"{key}:signals")}
    assert not left & changed
    assert left == kept - changed


async def test_no_worker_compares_an_error_or_a_malformed_answer(
    start_simulator: StartSimulator, redis_prefix: str
) -> None:
    # Each worker's connection answers its 2nd command with an error and its 3rd with a
    # malformed list: none is compared, so nothing is reported removed, and the next good
    # answer (whichever worker gets it) is compared with the last good one.
    simulator = await start_simulator(
        football_events=EVENTS, moving=True, answer_faults={2: "error", 3: "malformed"}
    )
    # No worker dies here: a lease that never runs out keeps a slow poll (a loaded
    # machine) from being polled again, which would leave an answer not compared.
    settings = {
        "KWIFF_ENDPOINT": simulator.url,
        "CONCURRENT_REQUESTS": 1,
        "KWIFF_WATCH_LEASE": HANG_GUARD,
    }
    workers = Workers(redis_prefix, settings)
    for _ in range(3):
        workers.start(QuickWatchSpider, interval="0.2")
    await workers.until(
        lambda: (
            workers.total(stats.WATCH_FAILED_POLLS) >= 2 and workers.total(stats.WATCH_POLLS) >= 8
        )
    )
    await workers.stop()
    for worker in workers.workers:  # one poll is one command of the worker's connection
        failed = [failed for _, _, failed in worker.polls]
        assert failed == [number in (2, 3) for number in range(1, len(failed) + 1)]
    errors = sum(len(worker.polls) >= 2 for worker in workers.workers)
    assert workers.total("kwiff/answer_errors") == errors
    removed = [i for i in workers.items if isinstance(i, EventChange) and i.kind == "removed"]
    assert len(removed) == sum(
        entry["kind"] == "event_removed" for entry in simulator.change_log()
    ), "an event reported removed that the service did not remove"
    assert_each_change_reported_once(
        simulator.change_log(), workers.items, set(listed_ids(simulator)), every_market=False
    )


async def test_a_worker_that_joins_takes_a_share_of_the_polls(
    start_simulator: StartSimulator, redis_prefix: str
) -> None:
    simulator = await start_simulator(football_events=EVENTS, response_delay=0.15, moving=True)
    watched = ",".join(map(str, listed_ids(simulator)[:6]))
    settings = {"KWIFF_ENDPOINT": simulator.url, "CONCURRENT_REQUESTS": 1}
    workers = Workers(redis_prefix, settings)
    first = workers.start(QuickWatchSpider, interval="0.6", events=watched)
    await workers.until(lambda: len(first.polls) >= 6)
    second = workers.start(QuickWatchSpider, interval="0.6", events=watched)
    await workers.until(lambda: len(second.polls) >= 6)
    await workers.stop()
    events_answered = len({entry["answer"] for entry in simulator.serve_log()})
    assert workers.total(stats.WATCH_POLLS) == events_answered
    assert_each_change_reported_once(
        simulator.change_log(),
        workers.items,
        {int(event_id) for event_id in watched.split(",")},
        every_market=True,
    )


async def test_polls_of_a_worker_gone_are_taken_over_when_its_lease_runs_out(
    start_simulator: StartSimulator,
    redis_prefix: str,
    redis_server: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kwiff_scrapy")
    simulator = await start_simulator(football_events=EVENTS)
    key = f"{redis_prefix}:kwiff_watch:watch:11:GB:list"
    ghost = RedisPolls(redis_server, key, "ghost")
    ghost.schedule({"list": 0.0, "event:1": 0.0})
    ghost.claim(2, lease=1.0)  # and never polled: the ghost dies holding both
    redis_server.hset(f"{key}:config", "interval", "0.2")
    workers = Workers(redis_prefix, {"KWIFF_ENDPOINT": simulator.url})
    worker = workers.start(QuickWatchSpider, interval="0.2")
    await workers.until(lambda: len(worker.polls) >= 3)
    await workers.stop()
    assert worker.stat(stats.WATCH_LEASES_EXPIRED) == 2
    assert worker.stat(stats.WATCH_CLAIMED) >= 3
    # The worker that noticed says so once, naming the worker gone, not once per poll.
    gone = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([m for m in gone if "ghost" in m]) == 1, gone
    assert "Worker ghost stopped renewing its leases" in " ".join(gone)


async def test_leases_that_ran_out_while_redis_was_away_blame_no_worker(
    start_simulator: StartSimulator,
    redis_prefix: str,
    redis_server: Any,
    caplog: pytest.LogCaptureFixture,
    link: CuttableLink,
) -> None:
    """A worker cut off from Redis, like every other, cannot tell a worker that stopped
    renewing its leases from one that could not reach Redis: no worker is said gone."""
    caplog.set_level(logging.INFO, logger="kwiff_scrapy")
    simulator = await start_simulator(football_events=EVENTS)
    settings = through(link, simulator)
    workers = Workers(redis_prefix, settings)
    worker = workers.start(QuickWatchSpider, interval="0.2")
    key = f"{redis_prefix}:kwiff_watch:watch:11:GB:list"
    try:
        await workers.until(lambda: len(worker.polls) >= 2)
        link.down()
        await workers.until(lambda: worker.stat(stats.REDIS_OUTAGES) >= 1)
        # Another worker, cut off as well, held a poll whose lease ran out meanwhile.
        other = RedisPolls(redis_server, key, "cut-off")
        other.schedule({"event:1": 0.0})
        other.claim(5, lease=0.0)
        link.up()
        await workers.until(lambda: worker.stat(stats.WATCH_LEASES_EXPIRED) >= 1)
        await workers.until(lambda: len(worker.polls) >= 4)
    finally:
        await workers.stop()
        link.down()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [m for m in warnings if "stopped renewing" in m], warnings
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("lease ran out while Redis was unreachable" in m for m in infos), infos


async def test_a_commit_whose_reply_was_lost_still_reports_its_changes(
    start_simulator: StartSimulator,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
    link: CuttableLink,
) -> None:
    """Redis carried out a poll's compare-and-set and its reply never came (Redis
    restarted, the connection cut): the changes are in Redis, so no later poll sees them
    as changes; the worker asks whether its commit went through, and reports them."""
    caplog.set_level(logging.INFO, logger="kwiff_scrapy")
    simulator = await start_simulator(football_events=EVENTS, moving=True)
    settings = through(link, simulator, KWIFF_REDIS_TIMEOUT=1, CONCURRENT_REQUESTS=1)
    watched = ",".join(map(str, listed_ids(simulator)[:3]))
    workers = Workers(redis_prefix, settings)
    worker = workers.start(QuickWatchSpider, interval="0.3", events=watched)
    commit_script = hashlib.sha1(COMMIT_SCRIPT.encode()).hexdigest().encode()
    try:
        await workers.until(lambda: len(worker.polls) >= 6)
        link.drop_reply_after(commit_script)
        await workers.until(lambda: link.replies_dropped >= 1)
        await workers.until(lambda: worker.stat(stats.REDIS_RECOVERIES) >= 1)
        polls = len(worker.polls)
        await workers.until(lambda: len(worker.polls) >= polls + 6)
    finally:
        await workers.stop()
        link.down()
    assert "its commit went through though Redis's reply was lost" in caplog.text
    assert_each_change_reported_once(
        simulator.change_log(),
        workers.items,
        {int(event_id) for event_id in watched.split(",")},
        every_market=True,
    )


async def test_baseline_0_reports_nothing_for_the_first_shared_poll(
    start_simulator: StartSimulator, redis_prefix: str
) -> None:
    simulator = await start_simulator(football_events=EVENTS, moving=True)
    workers = Workers(redis_prefix, {"KWIFF_ENDPOINT": simulator.url})
    for _ in range(2):
        workers.start(QuickWatchSpider, interval="0.2", baseline="0")
    await workers.until(lambda: workers.total(stats.WATCH_POLLS) >= 4)
    await workers.stop()
    assert not [
        item
        for item in workers.items
        if item.kind == "new" and item.event_id in set(listed_ids(simulator))
    ]
    assert any(isinstance(item, OddsChange) and item.kind == "moved" for item in workers.items)


async def test_a_watch_worker_rides_out_a_redis_outage(
    start_simulator: StartSimulator,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
    link: CuttableLink,
) -> None:
    simulator = await start_simulator(football_events=EVENTS)  # still: nothing moves
    runner_settings = through(link, simulator)
    workers = Workers(redis_prefix, runner_settings)
    worker = workers.start(QuickWatchSpider, interval="0.2")
    try:
        await workers.until(lambda: len(worker.polls) >= 2)
        link.down()
        await workers.until(lambda: worker.stat(stats.REDIS_OUTAGES) >= 1)
        before = len(worker.polls)
        link.up()
        await workers.until(lambda: worker.stat(stats.REDIS_RECOVERIES) >= 1)
        await workers.until(lambda: sum(not failed for _, _, failed in worker.polls[before:]) >= 2)
    finally:
        link.down()
        await workers.stop()
    baseline = [item for item in worker.items if item.kind == "new"]
    assert len({item.event_id for item in baseline}) == EVENTS  # one baseline, no second one
    assert len(worker.items) == len(baseline)  # still data: nothing else to report
    assert "Redis is unreachable" in caplog.text
    assert "reachable again" in caplog.text


async def test_a_watch_answer_is_compared_off_the_event_loop_while_redis_is_silent(
    start_simulator: StartSimulator,
    redis_prefix: str,
    link: CuttableLink,
) -> None:
    # A poll's answer arrives while Redis accepts connections and never answers: its
    # compare-and-set waits in the Redis thread, and the session keeps pinging meanwhile.
    simulator = await start_simulator(football_events=EVENTS, ping_interval_ms=50)
    settings = through(
        link, simulator, KWIFF_REDIS_TIMEOUT=10
    )  # generous: a call on the event loop would stall it
    workers = Workers(redis_prefix, settings)
    worker = workers.start(QuickWatchSpider, interval="0.2")
    try:
        await workers.until(lambda: len(worker.polls) >= 1)
        simulator.hold_answers()
        commands = simulator.commands_received
        await waiting.guarded(
            simulator.wait_until(lambda: simulator.commands_received > commands),
            "the next poll's command",
        )
        polls = len(worker.polls)
        link.swallow()
        simulator.release_answers()
        await workers.until(lambda: link.swallowed >= 1)
        pings = simulator.pings_received
        await waiting.guarded(
            simulator.wait_until(lambda: simulator.pings_received >= pings + 3),
            "three pings while Redis was silent",
        )
        assert worker.stat(stats.REDIS_ERRORS) == 0, "Redis was silent, not failing"
        assert len(worker.polls) == polls, "the poll completed without Redis"
        link.down()
        link.up()
        await workers.until(lambda: worker.stat(stats.REDIS_RECOVERIES) >= 1)
        await workers.until(lambda: sum(not failed for _, _, failed in worker.polls) >= 3)
    finally:
        link.down()
        await workers.stop()
