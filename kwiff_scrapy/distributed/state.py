"""A shared watch's last-seen snapshots in Redis, changed only by an atomic compare-and-set.

Under the watch's key (next to the polls of :mod:`.polls`):

``<key>:snapshots``
    hash, event id -> the event's last :class:`~kwiff_scrapy.model.changes.EventSnapshot`
    (compressed JSON: data, never code; a snapshot that cannot be read is ignored, and
    the event is compared as not seen before).
``<key>:versions``
    hash, event id -> how many times its snapshot was written or deleted (never reset).
``<key>:baselined``
    set of the tasks that have completed a successful poll (``baseline=0``).
``<key>:signals``
    hash, event id -> the event's signal detector state (:mod:`.signal_states`), written
    and deleted only with the event's snapshot.
``<key>:commits``
    hash, task -> the claim that completed it last (its token, then what the commit
    returned): a worker whose commit call failed without a reply (Redis restarted, the
    connection cut) asks it whether the commit went through (:meth:`RedisSnapshots.landed`).

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
import json
import logging
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..model.changes import SNAPSHOT_HEADER, EventSnapshot, OutcomeKey, PricePoint
from .connection import redis_text
from .polls import NOW, Claim, RedisPolls

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from redis import Redis

logger = logging.getLogger(__name__)

#: First byte of a stored snapshot: zlib-compressed JSON.
_FORMAT = b"j"

_COMMIT = (
    NOW
    + """
