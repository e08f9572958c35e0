"""An odds history written by an older kwiff_scrapy is migrated when a writer opens it:
its indexes added, its version raised, its prices untouched; a reader still reads one
that was not migrated. The SQLite file in data/ was written by the schema code of
version 1 (the tests/history/test_report.py items), before version 2 existed."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Index, create_engine, inspect

from kwiff_scrapy.history.queries import HistoryReader
from kwiff_scrapy.history.records import observe
from kwiff_scrapy.history.report import opening_closing
from kwiff_scrapy.history.schema import (
    MIGRATIONS,
    PRICES_KEY_INCLUDES,
    PRICES_VACUUM_INSERTS,
    SCHEMA_VERSION,
    database_url,
    metadata,
    outcome_summaries,
)
from kwiff_scrapy.history.store import HistoryStore

from ..support.databases import connect, history_uri, postgres_server, postgres_uri  # fixtures
from .test_report import ITEMS, KICKOFF, NOW, at, ms, row, store_items

VERSION_1 = Path(__file__).parent / "data" / "history-v1.sqlite"
NEW_INDEXES = {
    str(change.name) for step in MIGRATIONS.values() for change in step if isinstance(change, Index)
} | {str(index.name) for index in outcome_summaries.indexes}


def sqlite_state(path: Path) -> tuple[str, set[str], list[tuple[object, ...]]]:
    """The stored version, the index names and every price row, by the driver alone."""
    with sqlite3.connect(path) as connection:
        (version,) = connection.execute(
            "SELECT value FROM kwiff_history_meta WHERE name = 'schema_version'"
        ).fetchone()
        indexes = {n for (n,) in connection.execute("SELECT name FROM sqlite_master "
                                                   "WHERE type = 'index'")}  # fmt: skip
        rows = connection.execute("SELECT * FROM kwiff_prices ORDER BY 1, 2").fetchall()
    return version, indexes, rows


def prices_sql(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        (sql,) = connection.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'kwiff_prices'"
        ).fetchone()
    return str(sql)


def test_a_version_1_file_is_migrated_when_a_writer_opens_it(tmp_path: Path) -> None:
    path = tmp_path / "odds.sqlite"
    shutil.copyfile(VERSION_1, path)
    version, indexes, rows = sqlite_state(path)
    assert version == "1"
    assert len(rows) == len(ITEMS)
    assert NEW_INDEXES
    assert not NEW_INDEXES & indexes
    uri = f"sqlite:///{path}"
    # A reader reads it as it is (and changes nothing).
    with HistoryReader(uri) as reader:
        report = list(reader.opening_closing(now=NOW))
    assert sqlite_state(path) == (version, indexes, rows)

    store = HistoryStore(database_url(uri))
    assert store.open() == SCHEMA_VERSION == 5
    migrated_version, migrated_indexes, migrated_rows = sqlite_state(path)
    assert migrated_version == str(SCHEMA_VERSION)
    assert migrated_indexes >= indexes | NEW_INDEXES
    assert migrated_rows == rows
    # Version 4 is PostgreSQL's alone: the prices' table is as version 1 made it.
    assert prices_sql(path) == prices_sql(VERSION_1)
    # Every index the schema declares is there, as on a new database.
    declared = {index.name for table in metadata.tables.values() for index in table.indexes}
    assert declared <= migrated_indexes
    # Written to and read as before.
    seen = observe(row(7, 711, "Arsenal", 2.4, at(60)))
    assert seen is not None
    assert store.write([seen]).written == 1
    store.close()
    with HistoryReader(uri) as reader:
        after = list(reader.opening_closing(now=NOW))
    assert [r for r in after if r.outcome_id != 711] == [r for r in report if r.outcome_id != 711]
    assert next(r for r in after if r.outcome_id == 711).last == 2.4
    # Opened again: nothing more to do.
    store = HistoryStore(database_url(uri))
    assert store.open() == SCHEMA_VERSION
    store.close()
    assert sqlite_state(path)[:2] == (migrated_version, migrated_indexes)


def test_a_version_1_postgresql_history_is_migrated(postgres_uri: str) -> None:
    """The same on PostgreSQL: version 1 is today's tables without version 2's indexes."""
    store_items(postgres_uri)
    plain = postgres_uri.replace("postgresql+psycopg://", "postgresql://")
    with connect(plain) as connection:
        connection.execute(f'DROP TABLE "{outcome_summaries.name}"')
        for name in NEW_INDEXES - {str(index.name) for index in outcome_summaries.indexes}:
            connection.execute(f'DROP INDEX "{name}"')
        connection.execute("UPDATE kwiff_history_meta SET value = '1'")
    engine = create_engine(database_url(postgres_uri))
    try:
        with engine.connect() as connection:
            found = inspect(connection)
            names = {i["name"] for t in found.get_table_names() for i in found.get_indexes(t)}
        assert not NEW_INDEXES & names
        before = opening_closing(engine, now_ms=ms(NOW))

        store = HistoryStore(database_url(postgres_uri))
        assert store.open() == SCHEMA_VERSION
        store.close()
        with engine.connect() as connection:
            names = {i["name"] for t in metadata.tables for i in inspect(connection).get_indexes(t)}
            version = connection.exec_driver_sql(
                "SELECT value FROM kwiff_history_meta WHERE name = 'schema_version'"
            ).scalar()
        assert names >= NEW_INDEXES
        assert version == str(SCHEMA_VERSION)
        assert opening_closing(engine, now_ms=ms(NOW)) == before
    finally:
        engine.dispose()


def prices_key(connection: Any) -> tuple[list[str], list[str], list[str]]:
    """The prices' primary key on PostgreSQL: its key columns, the columns it includes,
    and the table's storage options."""
    columns = connection.execute(
        "SELECT a.attname, k.n <= i.indnkeyatts FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
        "WHERE i.indisprimary AND t.oid = 'kwiff_prices'::regclass ORDER BY k.n"
    ).fetchall()
    (options,) = connection.execute(
        "SELECT reloptions FROM pg_class WHERE oid = 'kwiff_prices'::regclass"
    ).fetchone()
    return (
        [name for name, key in columns if key],
        [name for name, key in columns if not key],
        sorted(options or []),
    )


