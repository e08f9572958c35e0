"""One crawl shared by several workers: who seeds it, who is busy, and when it is over.

scrapy-redis ends a worker when its queue stays empty for ``SCHEDULER_IDLE_BEFORE_CLOSE``
seconds (a blocking pop) or never; with several workers neither is right: the queue is
empty for a moment whenever every queued command has been taken, while the answers to
come will bring more. A shared crawl is over when **the queue is empty and no worker
has a request in progress** (taken, and its callback's output not yet queued), and the
one worker that seeds the crawl has yielded all its start requests.

The Redis keys, under the crawl's prefix (``KWIFF_REDIS_KEY``, ``%(spider)s`` by default):

``<prefix>:run``
    hash: ``id`` of the run, ``seeder`` (the worker whose start requests seed it),
    ``seeded`` (``1`` once the seeder has yielded them all: its first idle moment).
``<prefix>:busy``
    hash: worker -> ``1`` while it may have requests in progress. A worker sets it
    before it takes a request from the queue and clears it when Scrapy finds it idle
    (everything it took is done, and what the callbacks yielded is queued).
``<prefix>:worker:<id>``
    a sign of life, with a TTL of ``KWIFF_REDIS_WORKER_TIMEOUT``, refreshed by the worker:
    a hash of what the worker tells about itself (:data:`WORKER_FIELDS`: its host and
    pid, polls claimed, commands in progress...) and ``seen``, ``started`` (Redis times),
    for ``scrapy kwiff status``.

The first worker of a run creates ``run`` and seeds it; the others join, and leave
their start requests to the seeder (held until the run is seeded, so that one of them
can seed it if the seeder dies first). Each idle worker runs :data:`_IDLE`, one atomic
script: it clears its busy flag and tells whether the run is over. A busy worker whose
sign of life has expired is taken as gone: its requests in progress are lost (it is
counted and logged) and no longer hold the crawl open. The run is deleted when it is
over, so the next ``scrapy crawl`` starts a new one.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .connection import redis_text
from .polls import NOW

if TYPE_CHECKING:
    from collections.abc import Mapping

    from redis import Redis

#: Refreshes a worker's sign of life (a hash, valid for the worker timeout), and when.
_SIGN_OF_LIFE = """
if redis.call('TYPE', KEYS[2])['ok'] ~= 'hash' then redis.call('DEL', KEYS[2]) end
redis.call('HSET', KEYS[2], 'seen', string.format('%.6f', now))
redis.call('HSETNX', KEYS[2], 'started', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[2], ARGV[3])
"""

_JOIN = (
    NOW
    + """
-- KEYS: run, worker key. ARGV: worker, new run id, worker timeout (ms).
"""
    + _SIGN_OF_LIFE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'id', ARGV[2], 'seeder', ARGV[1], 'seeded', '0')
end
return redis.call('HMGET', KEYS[1], 'id', 'seeder', 'seeded')
"""
)

_HEARTBEAT = (
    NOW
    + """
-- KEYS: (unused), worker key. ARGV: (unused), (unused), worker timeout (ms), then field,
-- value pairs of what the worker tells about itself.
"""
    + _SIGN_OF_LIFE
    + """
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
"""
)

#: What a worker tells about itself in its sign of life (all optional, as text).
WORKER_FIELDS = (
    "host",
    "pid",
    "spider",
    "queue",  # the shared queue's key
    "watch",  # the shared watch's key, for a watch
    "claimed",  # polls of a shared watch claimed so far
    "in_progress",  # commands sent and not answered yet
)

_IDLE = """
-- KEYS: run, busy, queue. ARGV: worker, run id, worker key prefix.
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[2] then return {'ended', '1'} end
if redis.call('HGET', KEYS[1], 'seeder') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'seeded', '1')
end
local lost = {}
local verdict = 'done'
local busy = redis.call('HKEYS', KEYS[2])
for _, worker in ipairs(busy) do
  if redis.call('EXISTS', ARGV[3] .. worker) == 1 then
    verdict = 'busy'
  else
    redis.call('HDEL', KEYS[2], worker)
    table.insert(lost, worker)
  end
end
local kind = redis.call('TYPE', KEYS[3])['ok']
if kind == 'zset' then
  if redis.call('ZCARD', KEYS[3]) > 0 then verdict = 'busy' end
elseif kind ~= 'none' then
  if redis.call('LLEN', KEYS[3]) > 0 then verdict = 'busy' end
end
if redis.call('HGET', KEYS[1], 'seeded') ~= '1' then
  local seeder = redis.call('HGET', KEYS[1], 'seeder')
  if redis.call('EXISTS', ARGV[3] .. seeder) == 0 then
    redis.call('HSET', KEYS[1], 'seeder', ARGV[1])
    verdict = 'seed'
  else
    verdict = 'busy'
  end
end
return {verdict, redis.call('HGET', KEYS[1], 'seeded'), unpack(lost)}
"""

