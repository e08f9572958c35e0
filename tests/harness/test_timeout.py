"""pytest-timeout, as pyproject.toml configures it, really ends a hung asyncio test.

A child pytest with the project's configuration runs one test that hangs the way a crawl
can: its loop busy in a task that swallows every exception (as asyncio's tasks and
callbacks do, so an exception raised by a SIGALRM handler is lost), forever.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: The child's own timeout, and how long it may take to end before this test gives up.
CHILD_TIMEOUT = 2
HANG_GUARD = 30.0

HUNG_TEST = f"""
import asyncio
import time

import pytest


async def swallow_everything() -> None:
    while True:
        try:
            time.sleep(0.05)  # blocking work on the loop, as a synchronous client does
        except BaseException:
            pass
        await asyncio.sleep(0)


@pytest.mark.timeout({CHILD_TIMEOUT})
async def test_hangs() -> None:
    busy = asyncio.create_task(swallow_everything())
    await busy
"""


def test_a_hung_asyncio_test_is_ended_by_the_timeout(tmp_path: Path) -> None:
    test_file = tmp_path / "test_hung.py"
    test_file.write_text(HUNG_TEST)
    try:
        child = subprocess.run(
            [sys.executable, "-m", "pytest", "-c", str(PROJECT_ROOT / "pyproject.toml"),
             "--rootdir", str(tmp_path), "-p", "no:cacheprovider", str(test_file)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=HANG_GUARD,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"the hung test was not ended by its {CHILD_TIMEOUT} s timeout within {HANG_GUARD} s"
        ) from exc
    output = child.stdout + child.stderr
    assert child.returncode != 0, output
    assert "Timeout" in output, output
    assert "in swallow_everything" in output, output  # the stack of the hung code


def test_every_hang_guard_fires_well_before_pytests_timeout(pytestconfig: pytest.Config) -> None:
    """A stuck wait must fail its own test, saying what never happened, before pytest's
    timeout ends the whole run."""
    timeout = float(pytestconfig.getini("timeout"))
    guards = {
        f"{path.relative_to(PROJECT_ROOT)}: {match.group(0).strip()}": float(match.group(1))
        for path in (PROJECT_ROOT / "tests").rglob("*.py")
        for match in re.finditer(r"^HANG_GUARD\s*=\s*([\d.]+)", path.read_text(), re.MULTILINE)
    }
    assert "tests/support/waiting.py: HANG_GUARD = 120.0" in guards
    too_long = [guard for guard, seconds in guards.items() if seconds > timeout / 2]
    assert too_long == [], f"hang guards not well below pytest's timeout of {timeout} s"
