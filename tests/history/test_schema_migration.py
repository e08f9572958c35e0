"""An odds history written by an older kwiff_scrapy is migrated when a writer opens it:
its indexes added, its version raised, its prices untouched; a reader still reads one
that was not migrated. The SQLite file in data/ was written by the schema code of
version 1 (the tests/history/test_report.py items), before version 2 existed."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import Index, create_engine, inspect

from kwiff_scrapy.history.queries import HistoryReader
from kwiff_scrapy.history.records import observe
from kwiff_scrapy.history.report import opening_closing
from kwiff_scrapy.history.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    database_url,
    metadata,
    outcome_summaries,
)
from kwiff_scrapy.history.store import HistoryStore

from ..support.databases import connect, postgres_server, postgres_uri  # fixtures
from .test_report import ITEMS, NOW, at, ms, row

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
    assert store.open() == SCHEMA_VERSION == 3
    migrated_version, migrated_indexes, migrated_rows = sqlite_state(path)
    assert migrated_version == str(SCHEMA_VERSION)
    assert migrated_indexes >= indexes | NEW_INDEXES
    assert migrated_rows == rows
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
    store = HistoryStore(database_url(postgres_uri))
    store.open()
    for item in ITEMS:
        seen = observe(item)
        assert seen is not None
        store.write([seen])
    store.close()
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