_FINISH = """
-- KEYS: run, busy, worker key, then the keys to delete. ARGV: run id, worker.
redis.call('DEL', KEYS[3])
redis.call('HDEL', KEYS[2], ARGV[2])
if redis.call('HGET', KEYS[1], 'id') == ARGV[1] then
  for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
"""


class Verdict(enum.Enum):
    """What an idle worker learns about its run."""

    BUSY = "busy"
    """Others have work in progress or queued: stay open."""
    DONE = "done"
    """Nothing queued, nothing in progress, seeded: the crawl is over."""
    ENDED = "ended"
    """The run is gone (another worker saw it over and deleted it): over too."""
    SEED = "seed"
    """The seeder is gone before it seeded: this worker seeds the run now."""


@dataclass(frozen=True, slots=True)
class Run:
    """The run a worker joined."""

    id: str
    seeder: str
    seeded: bool


@dataclass(frozen=True, slots=True)
class IdleCheck:
    """The answer of an idle check: the verdict, whether the run is seeded, workers found gone."""

    verdict: Verdict
    seeded: bool = False
    lost_workers: tuple[str, ...] = ()

    @property
    def over(self) -> bool:
        return self.verdict in (Verdict.DONE, Verdict.ENDED)


class SharedCrawl:
    """The Redis side of one worker's membership in a shared crawl (synchronous calls)."""

    def __init__(self, server: Redis, prefix: str, worker: str, worker_timeout: float) -> None:
        self.server = server
        self.worker = worker
        self.run_key = f"{prefix}:run"
        self.busy_key = f"{prefix}:busy"
        self.worker_prefix = f"{prefix}:worker:"
        self.worker_key = f"{self.worker_prefix}{worker}"
        self._timeout_ms = max(1, round(worker_timeout * 1000))
        self._join = server.register_script(_JOIN)
        self._idle = server.register_script(_IDLE)
        self._finish = server.register_script(_FINISH)
        self._heartbeat = server.register_script(_HEARTBEAT)

    def join(self) -> Run:
        """Join the current run, or start one (this worker then seeds it)."""
        run_id, seeder, seeded = self._join(
            keys=[self.run_key, self.worker_key],
            args=[self.worker, uuid.uuid4().hex, self._timeout_ms],
        )
        return Run(redis_text(run_id), redis_text(seeder), redis_text(seeded) == "1")

    def heartbeat(self, about: Mapping[str, str] | None = None) -> None:
        """A sign of life, valid for the worker timeout, with what *about* tells (fields
        of :data:`WORKER_FIELDS`)."""
        args: list[str | int] = ["", "", self._timeout_ms]
        for name, value in (about or {}).items():
            args += [name, value]
        self._heartbeat(keys=["", self.worker_key], args=args)

    def mark_busy(self) -> bool:
        """Before taking requests: this worker may have work in progress."""
        self.server.hset(self.busy_key, self.worker, "1")
        return True

    def idle(self, run: Run, queue_key: str) -> IdleCheck:
        """This worker is idle: clear its busy flag; is the run over?"""
        verdict, seeded, *lost = self._idle(
            keys=[self.run_key, self.busy_key, queue_key],
            args=[self.worker, run.id, self.worker_prefix],
        )
        return IdleCheck(
            Verdict(redis_text(verdict)),
            redis_text(seeded) == "1",
            tuple(redis_text(w) for w in lost),
        )

    def finish(self, run: Run | None, delete: list[str]) -> bool:
        """Leave; if *run* is still current, delete it and the keys in *delete* (it is over)."""
        keys = [self.run_key, self.busy_key, self.worker_key, *delete]
        return bool(self._finish(keys=keys, args=[run.id if run else "", self.worker]))

    def leave(self) -> None:
        """Leave the run without ending it: clear the busy flag and the sign of life."""
        with self.server.pipeline() as pipe:
            pipe.hdel(self.busy_key, self.worker)
            pipe.delete(self.worker_key)
            pipe.execute()

    def flush(self) -> None:
        """Forget the run (``SCHEDULER_FLUSH_ON_START``): the next worker to join starts one."""
        self.server.delete(self.run_key, self.busy_key)

    def other_workers(self) -> list[str]:
        """The other workers that gave a sign of life within the worker timeout."""
        found = self.server.scan_iter(match=f"{self.worker_prefix}*", count=1000)
        names = (redis_text(key).removeprefix(self.worker_prefix) for key in found)
        return sorted(name for name in names if name != self.worker)
