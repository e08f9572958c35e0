"""A new user's first runs, as they meet them: ``scrapy crawl`` in this project, the
terminal it leaves, the exit status and the file it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..support.crawl_process import assert_clean_run, run_crawl

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