def test_a_version_3_postgresql_history_gets_a_covering_primary_key(postgres_uri: str) -> None:
    """Version 4: the prices' primary key holds the other columns (index-only look-ups)
    and autovacuum visits the table every so many inserts; rows and reports unchanged."""
    store_items(postgres_uri)
    plain = postgres_uri.replace("postgresql+psycopg://", "postgresql://")
    wanted_options = sorted(
        [
            f"autovacuum_vacuum_insert_threshold={PRICES_VACUUM_INSERTS}",
            "autovacuum_vacuum_insert_scale_factor=0",
        ]
    )
    with connect(plain) as connection:
        # A new database has them from the start.
        assert prices_key(connection) == (
            ["outcome", "fetched_at"], list(PRICES_KEY_INCLUDES), wanted_options
        )  # fmt: skip
        # Version 3 as it was made: a plain primary key, the default autovacuum.
        connection.execute(
            "ALTER TABLE kwiff_prices DROP CONSTRAINT kwiff_prices_pkey, "
            "ADD PRIMARY KEY (outcome, fetched_at)"
        )
        connection.execute(
            "ALTER TABLE kwiff_prices RESET (autovacuum_vacuum_insert_threshold, "
            "autovacuum_vacuum_insert_scale_factor)"
        )
        connection.execute("UPDATE kwiff_history_meta SET value = '3'")
        assert prices_key(connection) == (["outcome", "fetched_at"], [], [])
        rows = connection.execute("SELECT * FROM kwiff_prices ORDER BY 1, 2").fetchall()
    assert rows
    engine = create_engine(database_url(postgres_uri))
    try:
        before = opening_closing(engine, now_ms=ms(NOW))
        with HistoryReader(postgres_uri) as reader:
            movers = reader.top_movers(5)

        store = HistoryStore(database_url(postgres_uri))
        assert store.open() == SCHEMA_VERSION == 5
        store.close()
        with connect(plain) as connection:
            assert prices_key(connection) == (
                ["outcome", "fetched_at"], list(PRICES_KEY_INCLUDES), wanted_options
            )  # fmt: skip
            assert connection.execute("SELECT * FROM kwiff_prices ORDER BY 1, 2").fetchall() == rows
            (version,) = connection.execute(
                "SELECT value FROM kwiff_history_meta WHERE name = 'schema_version'"
            ).fetchone()
        assert version == "5"
        assert opening_closing(engine, now_ms=ms(NOW)) == before
        with HistoryReader(postgres_uri) as reader:
            assert reader.top_movers(5) == movers
        # Written to as before.
        seen = observe(row(7, 711, "Arsenal", 2.4, at(60)))
        assert seen is not None
        store = HistoryStore(database_url(postgres_uri))
        store.open()
        assert store.write([seen]).written == 1
        store.close()
    finally:
        engine.dispose()


