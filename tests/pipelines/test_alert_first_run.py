"""Alert settings as a new user meets them: ``scrapy crawl kwiff_watch`` against the
simulator in a subprocess, its exit status, its log, and what a local webhook receives.

A setting that could never act stops the crawl at start with one line saying what to
write instead (``KWIFF_ALERT_MIN_CHANGE=15``; a plain-http webhook to another host); a
market name the service does not use is warned about after the first poll.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ..support.crawl_process import (
    HANG_GUARD,
    PROJECT_ROOT,
    assert_fails_at_start,
    crawl_command,
    crawl_environment,
    run_crawl,
    started_crawl,
    wait_for_text,
)
from ..support.waiting import guarded
from ..support.webhook_server import WebhookServer

pytestmark = pytest.mark.slow


def test_a_min_change_of_15_stops_the_watch_saying_what_it_means(tmp_path: Path) -> None:
    output = tmp_path / "changes.jsonl"
    result = run_crawl(
        "-s", "KWIFF_ALERT_LOG=True", "-s", "KWIFF_ALERT_MIN_CHANGE=15", "-O", str(output),
        spider="kwiff_watch",
    )  # fmt: skip
    assert_fails_at_start(
        result,
        "KWIFF_ALERT_MIN_CHANGE is a fraction from 0 to 1: 0.15 means 15 % (or write 15%), "
        "not '15'",
        output,
    )


def test_a_plain_http_webhook_stops_the_watch_and_stays_secret(tmp_path: Path) -> None:
    output = tmp_path / "changes.jsonl"
    webhook = "http://hooks.example.com/api/webhooks/1187328866/secret-token"
    result = run_crawl(
        "-s", f"KWIFF_ALERT_WEBHOOK={webhook}", "-O", str(output), spider="kwiff_watch"
    )  # fmt: skip
    assert_fails_at_start(
        result,
        "KWIFF_ALERT_WEBHOOK is a plain http:// URL to hooks.example.com, so its token would "
        "cross the network unencrypted; the webhook URL is a secret: use https://",
        output,
    )
    assert "secret-token" not in result.stderr
    assert "1187328866" not in result.stderr


def test_a_misspelt_market_or_competition_is_warned_about_once_with_the_name_meant(
    tmp_path: Path,
) -> None:
    log = tmp_path / "watch.log"
    arguments = (
        "-a", "interval=1", "-s", "LOG_LEVEL=INFO", "-s", "KWIFF_ALERT_LOG=True",
        "-s", "KWIFF_ALERT_MIN_CHANGE=15%", "-s", "KWIFF_ALERT_DIRECTION=drops",
        "-s", "KWIFF_ALERT_MARKETS=Full Time Reslt,Both Teams To Score",
        "-s", "KWIFF_ALERT_COMPETITIONS=Premier Leage,UEFA Champions League",
    )  # fmt: skip
    with started_crawl(log, *arguments, spider="kwiff_watch") as crawl:
        wait_for_text(log, "did you mean 'Premier League'")  # logged after the markets'
        crawl.send_signal(signal.SIGTERM)
        assert crawl.wait(timeout=HANG_GUARD) == 0
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text, text[-3000:]
    assert (
        "Alerts to the log: kinds moved, competitions Premier Leage, UEFA Champions League, "
        "markets Full Time Reslt, Both Teams To Score, moves of 15.0% or more (drops only)"
    ) in text
    warnings = [line for line in text.splitlines() if "KWIFF_ALERT_MARKETS" in line]
    assert len(warnings) == 1, warnings  # Both Teams To Score is a market it saw
    assert re.search(
        r" WARNING: KWIFF_ALERT_MARKETS: 'Full Time Reslt' is none of the \d+ markets of the "
        r"first poll: did you mean 'Full Time Result'( or '[^']+')*\? "
        r"\(names match whole, case aside\)$",
        warnings[0],
    ), warnings[0]
    (league,) = (line for line in text.splitlines() if "KWIFF_ALERT_COMPETITIONS" in line)
    assert re.search(
        r" WARNING: KWIFF_ALERT_COMPETITIONS: 'Premier Leage' is none of the \d+ competitions "
        r"of the first poll: did you mean 'Premier League'( or '[^']+')*\? ",
        league,
    ), league


def minutes(start_time: str) -> str:
    """The test's own reading of an ISO start time, to the minute, in UTC."""
    moment = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


async def test_each_alert_line_of_a_watch_ends_with_its_kick_off_in_utc() -> None:
    async with WebhookServer() as server:  # http://127.0.0.1: this machine, so allowed
        command = crawl_command(
            "kwiff_watch", "simulator", "-a", "interval=1", "-s", "LOG_LEVEL=INFO",
            "-s", f"KWIFF_ALERT_WEBHOOK={server.url}", "-s", "KWIFF_ALERT_KINDS=event_new",
        )  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=PROJECT_ROOT,
            env=crawl_environment("error::RuntimeWarning"),
            stdout=subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            (first,) = await guarded(server.wait_for(1), "the watch's first alert")
            process.send_signal(signal.SIGTERM)
            _, stderr_bytes = await guarded(process.communicate(), "the watch's end on SIGTERM")
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    stderr = stderr_bytes.decode(errors="replace")
    assert process.returncode == 0, stderr[-3000:]
    body = first.json()
    lines = body["text"].split("\n")
    assert len(lines) == len(body["changes"]) > 1
    for line, change in zip(lines, body["changes"], strict=True):
        assert change["start_time"]
        teams = f"{change['home_team']} v {change['away_team']}"
        assert line == f"{teams} · new event · kick-off {minutes(change['start_time'])} UTC"
    assert "secret-token" not in stderr
