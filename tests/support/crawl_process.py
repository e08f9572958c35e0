"""``scrapy crawl`` in a subprocess, as users run it: the one runner of the tests that need it.

The crawl runs in the project directory (its ``scrapy.cfg`` and settings), never with a
``SCRAPY_SETTINGS_MODULE`` inherited from the test process.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from .waiting import HANG_GUARD, until_sync

PROJECT_ROOT = Path(__file__).resolve().parents[2]


#: The in-process simulator without its clock (one step per serve): its first answers are
#: the data at rest, what these tests compare crawls with, whatever the time.
AT_REST = 'KWIFF_SIMULATOR_OPTIONS={"speed": null}'


def crawl_command(spider: str, endpoint: str, *args: str, runner: str = "scrapy") -> list[str]:
    """``python -m scrapy crawl SPIDER -s KWIFF_ENDPOINT=ENDPOINT ARGS...``; the in-process
    simulator (``simulator``) :data:`AT_REST` unless *args* set its options. *runner*: the
    module run instead of ``scrapy`` (``tests.support.without_msgspec``)."""
    at_rest = ["-s", AT_REST] if endpoint == "simulator" else []
    return [
        sys.executable, "-m", runner, "crawl", spider, "-s", f"KWIFF_ENDPOINT={endpoint}",
        *at_rest, *args,
    ]  # fmt: skip


def crawl_environment(warnings: str) -> dict[str, str]:
    """This process's environment, with *warnings* as ``PYTHONWARNINGS``."""
    environment = {**os.environ, "PYTHONWARNINGS": warnings}
    environment.pop("SCRAPY_SETTINGS_MODULE", None)
    return environment


def run_crawl(
    *args: str,
    spider: str = "kwiff_football",
    endpoint: str = "simulator",
    warnings: str = "error::RuntimeWarning",
    runner: str = "scrapy",
) -> subprocess.CompletedProcess[str]:
    """Run a crawl to its end; its stdout and stderr are captured as text.

    By default against the in-process simulator, a never-awaited coroutine being an error.
    """
    return subprocess.run(
        crawl_command(spider, endpoint, *args, runner=runner),
        cwd=PROJECT_ROOT,
        env=crawl_environment(warnings),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )


@contextlib.contextmanager
def started_crawl(
    log: Path,
    *args: str,
    spider: str = "kwiff_football",
    endpoint: str = "simulator",
    warnings: str = "default",
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a crawl writing its stdout and stderr to *log*; kill it on exit if still running.

    By default every warning is shown once in the log, for the test to look for.
    """
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            crawl_command(spider, endpoint, *args),
            cwd=PROJECT_ROOT,
            env=crawl_environment(warnings),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def wait_for_text(path: Path, text: str) -> None:
    """Return once *text* is in the file at *path* (a process's log being written)."""
    until_sync(
        lambda: path.exists() and text in path.read_text(encoding="utf-8", errors="replace"),
        f"{text!r} appearing in {path}",
    )


def assert_clean_run(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "Task was destroyed" not in result.stderr
    assert "ERROR" not in result.stderr, result.stderr[-3000:]


def assert_fails_at_start(
    result: subprocess.CompletedProcess[str], message: str, output: Path
) -> None:
    """Exit status 1 and one log line with the message: no traceback, nothing written."""
    assert result.returncode == 1, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if message in line]
    assert len(lines) == 1, result.stderr[-3000:]
    assert " ERROR: Cannot start the crawl: " in lines[0]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "Task exception" not in result.stderr, result.stderr[-3000:]
    assert not output.exists()


def scrapy_kwiff(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m scrapy kwiff ARGS...`` run in *cwd* to its end, output captured as UTF-8."""
    environment = {**crawl_environment("error::RuntimeWarning"), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "kwiff", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=HANG_GUARD,
        check=False,
    )
