"""bench/soak_watch.py --short: the soak's 15-second version, so that the script cannot rot.

A details watch against the moving simulator (each in its own process), the simulator's
connections dropped, the simulator restarted and the watch killed and restarted from its
JOBDIR, each once; then every price move the simulator logged is found in the history
(or lost with an answer a fault cut), and no poll is late by more than two intervals.
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


def test_the_short_soak_passes_with_each_fault_injected(tmp_path: Path) -> None:
    out = tmp_path / "soak"
    result = subprocess.run(
        [sys.executable, "-m", "bench.soak_watch", "--short", "--out", str(out)],
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
    assert re.search(r"faults: drop x1, kill x1, restart x1\n", report), report
    recorded = re.search(r"^    recorded: (\d+)$", report, re.M)
    assert recorded is not None, report
    assert int(recorded.group(1)) > 0
    assert '"late_by_more_than_two_intervals": 0' in report
    # The watch ran twice (killed, then restarted from JOBDIR) and stopped cleanly at the end.
    assert "watch exit statuses: [-9, 0]" in report
    assert (out / "summary.json").exists()
