"""A batch's price rows and summaries, written in as few statements as the database allows.

SQLite: the driver's own ``executemany`` (no SQLAlchemy per row): in-process, a
statement costs no round trip. PostgreSQL: the rows are copied (``COPY``, formatted by
the driver in C) into temporary tables, then written by one ``INSERT ... SELECT`` for
the prices and one for the summaries (``ON CONFLICT (outcome) DO UPDATE``: the changed
ones), in the batch's transaction; ``executemany`` would be one statement per row,
and each is executed by the server on its own. A session that may not create
temporary tables (the ``TEMPORARY`` privilege revoked) writes them as SQLite does.

The summaries given are what the batch adds to each outcome's (its rows' count, first
open time, high and low, latest row), merged with the stored summary by the statement
that writes it (:func:`merge_sql`): the writer need not have read it. The caller holds
what puts the writers of these outcomes in turn (their events' rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlalchemy.exc import DBAPIError

from .schema import EVENT_FIELDS, events, outcome_summaries, prices, upsert
from .summaries import COLUMNS

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

#: The price rows' columns, in the order of the rows the writer builds.
PRICE_COLUMNS = ("outcome", "fetched_at", "odds", "fractional", "status")
#: The summary rows' columns, in the order of the rows the writer builds (what a batch
#: adds to an outcome's summary: :meth:`~kwiff_scrapy.history.summaries.Summary.row`).
SUMMARY_COLUMNS = ("outcome", "event_id", *COLUMNS)


#: The event rows' columns, in the order of the rows the writer builds.
EVENT_COLUMNS = tuple(column.name for column in EVENT_FIELDS)


def upsert_events(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> dict[int, int]:
    """Insert or update the event *rows* (in event id order: PostgreSQL locks them in
    that order), a field a row does not give (None) keeping the stored one, ``updated_at``
    never lowered (the events updated since a time must hold every outcome with a row
    since then: ``--top --since``), and one more write counted on each (``writes``); each
    event's count after it.

    PostgreSQL: the rows copied into a temporary table and one ``INSERT ... SELECT ...
    RETURNING`` (an ``executemany`` runs one statement per event on the server).
    SQLite, or a session without temporary tables: one SQLAlchemy upsert, ``RETURNING``.
    """
    if connection.dialect.name == "postgresql" and can_copy(connection):
        connection.exec_driver_sql(_CREATE_TEMPORARY)
        _copy(connection, _BATCH_EVENTS, EVENT_COLUMNS, rows)
        names = ", ".join(EVENT_COLUMNS)
        kept = ", ".join(
            f"{name} = GREATEST(excluded.{name}, {events.name}.{name})"
            if name == "updated_at"
            else f"{name} = coalesce(excluded.{name}, {events.name}.{name})"
            for name in EVENT_COLUMNS[1:]
        )
        found = connection.exec_driver_sql(
            f"INSERT INTO {events.name} ({names}, writes) SELECT {names}, 1 "
            f"FROM {_BATCH_EVENTS} ORDER BY event_id ON CONFLICT (event_id) DO UPDATE SET "
            f"{kept}, writes = {events.name}.writes + 1 RETURNING event_id, writes"
        )
        return {event_id: count for event_id, count in found}
    statement = upsert(connection, events)
    added, stored = statement.excluded.updated_at, events.c.updated_at
    if connection.dialect.name == "postgresql":
        latest = func.greatest(added, stored)
    else:  # SQLite's max() of two is NULL if either is
        latest = func.coalesce(func.max(added, stored), added, stored)
    counted = statement.on_conflict_do_update(
        index_elements=[events.c.event_id],
        set_={
            **{
                name: func.coalesce(statement.excluded[name], events.c[name])
                for name in EVENT_COLUMNS[1:]
            },
            "updated_at": latest,
            "writes": events.c.writes + 1,
        },
    ).returning(events.c.event_id, events.c.writes)
    values = [{**dict(zip(EVENT_COLUMNS, row, strict=True)), "writes": 1} for row in rows]
    return {event_id: count for event_id, count in connection.execute(counted, values)}


def write(
    connection: Connection,
    rows: Sequence[tuple[Any, ...]],
    new: Sequence[tuple[Any, ...]],
    changed: Sequence[tuple[Any, ...]],
) -> None:
    """Insert the price *rows* (``ON CONFLICT DO NOTHING``: a row for the same answer is
    never stored twice), the *new* summaries (of outcomes that had none) and merge the
    *changed* ones (what the rows add) into the stored ones."""
    if connection.dialect.name == "postgresql" and can_copy(connection):
        _write_postgresql(connection, rows, new, changed)
    else:
        _write_each(connection, rows, new, changed)


def can_copy(connection: Connection) -> bool:
    """Whether this PostgreSQL session may create the temporary tables the rows are
    copied into (the ``TEMPORARY`` privilege, granted to everyone unless revoked): asked
    once per connection. Without it, the rows are written as on SQLite."""
    info = connection.connection.info
    allowed = info.get(_CAN_COPY)
    if allowed is None:
        allowed = bool(
            connection.exec_driver_sql(
                "SELECT has_database_privilege(current_database(), 'TEMPORARY')"
            ).scalar()
        )
        info[_CAN_COPY] = allowed
    return bool(allowed)


_CAN_COPY = "kwiff_history_can_copy"


def _write_each(
    connection: Connection,
    rows: Sequence[tuple[Any, ...]],
    new: Sequence[tuple[Any, ...]],
    changed: Sequence[tuple[Any, ...]],
) -> None:
    """Each row and summary by the driver's own ``executemany``."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    if rows:
        connection.exec_driver_sql(
            f"INSERT INTO {prices.name} ({', '.join(PRICE_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * 5)}) ON CONFLICT DO NOTHING",
            rows,
        )
    table = outcome_summaries.name
    names = ", ".join(SUMMARY_COLUMNS)
    values = ", ".join([mark] * len(SUMMARY_COLUMNS))
    if new:
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({names}) VALUES ({values})", sorted(new, key=_first)
        )
    if changed:
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({names}) VALUES ({values}) {merge_sql(connection)}",
            sorted(changed, key=_first),
        )


