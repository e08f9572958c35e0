"""Databases for the odds history tests: SQLite in a temporary folder, and a real
PostgreSQL server (127.0.0.1:5432, trust, database ``test``, or ``KWIFF_TEST_POSTGRES``).

Each PostgreSQL test gets a schema of its own (``kwiff_test_<pid>_<random>``), reached
through the URI's ``options=-csearch_path=...`` and dropped afterwards. Under
``CI=true`` a PostgreSQL server that cannot be reached fails the tests that need it;
elsewhere they are skipped with a message saying why.

The fixtures are imported by name by the tests that need a database.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from .extras import unavailable

POSTGRES_URI = os.environ.get("KWIFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def connect(uri: str) -> Any:
    import psycopg

    return psycopg.connect(uri, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL URI, once the server has answered; skip (fail in CI) if it does not."""
    try:
        with connect(POSTGRES_URI) as connection:
            connection.execute("SELECT 1")
    except Exception as exc:
        unavailable(f"PostgreSQL at {POSTGRES_URI} cannot be reached: {exc}".strip())
    return POSTGRES_URI


@contextlib.contextmanager
def postgres_schema(server: str) -> Iterator[str]:
    """A history URI whose tables go into a new schema, dropped on exit."""
    schema = f"kwiff_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with connect(server) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{server}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with connect(server) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_uri(postgres_server: str) -> Iterator[str]:
    """A history URI on PostgreSQL whose tables go into a schema of this test's own."""
    with postgres_schema(postgres_server) as uri:
        yield uri


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'odds.sqlite'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def history_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'odds.sqlite'}"
    uri: str = request.getfixturevalue("postgres_uri")
    return uri


def count_rows(uri: str, table: str = "kwiff_prices") -> int:
    """Rows of *table*, read with the database's own driver (not the code under test)."""
    if uri.startswith("sqlite:///"):
        with sqlite3.connect(uri.removeprefix("sqlite:///")) as connection:
            (count,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(count)
    with connect(uri) as connection:
        row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0])


def price_rows(uri: str) -> list[tuple[Any, ...]]:
    """Every price row as (outcome key, fetched_at, odds, fractional, status), in order."""
    query = (
        "SELECT o.outcome_key, p.fetched_at, p.odds, p.fractional, p.status "
        "FROM kwiff_prices p JOIN kwiff_outcomes o ON o.id = p.outcome "
        "ORDER BY o.outcome_key, p.fetched_at"
    )
    if uri.startswith("sqlite:///"):
        with sqlite3.connect(uri.removeprefix("sqlite:///")) as connection:
            return [tuple(row) for row in connection.execute(query)]
    with connect(uri) as connection:
        return [tuple(row) for row in connection.execute(query)]
