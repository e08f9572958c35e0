"""A shared watch's last-seen snapshots in Redis, changed only by an atomic compare-and-set.

Under the watch's key (next to the polls of :mod:`.polls`):

``<key>:snapshots``
    hash, event id -> the event's last :class:`~kwiff_scrapy.model.changes.EventSnapshot`
    (pickled and compressed: every worker runs the same kwiff_scrapy).
``<key>:versions``
    hash, event id -> how many times its snapshot was written or deleted (never reset).
``<key>:baselined``
    set of the tasks that have completed a successful poll (``baseline=0``).

A worker that polled a task reads the snapshots it needs with their versions
(:meth:`RedisSnapshots.load`), compares the answer with them, then calls
:meth:`RedisSnapshots.commit`: one Lua script that checks that the claim still holds the
task (else ``lost``: another worker took it over) and that none of those versions moved
(else ``conflict``: read again and compare again), then writes the new snapshots, adds
or drops tasks, and schedules the task's next poll, all at once. The changes are
yielded only after an ``ok``, so each is reported by exactly one worker.
"""

from __future__ import annotations

import enum
import pickle
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..model.changes import EventSnapshot
from .polls import NOW, Claim, RedisPolls

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from redis import Redis

#: First byte of a stored snapshot: zlib-compressed pickle.
_FORMAT = b"z"

_COMMIT = (
    NOW
    + """
-- KEYS: due, leases, holders, snapshots, versions, baselined.
-- ARGV: task, token, due, interval, failed (0/1), then counted groups:
--   versions expected (id, version)*, writes (id, blob)*, deletes id*,
--   tasks to add (task, delay)*, tasks to drop task*.
local task, token = ARGV[1], ARGV[2]
if redis.call('HGET', KEYS[3], task) ~= token then return {'lost', '0', '0'} end
local i = 6
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  if (redis.call('HGET', KEYS[5], ARGV[i]) or '0') ~= ARGV[i + 1] then
    return {'conflict', '0', '0'}
  end
  i = i + 2
end
local was = redis.call('SISMEMBER', KEYS[6], task)
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
  redis.call('HINCRBY', KEYS[5], ARGV[i], 1)
  i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HDEL', KEYS[4], ARGV[i])
  redis.call('HINCRBY', KEYS[5], ARGV[i], 1)
  i = i + 1
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local new = ARGV[i]
  if not redis.call('ZSCORE', KEYS[1], new) and not redis.call('ZSCORE', KEYS[2], new) then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[i + 1]), new)
    if was == 1 then redis.call('SADD', KEYS[6], new) end
  end
  i = i + 2
end
local dropped = false
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('HDEL', KEYS[3], ARGV[i])
  redis.call('SREM', KEYS[6], ARGV[i])
  if ARGV[i] == task then dropped = true end
  i = i + 1
end
redis.call('ZREM', KEYS[2], task)
redis.call('HDEL', KEYS[3], task)
local overrun = '0'
if not dropped then
  local next_due = tonumber(ARGV[3]) + tonumber(ARGV[4])
  if next_due < now then
    next_due = now
    overrun = '1'
  end
  redis.call('ZADD', KEYS[1], next_due, task)
  if ARGV[5] == '0' then redis.call('SADD', KEYS[6], task) end
end
return {'ok', tostring(was), overrun}
"""
)


class Outcome(enum.Enum):
    OK = "ok"
    """Written: yield the changes."""
    LOST = "lost"
    """The claim no longer holds the task (its lease ran out and another worker took it)."""
    CONFLICT = "conflict"
    """A snapshot changed since it was read: read again, compare again."""


@dataclass(frozen=True, slots=True)
class Committed:
    outcome: Outcome
    baselined: bool = False
    """Whether the task had completed a successful poll before this one."""
    overrun: bool = False
    """The poll ended after its next one was due: the next is due at once."""


