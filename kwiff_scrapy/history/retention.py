"""Retention: deleting what is older than ``KWIFF_HISTORY_KEEP``, a small batch at a time.

:func:`delete_batch` deletes at most ``batch_size`` rows in one short transaction and
says what it deleted; :func:`delete_old` calls it until nothing is left to delete. Each
batch is its own transaction, so writers (this process's and other machines') take
their turns between batches: none waits longer than one batch (tens of milliseconds).

What goes, with *cutoff* the time ``keep`` ago (rows of ``fetched_at`` before it):

1. every price row older than the cutoff that a later row of the same outcome, also
   older, replaces: each outcome keeps the price it had at the cutoff (its latest row
   before it), so the
   history still answers what every price was from the cutoff on, and a writer's
   "changes only" comparison with the latest stored price still holds;
2. then each event that kicked off before the cutoff and has no price stored since:
   its last prices, outcomes, markets, event states and signals, and the event;
3. every signal older than the cutoff, and every event state older than it but the
   latest of each event before it.

Each outcome's summary follows (:mod:`kwiff_scrapy.history.summaries`): step 1 lowers
its count, and rebuilds it from the rows left when a deleted row was its opening, high
or low, holding its event's row as a writer does (PostgreSQL); step 2 deletes it with
the outcome.

The rows are found through the primary keys and the ``fetched_at`` indexes; step 1
walks the time index forward from where its last batch ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import exists, select, tuple_

from .. import defaults
from . import summaries
from .schema import event_states, events, markets, outcomes, prices, signals

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection, Engine


@dataclass(slots=True)
class Deleted:
    """Rows deleted (by one batch, or added up)."""

    prices: int = 0
    events: int = 0
    signals: int = 0
    states: int = 0

    @property
    def rows(self) -> int:
        return self.prices + self.events + self.signals + self.states

    def add(self, other: Deleted) -> None:
        self.prices += other.prices
        self.events += other.events
        self.signals += other.signals
        self.states += other.states


@dataclass(slots=True)
class RetentionPass:
    """Where one pass over the history is: call :meth:`step` until it returns None."""

    cutoff_ms: int
    batch_size: int = defaults.HISTORY_KEEP_BATCH
    #: Step 1's place in the time index (the ``fetched_at`` its last batch reached).
    _after_ms: int | None = None
    _stage: int = 1
    total: Deleted = field(default_factory=Deleted)

    def step(self, connection: Connection) -> Deleted | None:
        """Delete one batch in *connection*'s transaction; None once the pass is done."""
        while self._stage <= 3:
            deleted = Deleted()
            if self._stage == 1:
                deleted.prices, more = self._replaced_prices(connection)
            elif self._stage == 2:
                deleted, more = _old_events(connection, self.cutoff_ms, self.batch_size)
            else:
                deleted, more = _old_signals_and_states(connection, self.cutoff_ms, self.batch_size)
            if not more:
                self._stage += 1
            if deleted.rows or more:
                self.total.add(deleted)
                return deleted
        return None

    def _replaced_prices(self, connection: Connection) -> tuple[int, bool]:
        later = prices.alias("later")
        replaced = exists().where(
            later.c.outcome == prices.c.outcome,
            later.c.fetched_at > prices.c.fetched_at,
            later.c.fetched_at < self.cutoff_ms,
        )
        query = (
            select(prices.c.outcome, prices.c.fetched_at, prices.c.odds, prices.c.status)
            .where(prices.c.fetched_at < self.cutoff_ms, replaced)
            .order_by(prices.c.fetched_at)
            .limit(self.batch_size)
        )
        if self._after_ms is not None:
            query = query.where(prices.c.fetched_at >= self._after_ms)
        found = [tuple(row) for row in connection.execute(query)]
        if not found:
            return 0, False
        keys = [(outcome, fetched_at) for outcome, fetched_at, _odds, _status in found]
        _lock_events_of(connection, sorted({outcome for outcome, _at in keys}))
        connection.execute(
            prices.delete().where(tuple_(prices.c.outcome, prices.c.fetched_at).in_(keys))
        )
        summaries.forget(connection, found)
        self._after_ms = keys[-1][1]
        return len(keys), len(keys) == self.batch_size


