"""The Redis building blocks of shared crawls and watches, against a real Redis server.

Settings, the polls' claims and leases, the snapshots' compare-and-set, the crawl's
termination rule, and the scheduler on its own (serialisation, bad entries, outages).
"""

from __future__ import annotations

import json
import logging
import pickle
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest
from scrapy import signals
from scrapy.settings import Settings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.test import get_crawler

from kwiff_scrapy import defaults
from kwiff_scrapy.distributed.config import DistributedSettings, scrapy_redis_settings
from kwiff_scrapy.integration import stats
from kwiff_scrapy.integration.http import KwiffRequest
from kwiff_scrapy.model.changes import EventSnapshot, PricePoint
from kwiff_scrapy.spiders.football import KwiffFootballSpider

from ..support import waiting
from ..support.extras import require
from ..support.redis_workers import (
    CuttableLink,
    distributed_settings,
    redis_prefix,
    redis_server,
    wait_for,
)

__all__ = ["redis_prefix", "redis_server"]  # fixtures used here


# -- settings --------------------------------------------------------------------------------


def test_settings_defaults_and_key_prefix() -> None:
    config = DistributedSettings.from_settings(Settings({"KWIFF_WORKER_ID": "w1"}))
    assert config.worker_id == "w1"
    assert config.key("kwiff_football") == "kwiff_football"
    assert config.worker_timeout == defaults.REDIS_WORKER_TIMEOUT
    assert config.lease(10) == 10
    assert config.lease(0.2) == defaults.MIN_WATCH_LEASE  # never shorter than a second
    assert DistributedSettings.from_settings(Settings({"KWIFF_WATCH_LEASE": "3"})).lease(10) == 3
    prefixed = DistributedSettings.from_settings(Settings({"KWIFF_REDIS_KEY": "k:%(spider)s"}))
    assert prefixed.key("kwiff_watch") == "k:kwiff_watch"
    assert DistributedSettings.from_settings(Settings()).worker_id.count(":") == 2  # host:pid:rnd


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KWIFF_REDIS_WORKER_TIMEOUT", "0", "KWIFF_REDIS_WORKER_TIMEOUT must be a positive"),
        ("KWIFF_REDIS_IDLE_POLL", "abc", "KWIFF_REDIS_IDLE_POLL must be a positive"),
        ("KWIFF_WATCH_LEASE", "-1", "KWIFF_WATCH_LEASE must be a positive"),
        ("KWIFF_REDIS_KEY", "kwiff:%(name)s", "KWIFF_REDIS_KEY must be a key prefix"),
        ("KWIFF_REDIS_RETRY_MAX_DELAY", "0.1", "at least KWIFF_REDIS_RETRY_DELAY"),
        ("KWIFF_REDIS_TIMEOUT", "none", "KWIFF_REDIS_TIMEOUT must be a positive"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DistributedSettings.from_settings(Settings({name: value}))


def test_scrapy_redis_settings_follow_the_kwiff_prefix_and_fail_fast() -> None:
    require("redis", "redis", "scrapy-redis's settings")
    settings = Settings({"KWIFF_REDIS_KEY": "k:%(spider)s"})
    settings.freeze()
    effective = scrapy_redis_settings(settings, DistributedSettings.from_settings(settings))
    assert effective["SCHEDULER_QUEUE_KEY"] == "k:%(spider)s:requests"
    assert effective["SCHEDULER_DUPEFILTER_KEY"] == "k:%(spider)s:dupefilter"
    assert effective["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"
    params = effective.getdict("REDIS_PARAMS")
    assert params["socket_connect_timeout"] == defaults.REDIS_TIMEOUT
    assert params["retry"].get_retries() == 0  # our backoff, not seconds of blocking retries
    explicit = Settings(
        {
            "SCHEDULER_QUEUE_KEY": "q:%(spider)s",
            "DUPEFILTER_CLASS": "my.Filter",
            "REDIS_PARAMS": {"socket_timeout": 1},
        }
    )
    effective = scrapy_redis_settings(explicit, DistributedSettings.from_settings(explicit))
    assert effective["SCHEDULER_QUEUE_KEY"] == "q:%(spider)s"
    assert effective["DUPEFILTER_CLASS"] == "my.Filter"
    assert effective.getdict("REDIS_PARAMS")["socket_timeout"] == 1


# -- polls: claims and leases ----------------------------------------------------------------


def polls_of(server: Any, prefix: str, worker: str) -> Any:
    from kwiff_scrapy.distributed.polls import RedisPolls

    return RedisPolls(server, f"{prefix}:watch", worker)


def test_a_due_task_is_claimed_by_one_worker_and_the_next_due_time_is_told(
    redis_server: Any, redis_prefix: str
) -> None:
    a, b = polls_of(redis_server, redis_prefix, "a"), polls_of(redis_server, redis_prefix, "b")
    assert a.schedule({"list": 0.0, "event:1": 60.0}) == 2
    assert a.schedule({"list": 0.0}) == 0  # known already
    first = a.claim(5, lease=30)
    assert [claim.task for claim in first.claimed] == ["list"]
    assert first.claimed[0].token.startswith("a#")
    assert first.soonest is not None
    assert 29 < first.soonest <= 30
    assert b.claim(5, lease=30).claimed == []
    assert a.tasks() == {"list", "event:1"}


def test_concurrent_claimers_take_each_due_task_exactly_once(
    redis_server: Any, redis_prefix: str
) -> None:
    tasks = {f"event:{n}": 0.0 for n in range(200)}
    polls_of(redis_server, redis_prefix, "setup").schedule(tasks)
    claimed: dict[str, list[str]] = {}

    def claimer(worker: str) -> None:
        polls = polls_of(redis_server, redis_prefix, worker)
        mine = claimed.setdefault(worker, [])
        while batch := polls.claim(3, lease=30).claimed:
            mine += [claim.task for claim in batch]

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [task for tasks_of_one in claimed.values() for task in tasks_of_one]
    assert sorted(every) == sorted(tasks)
    assert sum(1 for tasks_of_one in claimed.values() if tasks_of_one) > 1


def test_a_lease_that_runs_out_makes_the_task_due_again_for_another_worker(
    redis_server: Any, redis_prefix: str
) -> None:
    dead, alive = (
        polls_of(redis_server, redis_prefix, "dead"),
        polls_of(redis_server, redis_prefix, "alive"),
    )
    dead.schedule({"list": 0.0})
    (lost,) = dead.claim(1, lease=0.3).claimed
    taken: list[Any] = []

    def taken_over() -> bool:
        claims = alive.claim(1, lease=30)
        taken.extend(claims.claimed)
        return bool(claims.claimed) and claims.expired == 1

    wait_for(taken_over, "the expired lease handed on")
    assert taken[0].task == "list"
    assert taken[0].token != lost.token
    assert dead.renew([lost], 30) == ["list"]  # the dead worker's claim is no longer its


def test_renewing_extends_only_leases_still_held(redis_server: Any, redis_prefix: str) -> None:
    polls = polls_of(redis_server, redis_prefix, "a")
    polls.schedule({"list": 0.0})
    (claim,) = polls.claim(1, lease=5).claimed
    before = redis_server.zscore(polls.leases_key, "list")
    assert polls.renew([claim], 60) == []
    assert redis_server.zscore(polls.leases_key, "list") > before + 50


def test_a_released_claim_is_due_at_once(redis_server: Any, redis_prefix: str) -> None:
    a, b = polls_of(redis_server, redis_prefix, "a"), polls_of(redis_server, redis_prefix, "b")
    a.schedule({"list": 0.0})
    claims = a.claim(1, lease=60).claimed
    assert a.release(claims) == 1
    assert [claim.task for claim in b.claim(1, lease=60).claimed] == ["list"]
    assert a.release(claims) == 0  # no longer a's


# -- the snapshots' compare-and-set ------------------------------------------------------------


def snapshot(event_id: int, odds: float) -> EventSnapshot:
    point = PricePoint(1, "Match", 11, "Home", odds, None, True)
    return EventSnapshot(event_id, home_team="Home", outcomes={11: point}, fetched_at="t")


def state_of(server: Any, prefix: str, worker: str = "a") -> tuple[Any, Any]:
    from kwiff_scrapy.distributed.state import RedisSnapshots

    polls = polls_of(server, prefix, worker)
    return polls, RedisSnapshots(server, f"{prefix}:watch", polls)


def test_a_commit_writes_snapshots_and_schedules_the_next_poll_one_interval_later(
    redis_server: Any, redis_prefix: str
) -> None:
    from kwiff_scrapy.distributed.state import Commit, Outcome

    polls, snapshots = state_of(redis_server, redis_prefix)
    polls.schedule({"list": 0.0})
    (claim,) = polls.claim(1, lease=30).claimed
    loaded = snapshots.load([1, 2])
    assert loaded.snapshots == {}
    assert loaded.versions == {1: 0, 2: 0}
    done = snapshots.commit(
        claim, 10, Commit(expected=loaded.versions, writes={1: snapshot(1, 2.0)})
    )
    assert (done.outcome, done.baselined, done.overrun) == (Outcome.OK, False, False)
    assert snapshots.load([1]).snapshots == {1: snapshot(1, 2.0)}
    assert snapshots.load([1]).versions == {1: 1}
    assert snapshots.known() == {1}
    due = redis_server.zscore(polls.due_key, "list")
    assert due == pytest.approx(claim.due + 10)
    assert redis_server.hget(polls.holders_key, "list") is None
    # The next commit of the task knows it was baselined.
    redis_server.zadd(polls.due_key, {"list": 0})
    (claim,) = polls.claim(1, lease=30).claimed
    again = snapshots.commit(claim, 10, Commit(expected={1: 1}, writes={1: snapshot(1, 2.2)}))
    assert again.outcome is Outcome.OK
    assert again.baselined
    assert again.overrun


def test_a_commit_is_refused_when_a_snapshot_moved_or_the_lease_was_lost(
    redis_server: Any, redis_prefix: str
) -> None:
    from kwiff_scrapy.distributed.state import Commit, Outcome

    polls, snapshots = state_of(redis_server, redis_prefix, "a")
    other, _ = state_of(redis_server, redis_prefix, "b")
    polls.schedule({"event:1": 0.0, "list": 0.0})
    claims = {claim.task: claim for claim in polls.claim(2, lease=30).claimed}
    stale = snapshots.load([1]).versions
    assert (
        snapshots.commit(claims["event:1"], 10, Commit(writes={1: snapshot(1, 3.0)})).outcome
        is Outcome.OK
    )
    conflict = snapshots.commit(claims["list"], 10, Commit(expected=stale, deletes=[1]))
    assert conflict.outcome is Outcome.CONFLICT
    assert snapshots.load([1]).snapshots == {1: snapshot(1, 3.0)}  # nothing written
    # The list task's lease is taken over: its holder's commit is refused.
    redis_server.zadd(polls.leases_key, {"list": 0})
    (taken,) = other.claim(1, lease=30).claimed
    lost = snapshots.commit(claims["list"], 10, Commit(deletes=[1]))
    assert lost.outcome is Outcome.LOST
    assert snapshots.commit(taken, 10, Commit(deletes=[1])).outcome is Outcome.OK
    assert snapshots.known() == set()


def test_signal_states_move_with_their_events_snapshots(
    redis_server: Any, redis_prefix: str
) -> None:
    from kwiff_scrapy.distributed.state import Commit, Outcome

    polls, snapshots = state_of(redis_server, redis_prefix)
    polls.schedule({"event:1": 0.0, "list": 0.0})
    claims = {claim.task: claim for claim in polls.claim(2, lease=30).claimed}
    stale = snapshots.load([1]).versions
    first = Commit(expected=stale, writes={1: snapshot(1, 2.0)}, signal_writes={1: b"d-one"})
    assert snapshots.commit(claims["event:1"], 10, first).outcome is Outcome.OK
    assert snapshots.signal_states([1, 2]) == {1: b"d-one", 2: None}
    # A commit refused writes no state either.
    late = Commit(expected=stale, writes={1: snapshot(1, 1.8)}, signal_writes={1: b"d-late"})
    assert snapshots.commit(claims["list"], 10, late).outcome is Outcome.CONFLICT
    assert snapshots.signal_states([1]) == {1: b"d-one"}
    # An event deleted takes its state with it; a state can be deleted on its own.
    redis_server.zadd(polls.due_key, {"list": 0, "event:1": 0})
    claims = {claim.task: claim for claim in polls.claim(2, lease=30).claimed}
    two = Commit(writes={2: snapshot(2, 3.0)}, signal_writes={2: b"d-two"})
    assert snapshots.commit(claims["event:1"], 10, two).outcome is Outcome.OK
    gone = Commit(deletes=[1], signal_deletes=[2])
    assert snapshots.commit(claims["list"], 10, gone).outcome is Outcome.OK
    assert snapshots.signal_states([1, 2]) == {1: None, 2: None}
    assert snapshots.signals_key in snapshots.keys  # SCHEDULER_FLUSH_ON_START deletes them


def test_a_commit_adds_and_drops_tasks_atomically(redis_server: Any, redis_prefix: str) -> None:
    from kwiff_scrapy.distributed.state import Commit, Outcome

    polls, snapshots = state_of(redis_server, redis_prefix)
    polls.schedule({"list": 0.0, "event:1": 0.0, "event:2": 100.0})
    claims = {claim.task: claim for claim in polls.claim(2, lease=30).claimed}
    commit = Commit(add_tasks={"event:3": 5.0, "event:2": 0.0}, drop_tasks=["event:1"])
    assert snapshots.commit(claims["list"], 10, commit).outcome is Outcome.OK
    assert polls.tasks() == {"list", "event:2", "event:3"}
    assert redis_server.zscore(polls.due_key, "event:2") > claims["list"].due + 50  # kept
    # The dropped task's holder can no longer complete it.
    late = snapshots.commit(claims["event:1"], 10, Commit(writes={1: snapshot(1, 2.0)}))
    assert late.outcome is Outcome.LOST
    # A failed poll writes nothing and is due one interval later; a task can drop itself.
    redis_server.zadd(polls.due_key, {"event:3": 0})
    (claim,) = polls.claim(1, lease=30).claimed
    assert snapshots.commit(claim, 10, Commit(failed=True)).outcome is Outcome.OK
    assert not redis_server.sismember(snapshots.baselined_key, "event:3")
    redis_server.zadd(polls.due_key, {"event:3": 0})
    (claim,) = polls.claim(1, lease=30).claimed
    assert snapshots.commit(claim, 10, Commit(drop_tasks=["event:3"])).outcome is Outcome.OK
    assert "event:3" not in polls.tasks()


def test_snapshots_survive_the_round_trip_and_garbage_is_refused() -> None:
    from kwiff_scrapy.distributed.state import decode_snapshot, encode_snapshot

    original = snapshot(7, 1.5)
    by_names = EventSnapshot(
        8,
        betting_status="open",
        in_play=False,
        outcomes={
            (5, "Yes"): PricePoint(5, "BTTS", None, "Yes", 2.0, "1/1", False),
            ("Totals", None): PricePoint(None, "Totals", None, None, None, None, True),
            9: PricePoint(9, "Match", 9, "Home", 1.8, "4/5", True, 1.9, 0.05),
        },
    )
    for kept in (original, by_names):
        assert decode_snapshot(encode_snapshot(kept)) == kept
    # A price stored before the market's fair odds and overround (seven fields) still loads.
    older = {"id": 1, "outcomes": [[9, [9, "Match", 9, "Home", 1.8, "4/5", True]]]}
    loaded = decode_snapshot(b"j" + zlib.compress(json.dumps(older).encode()))
    assert loaded.outcomes[9] == PricePoint(9, "Match", 9, "Home", 1.8, "4/5", True)
    with pytest.raises(ValueError, match="not a snapshot"):
        decode_snapshot(b"garbage")
    for record in ({"a": 1}, {"id": 1, "outcomes": [[1, ["x"]]]}, {"id": 1, "outcomes": 3}):
        with pytest.raises(ValueError, match="not a snapshot"):
            decode_snapshot(b"j" + zlib.compress(json.dumps(record).encode()))


class Trap:
    """Unpickled, it creates *marker*: what a forged pickle in Redis could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_a_forged_snapshot_runs_no_code_and_is_compared_as_unseen(
    redis_server: Any, redis_prefix: str, tmp_path: Path
) -> None:
    from kwiff_scrapy.distributed.state import decode_snapshot

    marker = tmp_path / "ran"
    forged = b"z" + zlib.compress(pickle.dumps(Trap(marker)))  # the old pickle format
    with pytest.raises(ValueError, match="not a snapshot"):
        decode_snapshot(forged)
    _, snapshots = state_of(redis_server, redis_prefix)
    redis_server.hset(snapshots.snapshots_key, mapping={"7": forged, "8": pickle.dumps(1)})
    loaded = snapshots.load([7, 8])
    assert loaded.snapshots == {}
    assert loaded.unreadable == 2
    assert not marker.exists()
    pickle.loads(pickle.dumps(Trap(marker)))  # the trap is armed: unpickled, it runs
    assert marker.exists()


# -- when a shared crawl is over ------------------------------------------------------------


def shared_crawl(server: Any, prefix: str, worker: str, timeout: float = 30) -> Any:
    from kwiff_scrapy.distributed.termination import SharedCrawl

    return SharedCrawl(server, prefix, worker, timeout)


def test_the_first_worker_seeds_the_run_and_the_others_join_it(
    redis_server: Any, redis_prefix: str
) -> None:
    a, b = (
        shared_crawl(redis_server, redis_prefix, "a"),
        shared_crawl(redis_server, redis_prefix, "b"),
    )
    run_a, run_b = a.join(), b.join()
    assert run_a.id == run_b.id
    assert run_a.seeder == run_b.seeder == "a"
    assert not run_a.seeded


def test_the_run_is_over_only_when_seeded_nothing_queued_and_nobody_busy(
    redis_server: Any, redis_prefix: str
) -> None:
    from kwiff_scrapy.distributed.termination import Verdict

    queue = f"{redis_prefix}:requests"
    a, b = (
        shared_crawl(redis_server, redis_prefix, "a"),
        shared_crawl(redis_server, redis_prefix, "b"),
    )
    run = a.join()
    b.join()
    assert b.idle(run, queue).verdict is Verdict.BUSY  # the seeder has not seeded yet
    redis_server.zadd(queue, {"request": 0})
    assert a.idle(run, queue).verdict is Verdict.BUSY  # seeded now, but a request is queued
    redis_server.delete(queue)
    b.mark_busy()
    check = a.idle(run, queue)
    assert check.verdict is Verdict.BUSY
    assert check.seeded
    done = b.idle(run, queue)
    assert done.verdict is Verdict.DONE
    assert done.over
    assert a.finish(run, [queue]) is True
    assert redis_server.exists(a.run_key) == 0
    assert b.idle(run, queue).verdict is Verdict.ENDED
    assert b.finish(run, []) is False  # already over: nothing more deleted
    # A later crawl is a new run.
    assert b.join().id != run.id


def test_a_busy_worker_gone_silent_is_dropped_and_a_dead_seeder_replaced(
    redis_server: Any, redis_prefix: str
) -> None:
    from kwiff_scrapy.distributed.termination import Verdict

    queue = f"{redis_prefix}:requests"
    ghost = shared_crawl(redis_server, redis_prefix, "ghost", timeout=0.1)
    run = ghost.join()
    ghost.mark_busy()
    alive = shared_crawl(redis_server, redis_prefix, "alive")
    alive.join()
    wait_for(lambda: redis_server.exists(ghost.worker_key) == 0, "the ghost's sign of life gone")
    check = alive.idle(run, queue)
    assert check.verdict is Verdict.SEED
    assert check.lost_workers == ("ghost",)
    assert alive.idle(run, queue).verdict is Verdict.DONE  # alive seeded (nothing to queue)


# -- the scheduler on its own ------------------------------------------------------------------


async def open_scheduler(settings: dict[str, Any]) -> Any:
    from kwiff_scrapy.distributed.scheduler import Scheduler

    crawler = get_crawler(KwiffFootballSpider, {"KWIFF_WORKER_ID": "solo", **settings})
    crawler.spider = crawler._create_spider()
    scheduler = Scheduler.from_crawler(crawler)
    await maybe_deferred_to_future(scheduler.open(crawler.spider))
    return scheduler


async def close_scheduler(scheduler: Any) -> None:
    await maybe_deferred_to_future(scheduler.close("shutdown"))


async def take(scheduler: Any, count: int, what: str) -> list[Any]:
    """Ask the scheduler as the engine does until *count* requests came back (the pump
    takes them from Redis off the event loop)."""
    taken: list[Any] = []

    def enough() -> bool:
        request = scheduler.next_request()
        if request is not None:
            taken.append(request)
        return len(taken) >= count

    await until(enough, what)
    return taken


async def until(condition: Any, what: str) -> None:
    """Return once ``condition()`` holds; fail saying *what* never happened."""
    await waiting.until(condition, what)


async def test_a_command_request_comes_back_from_the_queue_as_the_same_request(
    redis_prefix: str,
) -> None:
    scheduler = await open_scheduler(distributed_settings(redis_prefix))
    spider = scheduler.spider
    dropped: list[Any] = []
    scheduler.crawler.signals.connect(
        lambda request, spider: dropped.append(request), signal=signals.request_dropped, weak=False
    )
    request = KwiffRequest(
        "event:get",
        {"eventId": 10744160},
        host="web-api.kwiff.example",
        callback=spider.parse_event_get,
        errback=spider.event_get_failed,
        cb_kwargs={"listed": None},
        meta={"note": "kept"},
        priority=3,
    )
    duplicate = request.copy()
    try:
        assert scheduler.enqueue_request(request) is True
        assert scheduler.enqueue_request(duplicate) is True  # filtered when sent
        (back,) = await take(scheduler, 1, "the request back from the queue")
        await until(lambda: dropped, "the duplicate dropped by the shared dupe filter")
    finally:
        await close_scheduler(scheduler)
    assert dropped == [duplicate]
    assert isinstance(back, KwiffRequest)
    assert (back.message, back.payload, back.host) == (
        "event:get",
        {"eventId": 10744160},
        "web-api.kwiff.example",
    )
    assert back.url == request.url
    assert back.body == request.body
    assert back.meta["note"] == "kept"
    assert back.priority == 3
    assert back.callback == spider.parse_event_get
    assert back.errback == spider.event_get_failed
    assert back.cb_kwargs == {"listed": None}
    assert scheduler.stats.get_value(stats.REDIS_ENQUEUED) == 1
    assert scheduler.stats.get_value(stats.REDIS_DEQUEUED) == 1


async def test_a_request_taken_from_the_queue_gets_this_workers_own_proxy(
    redis_prefix: str,
) -> None:
    scheduler = await open_scheduler(distributed_settings(redis_prefix))
    from_environment = KwiffRequest(
        "event:get",
        {"eventId": 1},
        headers={"Proxy-Authorization": "Basic b3RoZXI6c2VjcmV0"},
        meta={
            "proxy": "http://other:3128",
            "_scheme_proxy": True,
            "_auth_proxy": "http://other:3128",
        },
    )
    chosen = KwiffRequest("event:get", {"eventId": 2}, meta={"proxy": "http://chosen:3128"})
    try:
        scheduler.enqueue_request(from_environment)
        scheduler.enqueue_request(chosen)
        taken = {
            request.payload["eventId"]: request
            for request in await take(scheduler, 2, "both requests back from the queue")
        }
    finally:
        await close_scheduler(scheduler)
    assert "proxy" not in taken[1].meta
    assert "_auth_proxy" not in taken[1].meta
    assert b"Proxy-Authorization" not in taken[1].headers
    assert taken[2].meta["proxy"] == "http://chosen:3128"  # the spider's own choice stays


async def test_an_unreadable_entry_is_dropped_and_counted_not_raised(
    redis_prefix: str, redis_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = await open_scheduler(distributed_settings(redis_prefix))
    try:
        redis_server.zadd(scheduler.queue.key, {b"not a pickle": -10})
        entry = pickle.dumps({"url": "kwiff://x/event:get", "callback": "no_such_method"})
        redis_server.zadd(scheduler.queue.key, {entry: -5})
        good = KwiffRequest("event:list", {"sportId": 11})
        scheduler.enqueue_request(good)
        with caplog.at_level(logging.WARNING):
            (back,) = await take(scheduler, 1, "the good request past the bad entries")
    finally:
        await close_scheduler(scheduler)
    assert back.payload == {"sportId": 11}
    assert scheduler.stats.get_value(stats.REDIS_UNDECODABLE) == 2
    assert "cannot be read" in caplog.text


def test_signed_entries_round_trip_and_a_forged_one_is_refused_unread(tmp_path: Path) -> None:
    from scrapy_redis import picklecompat

    from kwiff_scrapy.distributed.signing import SIGNED_PREFIX, ForgedEntry, SignedSerializer

    marker = tmp_path / "ran"
    ours = SignedSerializer(picklecompat, "the shared secret")
    entry = ours.dumps({"url": "kwiff://x"})
    assert entry.startswith(SIGNED_PREFIX)
    assert ours.loads(entry) == {"url": "kwiff://x"}
    trap = pickle.dumps(Trap(marker))
    other_secret = SignedSerializer(picklecompat, "another secret").dumps(Trap(marker))
    tampered = entry[: len(SIGNED_PREFIX) + 32] + trap
    for forged in (trap, other_secret, tampered, b"", SIGNED_PREFIX):
        with pytest.raises(ForgedEntry):
            ours.loads(forged)
    assert not marker.exists()
    assert "the shared secret" not in repr(ours)


async def test_a_forged_queue_entry_is_dropped_counted_and_runs_no_code(
    redis_prefix: str, redis_server: Any, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    secret = "s3cret-of-the-workers"
    scheduler = await open_scheduler(distributed_settings(redis_prefix, KWIFF_REDIS_SECRET=secret))
    try:
        redis_server.zadd(scheduler.queue.key, {pickle.dumps(Trap(marker)): -10})
        scheduler.enqueue_request(KwiffRequest("event:list", {"sportId": 11}))
        with caplog.at_level(logging.WARNING):
            (back,) = await take(scheduler, 1, "the signed request past the forged entry")
    finally:
        await close_scheduler(scheduler)
    assert back.payload == {"sportId": 11}
    assert not marker.exists()
    assert scheduler.stats.get_value(stats.REDIS_FORGED) == 1
    assert scheduler.stats.get_value(stats.REDIS_UNDECODABLE) is None
    assert "not signed with this worker's KWIFF_REDIS_SECRET" in caplog.text
    assert secret not in caplog.text


async def test_a_request_that_cannot_be_serialised_is_sent_by_this_worker(
    redis_prefix: str,
) -> None:
    scheduler = await open_scheduler(distributed_settings(redis_prefix))
    request = KwiffRequest("event:get", {"eventId": 1}, callback=lambda response: None)
    try:
        assert scheduler.enqueue_request(request) is True
        assert scheduler.has_pending_requests()
        assert await take(scheduler, 1, "the request kept by this worker") == [request]
        assert len(scheduler.queue) == 0
    finally:
        await close_scheduler(scheduler)
    assert scheduler.stats.get_value(stats.REDIS_KEPT_LOCAL) == 1


async def test_requests_yielded_while_redis_is_away_are_queued_when_it_is_back(
    redis_prefix: str, redis_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    link = CuttableLink()
    link.up()
    scheduler = await open_scheduler(
        distributed_settings(
            redis_prefix, link.url, KWIFF_REDIS_RETRY_DELAY=0.05, KWIFF_REDIS_RETRY_MAX_DELAY=0.2
        )
    )
    first, second = (KwiffRequest("event:get", {"eventId": n}) for n in (1, 2))
    try:
        with caplog.at_level(logging.INFO):
            link.down()
            assert scheduler.enqueue_request(first) is True  # kept, not lost
            assert scheduler.enqueue_request(second) is True
            assert scheduler.has_pending_requests()
            assert scheduler.next_request() is None  # waits, does not raise
            await until(
                lambda: scheduler.stats.get_value(stats.REDIS_OUTAGES) == 1, "Redis seen away"
            )
            assert scheduler.has_pending_requests()
            link.up()
            taken = await take(scheduler, 2, "the kept requests, once Redis is back")
    finally:
        link.down()
        await close_scheduler(scheduler)
    assert sorted(request.payload["eventId"] for request in taken) == [1, 2]
    assert "Redis is unreachable" in caplog.text
    assert "reachable again" in caplog.text
    assert scheduler.stats.get_value(stats.REDIS_OUTAGES) == 1
    assert scheduler.stats.get_value(stats.REDIS_RECOVERIES) == 1
    assert scheduler.stats.get_value(stats.REDIS_KEPT_DURING_OUTAGE) == 2


async def test_a_request_taken_and_not_handed_out_goes_back_to_the_queue_on_close(
    redis_prefix: str,
) -> None:
    scheduler = await open_scheduler(distributed_settings(redis_prefix))
    scheduler.enqueue_request(KwiffRequest("event:get", {"eventId": 1}))
    assert scheduler.next_request() is None  # the pump takes it for the next call
    await until(lambda: scheduler._taken, "the request taken from the queue")
    await close_scheduler(scheduler)
    again = await open_scheduler(distributed_settings(redis_prefix))
    try:
        (back,) = await take(again, 1, "the request back from the queue")
    finally:
        await close_scheduler(again)
    assert back.payload == {"eventId": 1}


async def test_unreachable_redis_at_start_is_one_clear_error() -> None:
    from kwiff_scrapy.distributed.connection import RedisUnreachable

    with pytest.raises(RedisUnreachable, match=r"Redis at redis://127\.0\.0\.1:1/0 is unreachable"):
        await open_scheduler(distributed_settings("unused", "redis://127.0.0.1:1/0"))
