"""The writer stores exactly what it stored before its set-based rewrite.

``data/writer-golden.json`` holds what the writer of schema version 3 (before the
batch's rows and summaries were copied in one statement each) stored for the workload
of :mod:`tests.history.writer_workload`: each batch's written and unchanged counts,
every price row and every outcome's summary. The same on SQLite and PostgreSQL.
"""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kwiff_scrapy.history import bulk, summaries
from kwiff_scrapy.history.schema import database_url, open_engine

from ..support.databases import history_uri, postgres_server, postgres_uri
from .writer_workload import run, stored

GOLDEN = Path(__file__).parent / "data" / "writer-golden.json"


def test_the_writer_stores_the_same_rows_and_summaries_as_before(history_uri: str) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    found = json.loads(json.dumps(run(history_uri)))  # tuples as lists, as in the file
    assert found["results"] == expected["results"]
    assert found["prices"] == expected["prices"]
    assert found["summaries"] == expected["summaries"]


def test_the_summaries_written_are_those_built_from_the_rows(history_uri: str) -> None:
    written = run(history_uri)["summaries"]
    engine = open_engine(database_url(history_uri), writer=True)
    with engine.begin() as connection:
        summaries.rebuild(connection)
    engine.dispose()
    assert stored(history_uri)["summaries"] == written


def test_without_temporary_tables_postgres_writes_the_same(
    postgres_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session denied the ``TEMPORARY`` privilege writes each row by ``executemany``."""
    monkeypatch.setattr(bulk, "can_copy", lambda connection: False)
    monkeypatch.setattr(bulk, "_copy", _never)
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    found = json.loads(json.dumps(run(postgres_uri)))
    assert found == expected


def test_a_postgres_session_may_copy_by_default(postgres_uri: str) -> None:
    engine = open_engine(database_url(postgres_uri), writer=True)
    with engine.begin() as connection:
        assert bulk.can_copy(connection)
        assert bulk.can_copy(connection)  # asked once, then remembered
    engine.dispose()


def _never(*args: object) -> None:
    raise AssertionError("no COPY without temporary tables")