def merge_sql(connection: Connection) -> str:
    """The ``ON CONFLICT`` clause that merges a summary of new rows (``excluded``) into
    the stored one: counts added, the earliest opening, the highest high and lowest low,
    the later latest row. (SQLite's two-argument ``min``/``max`` are NULL if either is;
    PostgreSQL's ``LEAST``/``GREATEST`` skip NULLs.)"""
    stored, added = outcome_summaries.name, "excluded"
    if connection.dialect.name == "postgresql":
        least, greatest = "LEAST({0}, {1})", "GREATEST({0}, {1})"
    else:
        least, greatest = "coalesce(min({0}, {1}), {0}, {1})", "coalesce(max({0}, {1}), {0}, {1})"

    def pick(function: str, column: str) -> str:
        return function.format(f"{stored}.{column}", f"{added}.{column}")

    newer = f"{added}.last_at > {stored}.last_at"
    return (
        f"ON CONFLICT (outcome) DO UPDATE SET prices = {stored}.prices + {added}.prices, "
        f"opening_at = {pick(least, 'opening_at')}, high = {pick(greatest, 'high')}, "
        f"low = {pick(least, 'low')}, last_at = {pick(greatest, 'last_at')}, "
        f"last_odds = CASE WHEN {newer} THEN {added}.last_odds ELSE {stored}.last_odds END, "
        f"last_status = CASE WHEN {newer} THEN {added}.last_status "
        f"ELSE {stored}.last_status END"
    )


def _write_postgresql(
    connection: Connection,
    rows: Sequence[tuple[Any, ...]],
    new: Sequence[tuple[Any, ...]],
    changed: Sequence[tuple[Any, ...]],
) -> None:
    # Temporary tables of this session, emptied at each commit: created once per
    # connection (no catalog rows made and dropped per batch).
    connection.exec_driver_sql(_CREATE_TEMPORARY)
    if rows:
        # In key order: each index and foreign key is walked once, page after page.
        _copy(connection, _BATCH_PRICES, PRICE_COLUMNS, sorted(rows, key=_key))
        connection.exec_driver_sql(
            f"INSERT INTO {prices.name} ({', '.join(PRICE_COLUMNS)}) "
            f"SELECT {', '.join(PRICE_COLUMNS)} FROM {_BATCH_PRICES} ON CONFLICT DO NOTHING"
        )
    if new or changed:
        names = SUMMARY_COLUMNS
        _copy(connection, _BATCH_SUMMARIES, names, sorted([*new, *changed], key=_first))
        # The new ones (none is stored) and the changed ones merged, in one statement.
        connection.exec_driver_sql(
            f"INSERT INTO {outcome_summaries.name} ({', '.join(names)}) "
            f"SELECT {', '.join(names)} FROM {_BATCH_SUMMARIES} ORDER BY outcome "
            f"{merge_sql(connection)}"
        )


_BATCH_PRICES = "kwiff_batch_prices"
_BATCH_SUMMARIES = "kwiff_batch_summaries"
_BATCH_EVENTS = "kwiff_batch_events"
_CREATE_TEMPORARY = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_BATCH_PRICES} (outcome bigint, fetched_at "
    "bigint, odds double precision, fractional text, status text) ON COMMIT DELETE ROWS; "
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_BATCH_SUMMARIES} (outcome bigint, event_id "
    "bigint, prices integer, opening_at bigint, high double precision, low double "
    "precision, last_at bigint, last_odds double precision, last_status text) "
    "ON COMMIT DELETE ROWS; "
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_BATCH_EVENTS} (event_id bigint, sport_id "
    "bigint, sport_name text, competition_id bigint, competition_name text, home_team "
    "text, away_team text, start_time bigint, betting_status text, in_play boolean, "
    "updated_at bigint) ON COMMIT DELETE ROWS"
)


def _copy(
    connection: Connection, table: str, names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``COPY`` *rows* into *table* through the driver's cursor (psycopg formats them in
    C). A driver error is raised as SQLAlchemy's, as by any other statement, the
    connection let go if it is lost."""
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"
    dialect = connection.dialect
    raw = connection.connection
    invalidated = False
    try:
        cursor: Any = raw.cursor()  # psycopg's, with copy()
        with cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except dialect.loaded_dbapi.Error as exc:
        if dialect.is_disconnect(exc, raw.dbapi_connection, None):
            connection.invalidate(exc)
            invalidated = True
        raise DBAPIError.instance(
            statement, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=invalidated
        ) from exc


def _first(row: tuple[Any, ...]) -> Any:
    """A summary row's outcome."""
    return row[0]


def _key(row: tuple[Any, ...]) -> tuple[Any, Any]:
    """A price row's key (outcome, time): a stable sort keeps two rows of one key in their
    order (the first is stored)."""
    return row[0], row[1]
