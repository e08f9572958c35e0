"""bench/soak_watch.py --short: the soak's 15-second version, so that the script cannot rot.

A details watch against the moving simulator (each in its own process), the simulator's
connections dropped, the simulator restarted and the watch killed and restarted from its
JOBDIR, each once; then every price move the simulator logged is found in the history
(or lost with an answer a fault cut), and no poll is late by more than two intervals.
The same for a shared watch: two workers through the soak's own Redis, the history in its
own PostgreSQL, both restarted once too.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ..support.crawl_process import PROJECT_ROOT, crawl_environment
from ..support.waiting import HANG_GUARD

pytestmark = pytest.mark.slow


def short_soak(out: Path, *arguments: str) -> str:
    """Its report, once it passed."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.soak_watch", "--short", "--out", str(out), *arguments],
        cwd=PROJECT_ROOT,
        env=crawl_environment("default"),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    report = result.stdout
    assert result.returncode == 0, report + result.stderr[-3000:]
    assert "result: PASS" in report
    return report


def test_the_short_soak_passes_with_each_fault_injected(tmp_path: Path) -> None:
    out = tmp_path / "soak"
    report = short_soak(out)
    assert re.search(r"faults: drop x1, kill x1, restart x1\n", report), report
    recorded = re.search(r"^    recorded: (\d+)$", report, re.M)
    assert recorded is not None, report
    assert int(recorded.group(1)) > 0
    assert '"late_by_more_than_two_intervals": 0' in report
    # The watch ran twice (killed, then restarted from JOBDIR) and stopped cleanly at the end.
    assert "watch exit statuses: [-9, 0]" in report
    assert (out / "summary.json").exists()


def test_the_short_shared_soak_passes_with_redis_and_postgresql_restarted(
    tmp_path: Path,
) -> None:
    report = short_soak(tmp_path / "soak", "--workers", "2")
    assert "2 worker(s)" in report
    assert "history in postgresql" in report
    faults = r"faults: drop x1, kill x1, pg x1, redis x1, restart x1\n"
    assert re.search(faults, report), report
    recorded = re.search(r"^    recorded: (\d+)$", report, re.M)
    assert recorded is not None, report
    assert int(recorded.group(1)) > 0, report
    assert '"late_by_more_than_two_intervals": 0' in report
    # Each worker stopped cleanly at the end (one of them killed once before).
    assert re.search(r"worker 1: \[(-9, )?0\]; worker 2: \[(-9, )?0\]", report), report
    assert "-9" in report.split("watch exit statuses:")[1].splitlines()[0]
