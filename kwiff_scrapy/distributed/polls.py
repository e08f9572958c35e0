"""Recurring, timed polls shared by several workers: due times and leases in Redis.

scrapy-redis shares one-shot requests; it has no notion of "poll this every 10 s". A
shared watch keeps its polls (*tasks*: ``list``, ``event:<id>``) here, under its key:

``<key>:due``
    sorted set, task -> when it is next due (Redis server time, seconds).
``<key>:leases``
    sorted set, task -> when the lease of the worker polling it runs out.
``<key>:holders``
    hash, task -> the token of the claim that holds it.
``<key>:polled``
    hash, task -> ``<when>:<failed>``: when its last poll was completed (Redis time) and
    whether it failed (``1``), written by :mod:`.state`'s commit, for ``scrapy kwiff status``.

A task is in exactly one of ``due`` and ``leases``. :meth:`RedisPolls.claim` moves
tasks that are due into ``leases`` atomically, each with a fresh token, so that one
worker polls each one; the holder renews its leases while it polls
(:meth:`~RedisPolls.renew`) and completes the poll with the compare-and-set of
:mod:`.state`, which puts the task back in ``due`` one interval later. A lease that
runs out (its worker died, or lost Redis for longer than the lease) is found by the
next claim of any worker, and the task is due again at once: a dead worker's polls
are taken over within one lease. The tokens make a late holder harmless: its commit
is refused once another claim holds the task. Times are Redis's (``TIME``), so the
workers' clocks need not agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .connection import redis_text

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from redis import Redis

#: Redis's clock inside scripts, in seconds (a float).
NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
"""

_CLAIM = (
    NOW
    + """
-- KEYS: due, leases, holders, claims counter. ARGV: worker, lease (s), most to claim.
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
local holders = {}
for _, task in ipairs(expired) do
  local holder = redis.call('HGET', KEYS[3], task)
  if holder then table.insert(holders, holder) end
  redis.call('ZREM', KEYS[2], task)
  redis.call('HDEL', KEYS[3], task)
  redis.call('ZADD', KEYS[1], now, task)
end
local claimed = {}
local most = tonumber(ARGV[3])
if most > 0 then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, most)
  for i = 1, #due, 2 do
    local token = ARGV[1] .. '#' .. redis.call('INCR', KEYS[4])
    redis.call('ZREM', KEYS[1], due[i])
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), due[i])
    redis.call('HSET', KEYS[3], due[i], token)
    table.insert(claimed, due[i])
    table.insert(claimed, token)
    table.insert(claimed, due[i + 1])
  end
end
local soonest = ''
local first_due = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local first_lease = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local at = nil
if #first_due > 0 then at = tonumber(first_due[2]) end
if #first_lease > 0 and (at == nil or tonumber(first_lease[2]) < at) then
  at = tonumber(first_lease[2])
end
if at ~= nil then soonest = string.format('%.6f', at - now) end
return {claimed, #expired, soonest, holders}
"""
)

_RENEW = (
    NOW
    + """
-- KEYS: leases, holders. ARGV: lease (s), then task, token pairs. Returns the tasks lost.
local lost = {}
for i = 2, #ARGV, 2 do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""
)

_SCHEDULE = (
    NOW
    + """
-- KEYS: due, leases. ARGV: task, delay (s) pairs. Adds the tasks not known yet.
local added = 0
for i = 1, #ARGV, 2 do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) and not redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[i + 1]), ARGV[i])
    added = added + 1
  end
end
return added
"""
)

_RELEASE = (
    NOW
    + """
-- KEYS: due, leases, holders. ARGV: task, token pairs. Due again at once if still held.
local released = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[i + 1] then
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('HDEL', KEYS[3], ARGV[i])
    redis.call('ZADD', KEYS[1], now, ARGV[i])
    released = released + 1
  end
end
return released
"""
)


@dataclass(frozen=True, slots=True)
class Claim:
    """One task claimed by this worker: poll it, then commit with :attr:`token`."""

    task: str
    token: str
    due: float
    """When it was due (Redis time): the next poll is due one interval later."""


@dataclass(frozen=True, slots=True)
class Claims:
    """What :meth:`RedisPolls.claim` found."""

    claimed: list[Claim]
    expired: int
    """Leases found run out (their tasks were due again at once)."""
    soonest: float | None
    """Seconds until the next task is due or the next lease runs out (None: no task)."""
    lapsed_holders: tuple[str, ...] = ()
    """The workers whose leases those were (each once, sorted)."""


class RedisPolls:
    """The tasks of one shared watch, under *key* (synchronous Redis calls)."""

    def __init__(self, server: Redis, key: str, worker: str) -> None:
        self.server = server
        self.worker = worker
        self.due_key = f"{key}:due"
        self.leases_key = f"{key}:leases"
        self.holders_key = f"{key}:holders"
        self.claims_key = f"{key}:claims"
        self.polled_key = f"{key}:polled"
        self._claim = server.register_script(_CLAIM)
        self._renew = server.register_script(_RENEW)
        self._schedule = server.register_script(_SCHEDULE)
        self._release = server.register_script(_RELEASE)

    @property
    def keys(self) -> list[str]:
        return [self.due_key, self.leases_key, self.holders_key, self.claims_key, self.polled_key]

    def schedule(self, delays: Mapping[str, float]) -> int:
        """Add each task not known yet, due *delay* seconds from now; how many were added."""
        args = [value for task, delay in delays.items() for value in (task, _number(delay))]
        if not args:
            return 0
        return int(self._schedule(keys=[self.due_key, self.leases_key], args=args))

    def claim(self, most: int, lease: float) -> Claims:
        """Claim up to *most* due tasks for *lease* seconds (expired leases are due first)."""
        rows, expired, soonest, holders = self._claim(
            keys=self.keys, args=[self.worker, _number(lease), max(0, most)]
        )
        claimed = [
            Claim(redis_text(rows[i]), redis_text(rows[i + 1]), float(rows[i + 2]))
            for i in range(0, len(rows), 3)
        ]
        wait = float(soonest) if redis_text(soonest) else None
        # A claim's token is "<worker>#<claim number>".
        lapsed = sorted({redis_text(token).rpartition("#")[0] for token in holders})
        return Claims(claimed, int(expired), wait, tuple(lapsed))

    def renew(self, claims: Iterable[Claim], lease: float) -> list[str]:
        """Extend the leases still held; the tasks whose lease was lost."""
        args: list[str] = [_number(lease)]
        for claim in claims:
            args += [claim.task, claim.token]
        if len(args) == 1:
            return []
        lost = self._renew(keys=[self.leases_key, self.holders_key], args=args)
        return [redis_text(task) for task in lost]

    def release(self, claims: Iterable[Claim]) -> int:
        """Hand back claims not polled (this worker stops): due again at once."""
        args = [value for claim in claims for value in (claim.task, claim.token)]
        if not args:
            return 0
        keys = [self.due_key, self.leases_key, self.holders_key]
        return int(self._release(keys=keys, args=args))

    def tasks(self) -> set[str]:
        """Every task, due or held."""
        with self.server.pipeline() as pipe:
            pipe.zrange(self.due_key, 0, -1)
            pipe.zrange(self.leases_key, 0, -1)
            due, leased = pipe.execute()
        return {redis_text(task) for task in (*due, *leased)}


def _number(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"not a finite number of seconds: {value}")
    return repr(float(value))
