"""`scrapy crawl` with the odds history on, as users run it (subprocesses, the project's
settings, the simulator): cron-style repeated crawls store the opening prices once, a
bad URI stops the crawl with one line, and a crawl killed mid-run leaves a database
that opens and holds every batch it committed."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from kwiff_scrapy.history.queries import HistoryReader
from kwiff_scrapy.history.schema import database_url
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.simulator import SimulatedData

from ..support.crawl_process import HANG_GUARD, run_crawl, started_crawl

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
    assert f"Odds history to {uri} (schema version 1)" in first.stderr

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


def test_a_crawl_killed_mid_run_leaves_every_committed_batch(tmp_path: Path) -> None:
    """SIGKILL while batches are being committed: the database opens, passes SQLite's
    integrity check, holds at least every batch the log says was committed, and only
    whole events (no half-written batch)."""
    database = tmp_path / "odds.sqlite"
    uri = f"sqlite:///{database}"
    log = tmp_path / "crawl.log"
    args = history_on(
        uri,
        "-a",
        "details=1",  # one event:get per event: a batch per answer or two
        "-s",
        "CONCURRENT_REQUESTS=1",
        "-s",
        'KWIFF_SIMULATOR_OPTIONS={"response_delay": 0.05, "speed": null}',
        "-s",
        "KWIFF_HISTORY_FLUSH_INTERVAL=0.01",
        "-s",
        "LOG_LEVEL=DEBUG",
        "-O",
        str(tmp_path / "events.json"),
    )
    with started_crawl(log, *args) as process:
        # Wait until a few batches are committed, then kill the crawl without warning.
        deadline = time.monotonic() + HANG_GUARD
        while len(COMMITTED.findall(log.read_text(encoding="utf-8", errors="replace"))) < 5:
            assert process.poll() is None, log.read_text(encoding="utf-8")[-3000:]
            assert time.monotonic() < deadline, "no batch was committed"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Spider closed" not in text  # killed mid-run, not finished
    logged = sum(int(written) for written, _ in COMMITTED.findall(text))

    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        per_event = dict(
            connection.execute(
                "SELECT o.event_id, count(*) FROM kwiff_prices p "
                "JOIN kwiff_outcomes o ON o.id = p.outcome GROUP BY o.event_id"
            ).fetchall()
        )
    stored = sum(per_event.values())
    assert stored >= logged > 0
    for event_id, prices in per_event.items():
        event = DATA.event(event_id)
        assert event is not None
        assert prices == sum(len(m["selections"]) for m in event["markets"]), event_id
    # It opens for reading and for writing again.
    with HistoryReader(uri) as reader:
        reader.check()
        assert len(reader.events()) == len(per_event)
    store = HistoryStore(database_url(uri))
    assert store.open() == 1
    store.close()