def _lock_events_of(connection: Connection, outcome_ids: list[int]) -> None:
    """PostgreSQL: lock the rows of the events of *outcome_ids*, in event id order, as a
    writer does: their summaries change in turn with the writers' (SQLite: the
    transaction already holds the whole database)."""
    if connection.dialect.name != "postgresql":
        return
    of_outcomes = select(outcomes.c.event_id).where(outcomes.c.id.in_(outcome_ids))
    connection.execute(
        select(events.c.event_id)
        .where(events.c.event_id.in_(of_outcomes))
        .order_by(events.c.event_id)
        .with_for_update()
    ).all()


def _old_events(connection: Connection, cutoff_ms: int, batch_size: int) -> tuple[Deleted, bool]:
    """Up to a few events that kicked off before the cutoff and have no price since."""
    recent = exists().where(
        outcomes.c.event_id == events.c.event_id,
        prices.c.outcome == outcomes.c.id,
        prices.c.fetched_at >= cutoff_ms,
    )
    count = max(1, batch_size // 500)
    ids = list(
        connection.execute(
            select(events.c.event_id)
            .where(events.c.start_time < cutoff_ms, ~recent)
            .order_by(events.c.start_time, events.c.event_id)
            .limit(count)
        ).scalars()
    )
    deleted = Deleted()
    if not ids:
        return deleted, False
    of_events = select(outcomes.c.id).where(outcomes.c.event_id.in_(ids))
    deleted.prices = connection.execute(
        prices.delete().where(prices.c.outcome.in_(of_events))
    ).rowcount
    summaries.delete_of_events(connection, ids)
    connection.execute(outcomes.delete().where(outcomes.c.event_id.in_(ids)))
    connection.execute(markets.delete().where(markets.c.event_id.in_(ids)))
    deleted.states = connection.execute(
        event_states.delete().where(event_states.c.event_id.in_(ids))
    ).rowcount
    deleted.signals = connection.execute(
        signals.delete().where(signals.c.event_id.in_(ids))
    ).rowcount
    deleted.events = connection.execute(events.delete().where(events.c.event_id.in_(ids))).rowcount
    return deleted, len(ids) == count


def _old_signals_and_states(
    connection: Connection, cutoff_ms: int, batch_size: int
) -> tuple[Deleted, bool]:
    deleted = Deleted()
    old_signals = (
        select(signals.c.id)
        .where(signals.c.fetched_at < cutoff_ms)
        .order_by(signals.c.fetched_at)
        .limit(batch_size)
    )
    ids = list(connection.execute(old_signals).scalars())
    if ids:
        deleted.signals = connection.execute(signals.delete().where(signals.c.id.in_(ids))).rowcount
    later = event_states.alias("later")
    replaced = exists().where(
        later.c.event_id == event_states.c.event_id,
        later.c.fetched_at > event_states.c.fetched_at,
        later.c.fetched_at < cutoff_ms,
    )
    keys = [
        tuple(row)
        for row in connection.execute(
            select(event_states.c.event_id, event_states.c.fetched_at)
            .where(event_states.c.fetched_at < cutoff_ms, replaced)
            .order_by(event_states.c.fetched_at)
            .limit(batch_size)
        )
    ]
    if keys:
        deleted.states = connection.execute(
            event_states.delete().where(
                tuple_(event_states.c.event_id, event_states.c.fetched_at).in_(keys)
            )
        ).rowcount
    return deleted, len(ids) == batch_size or len(keys) == batch_size


def cutoff(now_ms: int, keep: timedelta) -> int:
    """The time before which rows go."""
    return now_ms - int(keep.total_seconds() * 1000)


def delete_old(
    engine: Engine,
    keep: timedelta,
    now_ms: int,
    *,
    batch_size: int = defaults.HISTORY_KEEP_BATCH,
    after_batch: Callable[[], None] | None = None,
) -> Deleted:
    """One whole pass: every batch, each in its own transaction; what was deleted.

    *after_batch*: called (no arguments) after each committed batch (tests)."""
    retention = RetentionPass(cutoff(now_ms, keep), batch_size)
    while True:
        with engine.begin() as connection:
            deleted = retention.step(connection)
        if deleted is None:
            return retention.total
        if after_batch is not None:
            after_batch()
