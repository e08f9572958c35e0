"""`scrapy crawl` with the odds history on, as users run it (subprocesses, the project's
settings, the simulator): cron-style repeated crawls store the opening prices once, a
bad URI stops the crawl with one line, and a crawl killed inside a write transaction
leaves a database that opens and holds every batch it committed, and nothing of that
one (SQLite and PostgreSQL)."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import contextlib
import re
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from kwiff_scrapy.history.queries import HistoryReader
from kwiff_scrapy.history.schema import SCHEMA_VERSION, database_url
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.simulator import SimulatedData

from ..support.crawl_process import HANG_GUARD, run_crawl, started_crawl
from ..support.databases import (  # fixtures, used by name
    connect,
    history_uri,
    postgres_server,
    postgres_uri,
)
from ..support.paused_writer import PausedWriter

pytestmark = pytest.mark.slow

DATA = SimulatedData()
FOOTBALL = DATA.events(11)
FOOTBALL_PRICES = sum(len(m["outcomes"]) for e in FOOTBALL for m in e["details"]["offers"])
COMMITTED = re.compile(
    r"Odds history: committed a batch of \d+ item\(s\): (\d+) price rows written, (\d+) unchanged"
)


def history_on(uri: str, *more: str) -> list[str]:
    """The settings of a crawl with the history on: the URI (the add-on does the rest)."""
    return ["-s", f"KWIFF_HISTORY_URI={uri}", *more]


def price_count(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        (count,) = connection.execute("SELECT count(*) FROM kwiff_prices").fetchone()
    return int(count)


def stat(log: str, key: str) -> int:
    match = re.search(rf"'{re.escape(key)}': (\d+)", log)
    return int(match[1]) if match else 0


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "ERROR" not in result.stderr, result.stderr[-3000:]


def test_a_second_identical_crawl_writes_no_price_row(tmp_path: Path) -> None:
    database = tmp_path / "odds.sqlite"
    uri = f"sqlite:///{database}"
    first = run_crawl(*history_on(uri), "-O", str(tmp_path / "first.json"))
    assert_clean(first)
    assert stat(first.stderr, "kwiff/history/prices_written") == FOOTBALL_PRICES
    assert price_count(database) == FOOTBALL_PRICES
    assert f"Odds history to {uri} (schema version {SCHEMA_VERSION})" in first.stderr

    second = run_crawl(*history_on(uri), "-O", str(tmp_path / "second.json"))
    assert_clean(second)
    assert stat(second.stderr, "kwiff/history/prices_written") == 0
    assert stat(second.stderr, "kwiff/history/prices_unchanged") == FOOTBALL_PRICES
    assert price_count(database) == FOOTBALL_PRICES
    # The feeds are whole either way.
    assert (tmp_path / "second.json").read_text(encoding="utf-8").count('"event_id"') == 111


def test_a_uri_that_cannot_be_opened_stops_the_crawl_with_one_line(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'missing' / 'odds.sqlite'}"
    output = tmp_path / "events.json"
    result = run_crawl(*history_on(uri), "-O", str(output))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert errors == [
        next(line for line in errors if "[kwiff_scrapy.pipelines.history]" in line)
    ], result.stderr[-3000:]
    assert errors[0].endswith(
        f"ERROR: Cannot start the crawl: KWIFF_HISTORY_URI: {uri} cannot be opened: "
        "unable to open database file"
    )
    assert "Traceback" not in result.stderr
    assert not output.exists()  # nothing was crawled


def crash_database(uri: str, application_name: str) -> str:
    """Create the history's tables at *uri*; the URI the crawl is to use.

    SQLite: the file's page cache is made tiny (10 pages, stored in the file), so a
    batch's transaction spills its pages to disk before its commit, as a big batch does:
    what is on disk when the process dies then includes uncommitted writes, and only
    the journal keeps them out. PostgreSQL: the crawl's connections carry
    *application_name*, for the test to find them in ``pg_stat_activity``.
    """
    store = HistoryStore(database_url(uri))
    store.open()
    store.close()
    if uri.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(uri.removeprefix("sqlite:///"))) as connection:
            connection.execute("PRAGMA default_cache_size=10")
        return uri
    return f"{uri}&application_name={application_name}"


def assert_inside_a_transaction(uri: str, application_name: str) -> None:
    """The crawl's writer holds a write transaction open right now."""
    if uri.startswith("sqlite:///"):
        with (
            contextlib.closing(
                sqlite3.connect(uri.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
            ) as connection,
            pytest.raises(sqlite3.OperationalError, match="database is locked"),
        ):
            connection.execute("BEGIN IMMEDIATE")
        return
    assert backend_states(uri, application_name) == ["idle in transaction"]


def backend_states(uri: str, application_name: str) -> list[str]:
    with connect(uri) as connection:
        rows = connection.execute(
            "SELECT state FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchall()
    return [row[0] for row in rows]


def prices_per_event(uri: str) -> dict[int, int]:
    """Stored price rows by event, read with the database's own driver."""
    query = (
        "SELECT o.event_id, count(*) FROM kwiff_prices p "
        "JOIN kwiff_outcomes o ON o.id = p.outcome GROUP BY o.event_id"
    )
    if uri.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(uri.removeprefix("sqlite:///"))) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            return {int(e): int(n) for e, n in connection.execute(query)}
    with connect(uri) as connection:
        return {int(e): int(n) for e, n in connection.execute(query)}


def test_a_crawl_killed_inside_a_transaction_keeps_every_committed_batch_and_none_of_it(
    history_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL while the 4th batch's transaction has written its rows and not committed
    them (held there by the test-only KWIFF_HISTORY_TEST_PAUSE): the database opens,
    holds exactly the three batches the log says were committed, each whole, and not
    one row of the fourth."""
    application_name = f"kwiff_crash_{uuid.uuid4().hex[:10]}"
    uri = crash_database(history_uri, application_name)
    pause = PausedWriter(tmp_path, transaction=4)
    for name, value in pause.environment.items():
        monkeypatch.setenv(name, value)
    log = tmp_path / "crawl.log"
    args = history_on(
        uri,
        "-a",
        "details=1",  # one event:get per event, each event's prices in one item
        "-s",
        "CONCURRENT_REQUESTS=1",
        "-s",
        'KWIFF_SIMULATOR_OPTIONS={"response_delay": 0.05, "speed": null}',
        "-s",
        "KWIFF_HISTORY_FLUSH_INTERVAL=0.1",
        "-s",
        "LOG_LEVEL=DEBUG",
        "-O",
        str(tmp_path / "events.json"),
    )
    with started_crawl(log, *args) as process:
        held = pause.wait(alive=lambda: process.poll() is None)
        assert_inside_a_transaction(history_uri, application_name)
        process.send_signal(signal.SIGKILL)
        process.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Spider closed" not in text  # killed mid-run, not finished
    committed = [int(written) for written, _ in COMMITTED.findall(text)]
    assert len(committed) == 3, text[-3000:]
    assert held["written"] > 0
    assert held["events"]

    per_event = prices_per_event(history_uri)
    assert sum(per_event.values()) == sum(committed)  # every committed row, no other
    assert not set(held["events"]) & set(per_event)  # nothing of the batch in flight
    for event_id, prices in per_event.items():
        event = DATA.event(event_id)
        assert event is not None
        assert prices == sum(len(m["selections"]) for m in event["markets"]), event_id
    if not uri.startswith("sqlite:///"):
        # The server rolled the transaction back and closed the killed connection.
        deadline = time.monotonic() + HANG_GUARD
        while backend_states(history_uri, application_name):
            assert time.monotonic() < deadline, "the killed crawl's backend never ended"
            time.sleep(0.05)
    # It opens for reading and for writing again.
    with HistoryReader(history_uri) as reader:
        reader.check()
        assert len(reader.events()) == len(per_event)
    store = HistoryStore(database_url(history_uri))
    assert store.open() == SCHEMA_VERSION
    store.close()
