"""Each outcome's summary (``kwiff_outcome_summaries``, schema version 3), kept with its rows.

A summary row says of one outcome's price rows: how many there are (``prices``), the
time of the first open price (``opening_at``: odds above 1 and no status, the report's
opening), the highest and lowest open odds, and the latest row (``last_at``,
``last_odds``, ``last_status``). It is what ``--report`` and ``--top`` start from, and
what the writer compares a new price with, so none of them reads an outcome's prices to
find these.

It is kept in the same transaction as the rows it sums up:

- the writer compares a new price with the latest row (:func:`read_latest`, unless it
  knows it already) and merges what its new rows add into the summary
  (:func:`~kwiff_scrapy.history.bulk.write`: a count added, the earlier opening, the
  higher high, the lower low, the later latest row), holding its events' rows
  (PostgreSQL; the whole database on SQLite), so no other writer changes them meanwhile;
- retention, holding the same event rows, takes off what it deleted (:func:`forget`),
  and rebuilds an outcome's
  summary (:func:`rebuild`, from its rows) when a deleted row was its opening, high or
  low;
- the migration to version 3 :func:`rebuild`\\ s every summary from the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, case, func, select

from .schema import EVENT_FIELDS, events, outcome_summaries, outcomes, prices, stored_version

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

#: Most outcomes in one ``IN (...)`` list.
CHUNK = 500


def available(connection: Connection) -> bool:
    """Whether the database keeps summaries (schema version 3 or later): a reader of an
    older one, not migrated yet, reads the prices instead."""
    version = stored_version(connection)
    return version is not None and version >= 3


def is_open(odds: float | None, status: str | None) -> bool:
    """Whether a row is an open price (the report's definition)."""
    return odds is not None and odds > 1 and status is None


@dataclass(slots=True)
class Summary:
    """An outcome's summary row, as read (and changed) in a writer's transaction."""

    outcome: int
    event_id: int
    prices: int = 0
    opening_at: int | None = None
    high: float | None = None
    low: float | None = None
    last_at: int | None = None
    last_odds: float | None = None
    last_status: str | None = None

    def add(self, fetched_at: int, odds: float | None, status: str | None) -> None:
        """Count a new price row of the outcome."""
        self.prices += 1
        if odds is not None and odds > 1 and status is None:
            if self.opening_at is None or fetched_at < self.opening_at:
                self.opening_at = fetched_at
            self.high = odds if self.high is None else max(self.high, odds)
            self.low = odds if self.low is None else min(self.low, odds)
        if self.last_at is None or fetched_at > self.last_at:
            self.last_at, self.last_odds, self.last_status = fetched_at, odds, status

    def row(self) -> tuple[Any, ...]:
        """The summary as a row of :data:`~kwiff_scrapy.history.bulk.SUMMARY_COLUMNS`."""
        return (self.outcome, self.event_id, self.prices, self.opening_at, self.high, self.low,
                self.last_at, self.last_odds, self.last_status)  # fmt: skip


def first_row(outcome: int, event_id: int, at: int, odds: float | None, status: str | None
              ) -> tuple[Any, ...]:  # fmt: skip
    """The summary row of one price row (what :meth:`Summary.add` of it to an empty
    summary gives, without the object: a batch makes thousands)."""
    if odds is not None and odds > 1 and status is None:
        return (outcome, event_id, 1, at, odds, odds, at, odds, status)
    return (outcome, event_id, 1, None, None, None, at, odds, status)


COLUMNS = ("prices", "opening_at", "high", "low", "last_at", "last_odds", "last_status")


def read_latest(
    connection: Connection, outcome_ids: Sequence[int]
) -> dict[int, tuple[int, float | None, str | None]]:
    """The latest stored row (time, odds, status) of *outcome_ids* (those that have a
    summary), from their summaries: one primary-key look-up each (PostgreSQL: in one
    statement, the ids sent as one array)."""
    head = f"SELECT outcome, last_at, last_odds, last_status FROM {outcome_summaries.name} "
    if connection.dialect.name == "postgresql":
        if not outcome_ids:
            return {}
        query = head + "WHERE outcome = ANY(%s::bigint[])"
        return {row[0]: row[1:] for row in connection.exec_driver_sql(query, (list(outcome_ids),))}
    found = {}
    for start in range(0, len(outcome_ids), CHUNK):
        # Row ids, integers from the database: written into the statement as they are.
        listed = ", ".join(str(int(outcome)) for outcome in outcome_ids[start : start + CHUNK])
        for row in connection.exec_driver_sql(f"{head}WHERE outcome IN ({listed})"):
            found[row[0]] = row[1:]
    return found


def rebuild(connection: Connection, outcome_ids: Sequence[int] | None = None) -> None:
    """Build the summaries of *outcome_ids* (None: of every outcome) from their rows:
    one ``GROUP BY`` of their prices, then each latest row by its primary key. Every
    outcome's: and each event's ``updated_at`` raised to its outcomes' latest row
    (:func:`raise_event_times`)."""
    if outcome_ids is None:
        connection.execute(outcome_summaries.delete())
        _insert_built(connection, None)
        raise_event_times(connection)
        # Statistics for the planners (PostgreSQL's would otherwise wait for autovacuum).
        connection.exec_driver_sql(f"ANALYZE {outcome_summaries.name}")
        return
    for start in range(0, len(outcome_ids), CHUNK):
        chunk = sorted(outcome_ids[start : start + CHUNK])
        connection.execute(outcome_summaries.delete().where(outcome_summaries.c.outcome.in_(chunk)))
        _insert_built(connection, chunk)


def raise_event_times(connection: Connection) -> None:
    """Raise each event's ``updated_at`` to its outcomes' latest row where it is earlier
    (or none), from the summaries: ``--top --since`` finds its outcomes through the
    events updated since (schema version 5), which must hold every outcome with a row
    since then. The writer keeps it so; rows stored around it (by hand, an older
    writer's slower machine) are caught up here."""
    latest = (
        select(func.max(outcome_summaries.c.last_at))
        .where(outcome_summaries.c.event_id == events.c.event_id)
        .scalar_subquery()
    )
    connection.execute(
        events.update()
        .where(latest > func.coalesce(events.c.updated_at, -1))
        .values(updated_at=latest)
    )


def _insert_built(connection: Connection, chunk: list[int] | None) -> None:
    open_price = and_(prices.c.odds > 1, prices.c.status.is_(None))
    grouped = select(
        prices.c.outcome,
        func.count().label("prices"),
        func.min(case((open_price, prices.c.fetched_at))).label("opening_at"),
        func.max(case((open_price, prices.c.odds))).label("high"),
        func.min(case((open_price, prices.c.odds))).label("low"),
        func.max(prices.c.fetched_at).label("last_at"),
    ).group_by(prices.c.outcome)
    if chunk is not None:
        grouped = grouped.where(prices.c.outcome.in_(chunk))
    built = grouped.subquery("built")
    last = prices.alias("last")
    # Each row inserted whole, its latest price joined by primary key (no update after:
    # on PostgreSQL that would leave a dead copy of every row).
    rows = select(
        built.c.outcome,
        outcomes.c.event_id,
        built.c.prices,
        built.c.opening_at,
        built.c.high,
        built.c.low,
        built.c.last_at,
        last.c.odds,
        last.c.status,
    ).select_from(
        built.join(outcomes, outcomes.c.id == built.c.outcome).join(
            last, and_(last.c.outcome == built.c.outcome, last.c.fetched_at == built.c.last_at)
        )
    )
    columns = ["outcome", "event_id", *COLUMNS]
    connection.execute(outcome_summaries.insert().from_select(columns, rows))


def events_query(event_ids: Sequence[int]) -> Any:
    """The rows of :meth:`~kwiff_scrapy.history.queries.HistoryReader.events` for
    *event_ids*, from their outcomes' summaries: each event's columns, its outcomes
    with prices, its prices, its first and last price's time (the first: one look-up
    per outcome), never a scan of its prices."""
    summary = outcome_summaries.c
    oldest = prices.alias("oldest")
    first_row = (
        select(func.min(oldest.c.fetched_at))
        .where(oldest.c.outcome == summary.outcome)
        .scalar_subquery()
    )
    counts = (
        select(
            summary.event_id,
            func.count().label("outcomes"),
            func.sum(summary.prices).label("prices"),
            func.min(first_row).label("first"),
            func.max(summary.last_at).label("last"),
        )
        .where(summary.event_id.in_(sorted(set(event_ids))))
        .group_by(summary.event_id)
        .subquery("counts")
    )
    return (
        select(*EVENT_FIELDS, counts.c.outcomes, counts.c.prices, counts.c.first, counts.c.last)
        .join(counts, counts.c.event_id == events.c.event_id)
        .order_by(events.c.start_time, events.c.event_id)
    )


def forget(connection: Connection, deleted: Sequence[tuple[int, int, Any, Any]]) -> None:
    """Take *deleted* rows (outcome, time, odds, status) off their summaries: counts
    lowered, and an outcome rebuilt from its rows if one was its opening, high or low.
    Never the latest row (retention keeps each outcome's latest)."""
    by_outcome: dict[int, list[tuple[int, Any, Any]]] = {}
    for outcome, fetched_at, odds, status in deleted:
        by_outcome.setdefault(outcome, []).append((fetched_at, odds, status))
    ids = sorted(by_outcome)
    stored: dict[int, Any] = {}
    table = outcome_summaries.c
    for start in range(0, len(ids), CHUNK):
        query = select(table.outcome, table.opening_at, table.high, table.low).where(
            table.outcome.in_(ids[start : start + CHUNK])
        )
        stored.update((row.outcome, row) for row in connection.execute(query))
    rebuilt, lowered = [], []
    for outcome in ids:
        summary = stored.get(outcome)
        if summary is None:
            continue
        gone = by_outcome[outcome]
        if any(
            is_open(odds, status)
            and (at == summary.opening_at or odds >= summary.high or odds <= summary.low)
            for at, odds, status in gone
        ):
            rebuilt.append(outcome)
        else:
            lowered.append({"key": outcome, "count": len(gone)})
    if rebuilt:
        rebuild(connection, rebuilt)
    if lowered:
        connection.execute(
            outcome_summaries.update()
            .where(table.outcome == bindparam("key"))
            .values(prices=table.prices - bindparam("count")),
            lowered,
        )


def delete_of_events(connection: Connection, event_ids: Sequence[int]) -> None:
    """Delete the summaries of the outcomes of *event_ids* (before the outcomes go)."""
    connection.execute(
        outcome_summaries.delete().where(outcome_summaries.c.event_id.in_(list(event_ids)))
    )
