"""The odds history's tables (SQLAlchemy Core), its schema version, and opening a database.

Eight tables, created on first use::

    kwiff_history_meta  name, value                      ("schema_version" -> "5")
    kwiff_events        event_id PK, sport_id, sport_name, competition_id,
                        competition_name, home_team, away_team, start_time,
                        betting_status, in_play, updated_at, writes
    kwiff_markets       (event_id, market_key) PK, market_id, name
    kwiff_outcomes      id PK, event_id, market_key, outcome_key, outcome_id, name;
                        unique (event_id, outcome_key)
    kwiff_prices        (outcome, fetched_at) PK, odds, fractional, status
    kwiff_outcome_summaries
                        outcome PK, event_id, prices, opening_at, high, low,
                        last_at, last_odds, last_status
    kwiff_event_states  (event_id, fetched_at) PK, kind, in_play, betting_status
    kwiff_signals       id PK, rule, kind, event_id, fetched_at, subject, the signal's
                        fields (teams, competition, start_time, market, outcome,
                        outcomes, markets, window_seconds, from_odds, to_odds, change,
                        probability_change, strength, first_seen_at, in_play);
                        unique (rule, event_id, fetched_at, subject)

Times (``start_time``, ``updated_at``, ``fetched_at``) are whole milliseconds since
1970-01-01 UTC: compact, exact and ordered the same way in every database. A price
row is one *change*: the price of an outcome from ``fetched_at`` on (the server's time
of the answer that showed it) until the next row of that outcome. ``odds`` is decimal
(NULL: no price: removed, unpriced, or the service sent none), ``status`` None for
open. Keys are described in :mod:`kwiff_scrapy.history.records`.

``kwiff_outcome_summaries`` (schema version 3) sums up each outcome's price rows: how
many, the time of its first open price, its highest and lowest open odds, and its
latest row. The writer keeps it in the transaction that inserts the rows, retention
when it deletes some, and the migration to version 3 builds it from the rows
(:mod:`kwiff_scrapy.history.summaries`): ``--top``, ``--report`` and the writer's
"changes only" read it instead of the prices.

Schema version 4 (PostgreSQL only) makes the prices' primary key cover the rows
(``INCLUDE (odds, fractional, status)``) and has autovacuum visit the prices every
:data:`PRICES_VACUUM_INSERTS` rows inserted: the look-ups of ``--event``, ``--top`` and
``--report`` become index-only scans.

Schema version 5 adds ``kwiff_events.writes``: how many writer transactions have
written the event (each batch that upserts it adds one, in the transaction that holds
its row). A writer remembers the count it left; finding it one higher at its next
batch means no other writer (process) wrote the event meanwhile, so the latest prices
it remembers are still the stored ones and need not be read again. Readers never need
it, and select :data:`EVENT_FIELDS` (which an older database has too). Version 5 also
keeps ``kwiff_events.updated_at`` as the latest time a price of the event was met at
(never lowered) and indexes it, and drops the summaries' ``last_at`` index: ``--top
--since`` finds its outcomes through the events updated since, and the writer's
update of a summary touches no index (on PostgreSQL a HOT update, the summaries' pages
filled to :data:`SUMMARIES_FILLFACTOR`).

``kwiff_event_states`` holds the watch's ``EventChange`` items (an event new, its status
changed, removed) with ``in_play`` at that time, which a replay of the signals needs.
``kwiff_signals`` holds the ``OddsSignal`` items; ``outcomes`` and ``markets`` are JSON
lists. Both were added without a new schema version: ``create_all`` adds them to a
database that lacks them, and readers treat a missing one as empty.

Two dialects are supported, through the same Core tables and statements:
``sqlite:///odds.sqlite`` (the standard library's driver; WAL journal, writes in
``BEGIN IMMEDIATE`` transactions so that two writing processes take turns) and
``postgresql://user@host/db`` (psycopg 3, the ``postgres`` extra). The only
dialect-specific pieces are the ``INSERT ... ON CONFLICT`` construct (each dialect's
``insert()``) and the SQLite connection pragmas.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .. import defaults
from .errors import HistoryError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

#: The version of the tables below. A database written by a newer kwiff_scrapy (a
#: higher version) is refused rather than written to; an older one is migrated when a
#: writer opens it (:data:`MIGRATIONS`).
SCHEMA_VERSION: Final = 5
SCHEMA_VERSION_KEY: Final = "schema_version"
#: Key of the PostgreSQL advisory lock taken while the tables are created ("kwiffhst").
_CREATE_LOCK: Final = 0x6B77696666687374

SUPPORTED_BACKENDS: Final = ("sqlite", "postgresql")
#: Every history connection to PostgreSQL: no JIT compilation. The history's queries are
#: thousands of index look-ups, which the planner costs high (above ``jit_above_cost``)
#: but which run in milliseconds; compiling them took 0.4 s of ``--top --since 1d``'s
#: 1 s on a month of history, and of the report's, and 4 s of ``--top`` over everything.
POSTGRES_OPTIONS: Final = "-c jit=off"
POSTGRES_EXTRA: Final = "postgres"

metadata = MetaData()
#: A row id: BIGINT on PostgreSQL (an identity), INTEGER on SQLite (the rowid).
_ID = BigInteger().with_variant(Integer, "sqlite")

meta = Table(
    "kwiff_history_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

events = Table(
    "kwiff_events",
    metadata,
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
    Column("sport_id", BigInteger),
    Column("sport_name", String(200)),
    Column("competition_id", BigInteger),
    Column("competition_name", String(400)),
    Column("home_team", String(400)),
    Column("away_team", String(400)),
    Column("start_time", BigInteger),
    Column("betting_status", String(200)),
    Column("in_play", Boolean),
    Column("updated_at", BigInteger),
    # Version 5: writer transactions that wrote the event (see the module's docstring).
    Column("writes", BigInteger, nullable=False, server_default="0"),
    # Version 2: the events by kick-off (--report --since, a board's upcoming events).
    Index("kwiff_events_start", "start_time"),
    # Version 5: the events with a price since a time (--top --since), updated_at being
    # the latest time the writer met a price of the event at (never earlier than any
    # outcome's latest row).
    Index("kwiff_events_updated", "updated_at"),
)

#: The events' own fields, for readers: every column but the writers' count (version 5),
#: so that a reader reads a database not migrated yet as well.
EVENT_FIELDS: Final = tuple(column for column in events.columns if column.name != "writes")

markets = Table(
    "kwiff_markets",
    metadata,
    Column("event_id", BigInteger, ForeignKey(events.c.event_id), primary_key=True),
    Column("market_key", String(400), primary_key=True),
    Column("market_id", BigInteger),
    Column("name", String(400)),
)

outcomes = Table(
    "kwiff_outcomes",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("event_id", BigInteger, nullable=False),
    Column("market_key", String(400), nullable=False),
    Column("outcome_key", String(800), nullable=False),
    Column("outcome_id", BigInteger),
    Column("name", String(400)),
    UniqueConstraint("event_id", "outcome_key", name="kwiff_outcomes_key"),
    ForeignKeyConstraint(["event_id", "market_key"], [markets.c.event_id, markets.c.market_key]),
)

#: The prices' primary key on PostgreSQL (schema version 4) also holds the other
#: columns: a look-up is an index-only scan, not one heap page per row (PostgreSQL's
#: heap is in the order rows were written, by time, so an outcome's rows lie on as many
#: pages as it has rows). SQLite's table is its primary key already.
PRICES_KEY_INCLUDES: Final = ("odds", "fractional", "status")
#: Autovacuum of the prices (schema version 4, PostgreSQL): after every this many rows
#: inserted, whatever the table's size (the default waits for 20 % more rows: 9 million,
#: six days, on a month of a busy watch). Vacuum marks the new rows' pages all-visible,
#: which index-only scans need; on an insert-only table it reads only those pages.
PRICES_VACUUM_INSERTS: Final = 100_000
_PRICES_STORAGE: Final = {
    "autovacuum_vacuum_insert_threshold": PRICES_VACUUM_INSERTS,
    "autovacuum_vacuum_insert_scale_factor": 0,
}

prices = Table(
    "kwiff_prices",
    metadata,
    Column("outcome", ForeignKey(outcomes.c.id), nullable=False, autoincrement=False),
    Column("fetched_at", BigInteger, nullable=False, autoincrement=False),
    Column("odds", Double),
    Column("fractional", String(32)),
    Column("status", String(64)),
    # Unnamed, as before: PostgreSQL names it kwiff_prices_pkey.
    PrimaryKeyConstraint("outcome", "fetched_at", postgresql_include=PRICES_KEY_INCLUDES),
    Index("kwiff_prices_time", "fetched_at"),
    # The primary key is the table: no separate rowid b-tree on SQLite.
    sqlite_with_rowid=False,
    postgresql_with=_PRICES_STORAGE,
)

#: PostgreSQL: how full the summaries' pages are filled (percent, schema version 5): the
#: rest is room for the writer's updates of the same rows (HOT updates).
SUMMARIES_FILLFACTOR: Final = 80
#: Version 4's index of the summaries' ``last_at``, dropped by version 5.
_SUMMARIES_LAST_INDEX: Final = "kwiff_outcome_summaries_last"

outcome_summaries = Table(
    "kwiff_outcome_summaries",
    metadata,
    Column("outcome", ForeignKey(outcomes.c.id), primary_key=True, autoincrement=False),
    Column("event_id", BigInteger, nullable=False),
    #: Price rows stored for the outcome.
    Column("prices", Integer, nullable=False),
    #: The first open price's time (odds above 1, no status); its highest and lowest odds.
    Column("opening_at", BigInteger),
    Column("high", Double),
    Column("low", Double),
    #: The latest row.
    Column("last_at", BigInteger, nullable=False),
    Column("last_odds", Double),
    Column("last_status", String(64)),
    # An event's outcomes (--report, and --top --since through the events updated since).
    # No index on a column the writer changes (version 5 dropped the one on last_at): an
    # update is one b-tree on SQLite and, with the room fillfactor leaves, a HOT update
    # on PostgreSQL (no index entry written).
    Index("kwiff_outcome_summaries_event", "event_id"),
    sqlite_with_rowid=False,
    postgresql_with={"fillfactor": SUMMARIES_FILLFACTOR},
)

event_states = Table(
    "kwiff_event_states",
    metadata,
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
    Column("fetched_at", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("in_play", Boolean),
    Column("betting_status", String(200)),
    Index("kwiff_event_states_time", "fetched_at"),
    sqlite_with_rowid=False,
)

signals = Table(
    "kwiff_signals",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("rule", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("event_id", BigInteger, nullable=False),
    Column("fetched_at", BigInteger, nullable=False),
    Column("subject", String(900), nullable=False),
    Column("home_team", String(400)),
    Column("away_team", String(400)),
    Column("competition_name", String(400)),
    Column("start_time", BigInteger),
    Column("market_id", BigInteger),
    Column("market_name", String(400)),
    Column("outcome_id", BigInteger),
    Column("outcome_name", String(400)),
    Column("outcomes", Text, nullable=False),
    Column("markets", Text, nullable=False),
    Column("window_seconds", Double, nullable=False),
    Column("from_odds", Double),
    Column("to_odds", Double),
    Column("change", Double),
    Column("probability_change", Double),
    Column("strength", Double, nullable=False),
    Column("first_seen_at", BigInteger),
    Column("in_play", Boolean),
    UniqueConstraint("rule", "event_id", "fetched_at", "subject", name="kwiff_signals_key"),
    Index("kwiff_signals_time", "fetched_at"),
    Index("kwiff_signals_event", "event_id", "fetched_at"),
)


#: A step of a migration that is not an index: run in the migration's transaction.
MigrationStep = Callable[["Connection"], None]


def _build_summaries(connection: Connection) -> None:
    from .summaries import rebuild

    rebuild(connection)


def _covering_prices_key(connection: Connection) -> None:
    """PostgreSQL: the prices' primary key rebuilt to hold :data:`PRICES_KEY_INCLUDES`,
    and the table's autovacuum set to :data:`PRICES_VACUUM_INSERTS` (SQLite: nothing).
    Rebuilding the key reads the table once and blocks its writers meanwhile."""
    if connection.dialect.name != "postgresql":
        return
    table = connection.dialect.identifier_preparer.format_table(prices)
    included = ", ".join(PRICES_KEY_INCLUDES)
    settings = ", ".join(f"{name} = {value}" for name, value in _PRICES_STORAGE.items())
    connection.exec_driver_sql(
        f"ALTER TABLE {table} DROP CONSTRAINT kwiff_prices_pkey, "
        f"ADD CONSTRAINT kwiff_prices_pkey PRIMARY KEY (outcome, fetched_at) "
        f"INCLUDE ({included})"
    )
    connection.exec_driver_sql(f"ALTER TABLE {table} SET ({settings})")


def _event_writes(connection: Connection) -> None:
    """Version 5: ``kwiff_events.writes``, 0 for the events stored (a writer that
    remembers none of them reads their latest prices once, as before). Skipped if the
    column is there (as indexes are created only if missing)."""
    if "writes" in {column["name"] for column in inspect(connection).get_columns(events.name)}:
        return
    table = connection.dialect.identifier_preparer.format_table(events)
    connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN writes BIGINT NOT NULL DEFAULT 0")


def _summaries_without_last_index(connection: Connection) -> None:
    """Version 5: each event's ``updated_at`` raised to its outcomes' latest row where it
    was earlier (a slower machine's batch could lower it before), so the events updated
    since a time hold every outcome with a row since then; the summaries' ``last_at``
    index dropped; PostgreSQL: the summaries' pages filled to :data:`SUMMARIES_FILLFACTOR`
    from now on (pages already full make room as their old rows are pruned)."""
    from .summaries import raise_event_times

    raise_event_times(connection)
    connection.exec_driver_sql(f"DROP INDEX IF EXISTS {_SUMMARIES_LAST_INDEX}")
    if connection.dialect.name == "postgresql":
        table = connection.dialect.identifier_preparer.format_table(outcome_summaries)
        connection.exec_driver_sql(f"ALTER TABLE {table} SET (fillfactor = {SUMMARIES_FILLFACTOR})")


#: What each schema version adds to the one before, by version: the indexes (created
#: on the tables an older database already has; ``create_all`` makes new tables whole)
#: and the statements that fill what is new.
MIGRATIONS: Final[dict[int, tuple[Index | MigrationStep, ...]]] = {
    2: tuple(index for index in events.indexes if index.name == "kwiff_events_start"),
    3: (_build_summaries,),
    4: (_covering_prices_key,),
    5: (
        _event_writes,
        _summaries_without_last_index,
        *(index for index in events.indexes if index.name == "kwiff_events_updated"),
    ),
}


def database_url(uri: str) -> URL:
    """The SQLAlchemy URL of a ``KWIFF_HISTORY_URI``; ``ValueError`` if it is not one.

    ``postgresql://`` and ``postgres://`` mean psycopg 3 (``postgresql+psycopg://``).
    """
    try:
        url = make_url(uri)
    except ArgumentError:
        raise ValueError(
            f"{uri!r} is not a database URI such as sqlite:///odds.sqlite "
            "or postgresql://user@host/db"
        ) from None
    backend = url.get_backend_name()
    if backend == "postgres":
        url = url.set(drivername="postgresql")
        backend = "postgresql"
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"{describe(url)}: {backend} is not supported: use sqlite:///FILE or "
            "postgresql://user@host/db"
        )
    if backend == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and not url.database:
        raise ValueError(f"{describe(url)}: name a database file, e.g. sqlite:///odds.sqlite")
    return url


def describe(url: URL | str) -> str:
    """The URI for messages and logs, without its password."""
    if isinstance(url, str):
        try:
            return make_url(url).render_as_string(hide_password=True)
        except ArgumentError:
            return url
    return url.render_as_string(hide_password=True)


def check_driver(url: URL) -> None:
    """``HistoryError`` naming the extra to install if the database's driver is missing."""
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg":
        try:
            importlib.import_module("psycopg")
        except ImportError:
            raise HistoryError(
                f"{describe(url)} needs psycopg 3: pip install 'kwiff-scrapy[{POSTGRES_EXTRA}]'"
            ) from None


def open_engine(url: URL, *, writer: bool, timeout: float = defaults.HISTORY_DB_TIMEOUT) -> Engine:
    """An engine for *url* (nothing is connected yet).

    SQLite: WAL journal and ``synchronous=NORMAL`` (a committed transaction survives a
    killed process), foreign keys on, and a *writer*'s transactions begin with
    ``BEGIN IMMEDIATE``: its reads and writes of one batch are one atomic step, and a
    second writing process waits (up to *timeout*) instead of failing midway.

    PostgreSQL: JIT compilation off (:data:`POSTGRES_OPTIONS`), before any ``options``
    of the URI (which may turn it on again).
    """
    check_driver(url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": timeout})
        _sqlite_transactions(engine, writer=writer)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=1,
        max_overflow=1,
        connect_args={"connect_timeout": max(1, round(timeout)), "options": _options(url)},
    )


def _options(url: URL) -> str:
    given = url.query.get("options")
    extra = " ".join(given) if isinstance(given, tuple) else given
    return f"{POSTGRES_OPTIONS} {extra}" if extra else POSTGRES_OPTIONS


def _sqlite_transactions(engine: Engine, *, writer: bool) -> None:
    @event.listens_for(engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun here, not by the driver's own guesswork.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            if writer:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def upsert(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's ``INSERT`` with ``ON CONFLICT`` support (SQLite and PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def stored_version(connection: Connection) -> int | None:
    """The schema version the database says it has; None if it has no history tables."""
    if not inspect(connection).has_table(meta.name):
        return None
    value = connection.execute(
        select(meta.c.value).where(meta.c.name == SCHEMA_VERSION_KEY)
    ).scalar_one_or_none()
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def check_version(version: int | None, url: URL) -> None:
    if version is not None and version > SCHEMA_VERSION:
        raise HistoryError(
            f"{describe(url)} holds odds history of schema version {version}, newer than "
            f"this kwiff_scrapy's {SCHEMA_VERSION}: upgrade kwiff_scrapy to write to it"
        )


def prepare(engine: Engine) -> int:
    """Create the tables if needed and check the schema version; the version stored.

    Raises :class:`HistoryError` (one line) for a database that cannot be opened or that
    a newer kwiff_scrapy wrote. Safe when several processes prepare the same database at
    once: SQLite takes turns (``BEGIN IMMEDIATE``), PostgreSQL holds an advisory lock
    for the transaction.
    """
    url = engine.url
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(_CREATE_LOCK)))
            version = stored_version(connection)
            check_version(version, url)
            metadata.create_all(connection)
            if version is None:
                connection.execute(
                    upsert(connection, meta)
                    .values(name=SCHEMA_VERSION_KEY, value=str(SCHEMA_VERSION))
                    .on_conflict_do_nothing()
                )
            elif version < SCHEMA_VERSION:
                migrate(connection, version)
            return SCHEMA_VERSION
    except SQLAlchemyError as exc:
        raise HistoryError(f"{describe(url)} cannot be opened: {error_line(exc)}") from exc


def migrate(connection: Connection, version: int) -> None:
    """Bring a database of schema *version* to :data:`SCHEMA_VERSION`, in the caller's
    transaction (all of it or nothing): each later version's indexes and statements,
    then the version.

    Building an index, or version 3's summaries, reads the whole prices table once: on
    a big history this takes a while (minutes for tens of millions of prices), once,
    while other writers wait.
    """
    for step in range(version + 1, SCHEMA_VERSION + 1):
        for change in MIGRATIONS.get(step, ()):
            if isinstance(change, Index):
                change.create(connection, checkfirst=True)
            else:
                change(connection)
    connection.execute(
        meta.update().where(meta.c.name == SCHEMA_VERSION_KEY).values(value=str(SCHEMA_VERSION))
    )


def error_line(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's trailers."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
