"""Ctrl-C / SIGTERM during a crawl: in-flight commands end, sessions close cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

NOISE = ("Task was destroyed", "Unclosed", "ResourceWarning", "Traceback", "never retrieved")


@pytest.fixture
def standalone_simulator() -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "kwiff_scrapy.simulator", "--port", "0", "--delay", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Kwiff simulator listening on "), line
        yield process, line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.communicate(timeout=10)


def wait_for(path: Path, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_command_lets_it_finish_then_closes_cleanly(
    standalone_simulator: tuple[subprocess.Popen[str], str], tmp_path: Path, signum: int
) -> None:
    _, url = standalone_simulator
    output, log = tmp_path / "events.json", tmp_path / "crawl.log"
    with log.open("w") as log_file:
        crawl = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "kwiff_football",
                "-s",
                f"KWIFF_ENDPOINT={url}",
                "-s",
                "LOG_LEVEL=DEBUG",
                "-O",
                str(output),
            ],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONWARNINGS": "default"},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(log, "Kwiff session")  # connected; the 2 s command is in flight
            crawl.send_signal(signum)
            assert crawl.wait(timeout=60) == 0
        finally:
            if crawl.poll() is None:
                crawl.kill()
    text = log.read_text()
    assert "shutting down gracefully" in text
    assert "Spider closed (shutdown)" in text
    for noise in NOISE:
        assert noise not in text, text[-3000:]
    # The command in flight at the signal ended in its response, not in silence.
    assert len(json.loads(output.read_text(encoding="utf-8"))) == 111


async def test_closing_the_handler_fails_commands_in_flight_with_an_error(tmp_path: Path) -> None:
    import asyncio

    from scrapy.exceptions import DownloadFailedError
    from scrapy.utils.misc import build_from_crawler
    from scrapy.utils.test import get_crawler

    from kwiff_scrapy import KwiffRequest
    from kwiff_scrapy.integration.handler import KwiffDownloadHandler

    crawler = get_crawler(
        settings_dict={"KWIFF_ENDPOINT": "simulator", "KWIFF_SIMULATOR_OPTIONS": {"silent": True}}
    )
    handler = build_from_crawler(KwiffDownloadHandler, crawler)
    try:
        download = asyncio.create_task(
            handler.download_request(KwiffRequest("event:get", {"eventId": 1}))
        )
        await asyncio.sleep(0.3)  # connected, command sent, no answer coming
        assert not download.done()
    finally:
        await handler.close()
    with pytest.raises(DownloadFailedError, match="closed by the client"):
        await download
