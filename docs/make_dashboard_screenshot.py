"""Make ``docs/dashboard.png``, the board of ``scrapy kwiff dashboard`` shown in the README.

``python docs/make_dashboard_screenshot.py [OUTPUT.png]``

The history is the one of ``docs/make_history_plot.py`` (a watch of the moving simulator,
the football list every 2 minutes for 100 polls, in a temporary SQLite file). Then
``scrapy kwiff dashboard`` serves it on a free port of 127.0.0.1, and the distribution's
Chromium (``apt-get install chromium``), driven by Playwright, takes the board's picture,
1280x800, with the move since an hour chosen. Needs the ``test`` extra (Playwright).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from make_history_plot import watch_into
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("KWIFF_CHROMIUM", "/usr/bin/chromium")
#: Seconds the dashboard gets to start before the script gives up.
START_TIMEOUT = 120


def serve(database: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``scrapy kwiff dashboard`` on *database*, on a free port; the process and its URL."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "scrapy", "kwiff", "dashboard", "--db",
             f"sqlite:///{database}", "--port", "0"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = re.search(r"at (http://\S+/) ", log.read_text(encoding="utf-8"))
        if found:
            return process, found[1]
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the dashboard did not start: {log.read_text(encoding='utf-8')}")


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("dashboard.png")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "watch.sqlite"
        watch_into(database)
        process, url = serve(database, Path(folder) / "dashboard.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(url)
                page.wait_for_selector("#live.on")
                page.click("button[data-move='1h']")
                page.screenshot(path=str(output))
                browser.close()
        finally:
            process.terminate()
            process.wait()
    print(f"Wrote {output}")


if __name__ == "__main__":
    main()
