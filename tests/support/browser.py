"""A real browser for tests: the distribution's Chromium (``apt-get install chromium``;
``.ci/run`` installs it) driven by Playwright for Python. No browser is ever downloaded.

Where Playwright or Chromium is missing the test is skipped saying what to install; under
``CI=true`` it fails. Pages opened through :func:`watched_page` record every console error
and uncaught exception, for the test to assert there were none.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .extras import require, unavailable

#: Where the browser is, unless ``KWIFF_CHROMIUM`` says.
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
#: What every screenshot is (the README's too).
VIEWPORT = {"width": 1280, "height": 800}
#: Where the tests save their screenshots, unless ``KWIFF_SCREENSHOTS`` says.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def chromium_path() -> str:
    given = os.environ.get("KWIFF_CHROMIUM")
    for candidate in ([given] if given else []) + list(CHROMIUM_PATHS):
        if candidate and (Path(candidate).is_file() or shutil.which(candidate)):
            return candidate
    unavailable(
        "the browser tests need Debian's Chromium: apt-get install -y chromium "
        "(or KWIFF_CHROMIUM=/path/to/chromium)"
    )


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's ``Browser``), closed on exit."""
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    sync_api = require("playwright.sync_api", "test", "the browser tests")
    path = chromium_path()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Problems:
    """What went wrong in the page: console errors, uncaught exceptions, dialogs."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextlib.contextmanager
def watched_page(browser: Any, **options: Any) -> Iterator[tuple[Any, Problems]]:
    """A new page (1280x800) that records its problems; its context closed on exit."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, **options)
    page = context.new_page()
    problems = Problems()
    page.on(
        "console",
        lambda message: (
            problems.errors.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.errors.append(f"page error: {error}"))

    def dialog(opened: Any) -> None:
        problems.dialogs.append(f"{opened.type}: {opened.message}")
        opened.dismiss()

    page.on("dialog", dialog)
    try:
        yield page, problems
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save the page as it is now to ``SCREENSHOTS/name.png`` (1280x800)."""
    folder = Path(os.environ.get("KWIFF_SCREENSHOTS", SCREENSHOTS))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    return path