-- KEYS: due, leases, holders, snapshots, versions, baselined, signals, commits,
--   polled (last).
-- ARGV: task, token, due, interval, failed (0/1), then counted groups:
--   versions expected (id, version)*, writes (id, blob)*, deletes id*,
--   tasks to add (task, delay)*, tasks to drop task*,
--   signal states to write (id, blob)*, signal states to delete id*.
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
  redis.call('HDEL', KEYS[7], ARGV[i])
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
  redis.call('HDEL', KEYS[#KEYS], ARGV[i])
  redis.call('HDEL', KEYS[8], ARGV[i])
  if ARGV[i] == task then dropped = true end
  i = i + 1
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HSET', KEYS[7], ARGV[i], ARGV[i + 1])
  i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HDEL', KEYS[7], ARGV[i])
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
  -- The last KEY, whatever comes before it: the polls' record of when each was completed.
  redis.call('HSET', KEYS[#KEYS], task, string.format('%.6f', now) .. ':' .. ARGV[5])
end
-- Which claim completed the task last: a worker whose reply was lost can ask.
redis.call('HSET', KEYS[8], task, token .. ' ' .. tostring(was) .. ' ' .. overrun)
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
    unreadable: int = 0
    """Stored snapshots that could not be read (not written by kwiff_scrapy): ignored."""


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
    signal_writes: Mapping[int, bytes] = field(default_factory=dict)
    """Detector states (:mod:`.signal_states`) of events among *writes* or *deletes*."""
    signal_deletes: Iterable[int] = ()


class RedisSnapshots:
    """The snapshots of one shared watch, under *key* (synchronous Redis calls)."""

    def __init__(self, server: Redis, key: str, polls: RedisPolls) -> None:
        self.server = server
        self.polls = polls
        self.snapshots_key = f"{key}:snapshots"
        self.versions_key = f"{key}:versions"
        self.baselined_key = f"{key}:baselined"
        self.signals_key = f"{key}:signals"
        self.commits_key = f"{key}:commits"
        self._commit = server.register_script(_COMMIT)

    @property
    def keys(self) -> list[str]:
        return [
            self.snapshots_key,
            self.versions_key,
            self.baselined_key,
            self.signals_key,
            self.commits_key,
        ]

    def baselined(self, task: str) -> bool:
        """Whether *task* has completed a successful poll (its changes are reported)."""
        return bool(self.server.sismember(self.baselined_key, task))

    def signal_states(self, event_ids: Iterable[int]) -> dict[int, bytes | None]:
        """The stored detector states of *event_ids* (None: none). Read after
        :meth:`load`: a state written since moved its event's version, so the commit
        that would write over it is refused."""
        ids = list(event_ids)
        if not ids:
            return {}
        blobs: list[bytes | None] = self.server.hmget(self.signals_key, ids)  # type: ignore[assignment]
        return dict(zip(ids, blobs, strict=True))

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
            if blob is None:
                continue
            try:
                loaded.snapshots[event_id] = decode_snapshot(blob)
            except ValueError as exc:
                loaded.unreadable += 1
                logger.warning(
                    "The shared snapshot of event %s cannot be read (%s): compared as "
                    "not seen before, and replaced",
                    event_id,
                    exc,
                )
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
        signal_writes = dict(commit.signal_writes)
        args.append(len(signal_writes))
        for event_id, blob in signal_writes.items():
            args += [event_id, blob]
        signal_deletes = list(commit.signal_deletes)
        args += [len(signal_deletes), *signal_deletes]
        keys = [self.polls.due_key, self.polls.leases_key, self.polls.holders_key, *self.keys]
        keys.append(self.polls.polled_key)  # last, whatever keys come before it
        outcome, baselined, overrun = self._commit(keys=keys, args=args)
        return Committed(
            Outcome(redis_text(outcome)), redis_text(baselined) == "1", redis_text(overrun) == "1"
        )

    def landed(self, claim: Claim) -> Committed:
        """Whether the commit of *claim* went through (``ok``, with what it returned) or
        not (``lost``), for a worker whose call failed without its reply."""
        record = self.server.hget(self.commits_key, claim.task)
        token, was, overrun = redis_text(record).rsplit(" ", 2) if record else ("", "0", "0")
        if token != claim.token:
            return Committed(Outcome.LOST)
        return Committed(Outcome.OK, was == "1", overrun == "1")


def encode_snapshot(snapshot: EventSnapshot) -> bytes:
    """*snapshot* as stored in Redis: compressed JSON."""
    record = {
        "id": snapshot.event_id,
        **{name: getattr(snapshot, name) for name in SNAPSHOT_HEADER},
        "outcomes": [
            [list(key) if isinstance(key, tuple) else key, list(point)]
            for key, point in snapshot.outcomes.items()
        ],
    }
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return _FORMAT + zlib.compress(text.encode(), 1)


def decode_snapshot(blob: bytes) -> EventSnapshot:
    """A stored snapshot; ``ValueError`` if *blob* is not one (JSON only: never code)."""
    if not blob.startswith(_FORMAT):
        raise ValueError("not a snapshot stored by kwiff_scrapy")
    try:
        record = json.loads(zlib.decompress(blob[len(_FORMAT) :]))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a snapshot: {exc}") from None
    if not isinstance(record, dict) or not isinstance(record.get("id"), int):
        raise ValueError("not a snapshot: no event id")
    try:
        outcomes = {_outcome_key(key): _price_point(point) for key, point in record["outcomes"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a snapshot: bad outcomes ({exc})") from None
    header = {name: record.get(name) for name in SNAPSHOT_HEADER}
    for name, value in header.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ValueError(f"not a snapshot: {name} is {type(value).__name__}")
    return EventSnapshot(event_id=record["id"], outcomes=outcomes, **header)


def _outcome_key(value: object) -> OutcomeKey:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, list) and len(value) == 2:
        market, name = value
        if isinstance(market, int | str | None) and isinstance(name, str | None):
            return (market, name)
    raise ValueError(f"outcome key {value!r}")


_POINT_TYPES = (int | None, str | None, int | None, str | None, float | int | None, str | None)
_DERIVED_TYPES = (float | int | None, float | int | None)


#: A stored price before PricePoint gained the market's fair odds and overround (7 fields).
_POINT_BEFORE_PROBABILITIES = 7


def _price_point(value: object) -> PricePoint:
    if not isinstance(value, list) or len(value) not in (
        _POINT_BEFORE_PROBABILITIES,
        len(PricePoint._fields),
    ):
        raise ValueError(f"price {value!r}")
    *parts, is_open = value[:_POINT_BEFORE_PROBABILITIES]
    derived = value[_POINT_BEFORE_PROBABILITIES:] or [None, None]
    if not isinstance(is_open, bool) or not all(
        isinstance(part, kind) and not (isinstance(part, bool))
        for part, kind in zip([*parts, *derived], _POINT_TYPES + _DERIVED_TYPES, strict=True)
    ):
        raise ValueError(f"price {value!r}")
    market_id, market_name, outcome_id, outcome_name, odds, fractional = parts
    fair_odds, market_overround = (float(x) if x is not None else None for x in derived)
    return PricePoint(
        market_id,
        market_name,
        outcome_id,
        outcome_name,
        float(odds) if odds is not None else None,
        fractional,
        is_open,
        fair_odds,
        market_overround,
    )
