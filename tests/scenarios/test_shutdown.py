"""Ctrl-C / SIGTERM during a crawl: in-flight commands end, sessions close cleanly."""

from __future__ import annotations

import asyncio
import json
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.exceptions import DownloadFailedError
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from kwiff_scrapy import KwiffRequest
from kwiff_scrapy.integration.handler import KwiffDownloadHandler

from ..conftest import StartSimulator
from ..support.crawl_process import HANG_GUARD, PROJECT_ROOT, started_crawl, wait_for_text
from ..support.waiting import guarded

pytestmark = pytest.mark.slow

NOISE = ("Task was destroyed", "Unclosed", "ResourceWarning", "Traceback", "never retrieved")
#: What the simulator logs (at DEBUG) when the crawl's one command reaches it.
COMMAND_RECEIVED = "command 1 received: 'event:list'"
#: The standalone simulator, one step per serve: its first list is the data at rest.
SIMULATOR = (sys.executable, "-m", "kwiff_scrapy.simulator", "--per-serve")


@pytest.fixture
def standalone_simulator(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A simulator in its own process whose answers take 5 s (time enough for the test to
    send its signal while a command is in flight, however loaded the machine): its URL and
    its log."""
    log = tmp_path / "simulator.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [*SIMULATOR, "--port", "0", "--delay", "5", "-vv"],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], HANG_GUARD)
        assert ready, f"the simulator never said where it listens within {HANG_GUARD} s"
        line = process.stdout.readline()
        assert line.startswith("Kwiff simulator listening on "), line
        yield line.rsplit(" ", 1)[1].strip(), log
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_command_lets_it_finish_then_closes_cleanly(
    standalone_simulator: tuple[str, Path], tmp_path: Path, signum: int
) -> None:
    url, simulator_log = standalone_simulator
    output, log = tmp_path / "events.json", tmp_path / "crawl.log"
    with started_crawl(log, "-s", "LOG_LEVEL=DEBUG", "-O", str(output), endpoint=url) as crawl:
        wait_for_text(simulator_log, COMMAND_RECEIVED)  # in flight: answered 5 s later
        crawl.send_signal(signum)
        assert crawl.wait(timeout=HANG_GUARD) == 0
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "shutting down gracefully" in text
    # The signal came while the command was in flight: before its response.
    assert text.index("shutting down gracefully") < text.index("Crawled (200)"), text[-3000:]
    assert "Spider closed (shutdown)" in text
    for noise in NOISE:
        assert noise not in text, text[-3000:]
    # The command in flight at the signal ended in its response, not in silence.
    assert len(json.loads(output.read_text(encoding="utf-8"))) == 111


async def test_closing_the_handler_fails_commands_in_flight_with_an_error(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(silent=True)
    crawler = get_crawler(settings_dict={"KWIFF_ENDPOINT": simulator.url})
    handler = build_from_crawler(KwiffDownloadHandler, crawler)
    try:
        download = asyncio.create_task(
            handler.download_request(KwiffRequest("event:get", {"eventId": 1}))
        )
        await guarded(  # connected, command sent, no answer coming
            simulator.wait_until(lambda: simulator.commands_handled == 1), "the command sent"
        )
        assert not download.done()
    finally:
        await handler.close()
    with pytest.raises(DownloadFailedError, match="closed by the client"):
        await download