def event_writes(uri: str) -> list[tuple[int, int]]:
    """Each event's write count, by the database's own driver."""
    query = "SELECT event_id, writes FROM kwiff_events ORDER BY event_id"
    if uri.startswith("sqlite:///"):
        with sqlite3.connect(uri.removeprefix("sqlite:///")) as connection:
            return connection.execute(query).fetchall()
    with connect(uri.replace("postgresql+psycopg://", "postgresql://")) as connection:
        return connection.execute(query).fetchall()


def to_version_4(uri: str) -> None:
    """The history at *uri* as version 4 left it: no write count on the events."""
    statements = (
        "ALTER TABLE kwiff_events DROP COLUMN writes",
        "DROP INDEX kwiff_events_updated",
        "CREATE INDEX kwiff_outcome_summaries_last ON kwiff_outcome_summaries (last_at)",
        # An older writer could leave it earlier than an outcome's latest row.
        "UPDATE kwiff_events SET updated_at = NULL WHERE event_id = 7",
        "UPDATE kwiff_history_meta SET value = '4'",
    )
    if uri.startswith("sqlite:///"):
        with sqlite3.connect(uri.removeprefix("sqlite:///")) as connection:
            for statement in statements:
                connection.execute(statement)
        return
    with connect(uri) as connection:
        for statement in statements:
            connection.execute(statement)


def test_a_version_4_history_gets_the_events_write_counts(history_uri: str) -> None:
    """Version 5: ``kwiff_events.writes``, 0 for the events already stored; a reader
    reads a version 4 history as it is; the writer counts its writes once migrated."""
    store_items(history_uri)
    to_version_4(history_uri)
    engine = create_engine(database_url(history_uri))
    try:
        with engine.connect() as connection:
            assert "writes" not in {
                c["name"] for c in inspect(connection).get_columns("kwiff_events")
            }
        before = opening_closing(engine, now_ms=ms(NOW))
        with HistoryReader(history_uri) as reader:
            movers = reader.top_movers(5, since=KICKOFF - timedelta(minutes=200))
            events = reader.events()
            header = reader.event_header(events[0].event_id)
        assert len(movers) >= 2
        assert events
        assert header.home_team == events[0].home_team

        store = HistoryStore(database_url(history_uri))
        assert store.open() == SCHEMA_VERSION == 5
        store.close()
        counts = event_writes(history_uri)
        assert counts
        assert {count for _event, count in counts} == {0}
        with engine.connect() as connection:
            found = inspect(connection)
            assert "kwiff_outcome_summaries_last" not in {
                index["name"] for index in found.get_indexes("kwiff_outcome_summaries")
            }
            assert "kwiff_events_updated" in {
                index["name"] for index in found.get_indexes("kwiff_events")
            }
            # Every event updated no earlier than its outcomes' latest row.
            assert not connection.exec_driver_sql(
                "SELECT e.event_id FROM kwiff_events e JOIN kwiff_outcome_summaries s "
                "ON s.event_id = e.event_id GROUP BY e.event_id, e.updated_at "
                "HAVING e.updated_at IS NULL OR e.updated_at < max(s.last_at)"
            ).all()
            if connection.dialect.name == "postgresql":
                options = connection.exec_driver_sql(
                    "SELECT reloptions FROM pg_class "
                    "WHERE oid = 'kwiff_outcome_summaries'::regclass"
                ).scalar()
                assert options == ["fillfactor=80"]
        assert opening_closing(engine, now_ms=ms(NOW)) == before
        with HistoryReader(history_uri) as reader:
            assert reader.events() == events
            assert reader.top_movers(5, since=KICKOFF - timedelta(minutes=200)) == movers
        # Written to as before, each batch that writes an event counted on it.
        seen = observe(row(7, 711, "Arsenal", 2.4, at(60)))
        assert seen is not None
        store = HistoryStore(database_url(history_uri))
        store.open()
        assert store.write([seen]).written == 1
        store.close()
        assert dict(event_writes(history_uri))[7] == 1
    finally:
        engine.dispose()