@dataclass
class Loaded:
    """Snapshots read for a comparison, and the versions the commit will expect."""

    snapshots: dict[int, EventSnapshot] = field(default_factory=dict)
    versions: dict[int, int] = field(default_factory=dict)


@dataclass
class Commit:
    """What a poll writes (besides scheduling its next poll)."""

    expected: Mapping[int, int] = field(default_factory=dict)
    writes: Mapping[int, EventSnapshot] = field(default_factory=dict)
    deletes: Iterable[int] = ()
    add_tasks: Mapping[str, float] = field(default_factory=dict)
    """Tasks to add if unknown, each due so many seconds from now."""
    drop_tasks: Iterable[str] = ()
    failed: bool = False
    """The poll failed: nothing is written, the task is due again one interval later."""


class RedisSnapshots:
    """The snapshots of one shared watch, under *key* (synchronous Redis calls)."""

    def __init__(self, server: Redis, key: str, polls: RedisPolls) -> None:
        self.server = server
        self.polls = polls
        self.snapshots_key = f"{key}:snapshots"
        self.versions_key = f"{key}:versions"
        self.baselined_key = f"{key}:baselined"
        self._commit = server.register_script(_COMMIT)

    @property
    def keys(self) -> list[str]:
        return [self.snapshots_key, self.versions_key, self.baselined_key]

    def known(self) -> set[int]:
        """The ids of every event with a snapshot."""
        return {int(event_id) for event_id in self.server.hkeys(self.snapshots_key)}

    def load(self, event_ids: Iterable[int]) -> Loaded:
        """The snapshots of *event_ids* (those that have one) and every id's version."""
        ids = sorted(set(event_ids))
        if not ids:
            return Loaded()
        with self.server.pipeline(transaction=True) as pipe:  # one consistent read
            pipe.hmget(self.snapshots_key, ids)
            pipe.hmget(self.versions_key, ids)
            blobs, versions = pipe.execute()
        loaded = Loaded()
        for event_id, blob, version in zip(ids, blobs, versions, strict=True):
            loaded.versions[event_id] = int(version or 0)
            if blob is not None:
                loaded.snapshots[event_id] = decode_snapshot(blob)
        return loaded

    def commit(self, claim: Claim, interval: float, commit: Commit) -> Committed:
        """Complete the poll of *claim*: check, write and schedule its next poll atomically."""
        args: list[str | bytes | int] = [
            claim.task,
            claim.token,
            repr(claim.due),
            repr(float(interval)),
            int(commit.failed),
        ]
        expected = dict(commit.expected)
        args.append(len(expected))
        for event_id, version in expected.items():
            args += [event_id, version]
        writes = dict(commit.writes)
        args.append(len(writes))
        for event_id, snapshot in writes.items():
            args += [event_id, encode_snapshot(snapshot)]
        deletes = list(commit.deletes)
        args += [len(deletes), *deletes]
        add = dict(commit.add_tasks)
        args.append(len(add))
        for task, delay in add.items():
            args += [task, repr(float(delay))]
        drop = list(commit.drop_tasks)
        args += [len(drop), *drop]
        keys = [self.polls.due_key, self.polls.leases_key, self.polls.holders_key, *self.keys]
        outcome, baselined, overrun = self._commit(keys=keys, args=args)
        return Committed(Outcome(_text(outcome)), _text(baselined) == "1", _text(overrun) == "1")


def encode_snapshot(snapshot: EventSnapshot) -> bytes:
    return _FORMAT + zlib.compress(pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL), 1)


def decode_snapshot(blob: bytes) -> EventSnapshot:
    if not blob.startswith(_FORMAT):
        raise ValueError("not a snapshot stored by kwiff_scrapy")
    snapshot = pickle.loads(zlib.decompress(blob[len(_FORMAT) :]))
    if not isinstance(snapshot, EventSnapshot):
        raise ValueError(f"not a snapshot: {type(snapshot).__name__}")
    return snapshot


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
