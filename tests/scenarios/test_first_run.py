"""A new user's first runs, as they meet them: ``scrapy crawl`` in this project, the
terminal it leaves, the exit status and the file it writes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support.crawl_process import (
    PROJECT_ROOT,
    assert_clean_run,
    crawl_environment,
    run_crawl,
    scrapy_kwiff,
)

pytestmark = pytest.mark.slow

#: Far more than a crawl's INFO log (about 90 lines), far less than one per item.
MOST_TERMINAL_LINES = 200
#: A line of the INFO log; a whole event item is some 12 KB.
LONGEST_TERMINAL_LINE = 1000


def assert_terminal_is_readable(stderr: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) < MOST_TERMINAL_LINES, stderr[-3000:]
    assert max(map(len, lines)) < LONGEST_TERMINAL_LINE, max(lines, key=len)[:300]
    assert "Scraped from" not in stderr
    assert "] DEBUG: " not in stderr


def test_a_first_crawl_logs_at_info_without_the_items(tmp_path: Path) -> None:
    output = tmp_path / "events.json"
    result = run_crawl("-O", str(output))
    assert_clean_run(result)
    assert len(json.loads(output.read_text(encoding="utf-8"))) == 111
    assert_terminal_is_readable(result.stderr)
    assert "] INFO: Spider closed (finished)" in result.stderr


def test_a_watch_logs_at_info_without_the_changes(tmp_path: Path) -> None:
    output = tmp_path / "changes.jsonl"
    result = run_crawl(
        "-s", "CLOSESPIDER_ITEMCOUNT=500", "-O", str(output), spider="kwiff_watch"
    )  # fmt: skip
    assert_clean_run(result)
    assert len(output.read_text(encoding="utf-8").splitlines()) >= 500
    assert_terminal_is_readable(result.stderr)


def test_debug_is_one_option_away(tmp_path: Path) -> None:
    result = run_crawl("-L", "DEBUG", "-O", str(tmp_path / "events.json"))
    assert_clean_run(result)
    assert result.stderr.count("Scraped from") == 111


# -- a service that gives no answer ----------------------------------------------------

OFFLINE_HINT = "offline, try -s KWIFF_ENDPOINT=simulator"


@pytest.fixture
def closed_endpoint() -> Iterator[str]:
    """A loopback URL that refuses connections: its port is bound, never listened on."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"ws://127.0.0.1:{bound.getsockname()[1]}/socket.io/"


def assert_fails_with_one_error_line(
    result: subprocess.CompletedProcess[str], *expected: str
) -> None:
    """Exit status 1, no traceback, and the log ends in one ERROR line saying *expected*."""
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    ours = [i for i, line in enumerate(lines) if "] ERROR: No Kwiff command was answered" in line]
    assert len(ours) == 1, result.stderr[-3000:]
    last = lines[ours[0]]
    # Only the in-process simulator, closing, may log after it.
    assert all("[websockets.server]" in line for line in lines[ours[0] + 1 :]), lines
    for text in expected:
        assert text in last, last
    assert_terminal_is_readable(result.stderr)


def test_an_unreachable_service_exits_1_with_the_cause_and_the_hint(
    tmp_path: Path, closed_endpoint: str
) -> None:
    output = tmp_path / "t.json"
    result = run_crawl("-O", str(output), endpoint=closed_endpoint)
    assert_fails_with_one_error_line(
        result, f"could not connect to {closed_endpoint}", f"({closed_endpoint})", OFFLINE_HINT
    )
    # The only ERROR line: Scrapy's own about the failed command ("Gave up retrying",
    # "Error downloading") would say it again, twice.
    errors = [line for line in result.stderr.splitlines() if "] ERROR: " in line]
    assert len(errors) == 1, errors
    assert json.loads(output.read_text(encoding="utf-8")) == []


def test_a_refused_handshake_exits_1(tmp_path: Path) -> None:
    result = run_crawl(
        "-s", 'KWIFF_SIMULATOR_OPTIONS={"refuse_status": 403}', "-O", str(tmp_path / "t.json")
    )  # fmt: skip
    assert_fails_with_one_error_line(result, "the service refused the handshake (HTTP 403)")
    assert OFFLINE_HINT not in result.stderr  # the simulator it is already


def test_a_service_that_never_answers_exits_1(tmp_path: Path) -> None:
    result = run_crawl(
        "-s", 'KWIFF_SIMULATOR_OPTIONS={"silent": true}', "-s", "DOWNLOAD_TIMEOUT=1",
        "-s", "RETRY_TIMES=0", "-O", str(tmp_path / "t.json"),
    )  # fmt: skip
    assert_fails_with_one_error_line(result, "got no answer from simulator within 1 s")


def test_fetch_events_without_a_service_prints_no_traceback(
    tmp_path: Path, closed_endpoint: str
) -> None:
    result = scrapy_kwiff(tmp_path, "fetch-events", "-s", f"KWIFF_ENDPOINT={closed_endpoint}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    assert len(lines) <= 5, result.stderr
    assert lines[-1].startswith("scrapy kwiff fetch-events: no answer to event:list from ")
    assert lines[-1].endswith(OFFLINE_HINT)


def test_a_misspelled_spider_gets_one_line_naming_the_spiders() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "kwiff_fotball", "-O", "never.json"],
        cwd=PROJECT_ROOT,
        env=crawl_environment("error"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "scrapy crawl: error: no spider named 'kwiff_fotball': did you mean kwiff_football? "
        "the project's spiders are kwiff_basketball, kwiff_betbuilder, kwiff_event, "
        "kwiff_events, kwiff_football, kwiff_watch\n"
    )
    assert not (PROJECT_ROOT / "never.json").exists()
