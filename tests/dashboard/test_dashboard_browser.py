"""The dashboard in a real browser (Debian's Chromium, driven by Playwright): a watch of the
moving simulator writes the history while `scrapy kwiff dashboard` serves it; the board
takes new prices without a reload, the filters narrow it, the event page's charts draw
and answer the mouse, the CSV link downloads what `history --csv` writes, and nothing
from the service runs as code. Each page's screenshot (1280x800) is saved
(tests/support/browser.py says where)."""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import sqlite3
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kwiff_scrapy.commands import history as history_command
from kwiff_scrapy.commands.history import HistoryPlan
from kwiff_scrapy.dashboard.live import LOOKBACK_MS

from ..commands.test_history_command import ARSENAL, NOW, opening_events
from ..support.browser import chromium, screenshot, watched_page
from ..support.crawl_process import HANG_GUARD, started_crawl
from ..support.dashboards import write_event
from ..support.waiting import until_sync
from .test_dashboard_command import dashboard

pytestmark = pytest.mark.slow

#: The dashboard's look at the history, in seconds (its default).
POLL = 2.0
XSS = "<script>alert(1)</script>"
XSS_IMG = '<img src=x onerror="alert(2)">'
#: The most polls a price may take to reach an open page: the one under way when it is
#: written may miss it, the next one finds it.
POLLS_TO_APPEAR = 2


def health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}health", timeout=HANG_GUARD) as response:
        found: dict[str, Any] = json.loads(response.read())
    return found


def stored_after(database: Path, keys: list[int], after_ms: int) -> list[tuple[Any, ...]]:
    """The prices of outcome rows *keys* stored after *after_ms*: (key, time, odds, status)."""
    marks = ",".join("?" * len(keys))
    with sqlite3.connect(database) as connection:
        return connection.execute(
            f"SELECT outcome, fetched_at, odds, status FROM kwiff_prices "
            f"WHERE outcome IN ({marks}) AND fetched_at > ? ORDER BY fetched_at",
            [*keys, after_ms],
        ).fetchall()


def stored_any(database: Path) -> bool:
    """Whether the history has a price yet (its tables may not even exist yet)."""
    if not database.exists():
        return False
    with sqlite3.connect(database) as connection:
        try:
            return connection.execute("SELECT 1 FROM kwiff_prices LIMIT 1").fetchone() is not None
        except sqlite3.OperationalError:  # no tables yet
            return False


def stored_span(database: Path) -> int:
    """Milliseconds from the first stored price's time to the latest's."""
    with sqlite3.connect(database) as connection:
        (span,) = connection.execute(
            "SELECT max(fetched_at) - min(fetched_at) FROM kwiff_prices"
        ).fetchone()
    return int(span or 0)


def events_with_removals(database: Path) -> set[int]:
    """The events some of whose outcomes were removed (the event ended, a market went)."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT DISTINCT o.event_id FROM kwiff_prices p "
            "JOIN kwiff_outcomes o ON o.id = p.outcome WHERE p.status = 'removed'"
        ).fetchall()
    return {event_id for (event_id,) in rows}


def latest_time(database: Path, keys: list[int]) -> int:
    marks = ",".join("?" * len(keys))
    with sqlite3.connect(database) as connection:
        (found,) = connection.execute(
            f"SELECT max(fetched_at) FROM kwiff_prices WHERE outcome IN ({marks})", keys
        ).fetchone()
    return int(found)


def cell_state(page: Any, key: int) -> tuple[str, str, bool]:
    """What the board's cell of outcome row *key* shows: (data-odds, data-status, flashed);
    ("", "", False) while the board has no such cell (its row being replaced)."""
    found: list[list[Any]] = page.eval_on_selector_all(
        f'td.price[data-key="{key}"]',
        "cells => cells.map(cell => "
        "[cell.dataset.odds, cell.dataset.status, cell.classList.contains('flash')])",
    )
    if not found:
        return "", "", False
    return found[0][0], found[0][1], found[0][2]


def board_events(page: Any) -> list[int]:
    ids: list[str] = page.eval_on_selector_all(
        "tr[data-event]", "rows => rows.map(r => r.dataset.event)"
    )
    return [int(i) for i in ids]


def stop(process: Any) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=HANG_GUARD)


def test_a_watch_and_the_dashboard_end_to_end(tmp_path: Path) -> None:
    database = tmp_path / "odds.sqlite"
    uri = f"sqlite:///{database}"
    watch_log = tmp_path / "watch.log"
    watch_args = ("-a", "interval=1", "-s", f"KWIFF_HISTORY_URI={uri}", "-s", "LOG_LEVEL=INFO")
    with (
        chromium() as browser,
        started_crawl(watch_log, *watch_args, spider="kwiff_watch") as watch,
    ):
        until_sync(lambda: stored_any(database), "the watch storing its first prices")
        with (
            dashboard(tmp_path, "--db", uri, "--poll", str(POLL)) as (_server, url, _log),
            watched_page(browser) as (page, problems),
        ):
            # -- the board, live --------------------------------------------------------
            page.goto(url)
            page.wait_for_selector("#live.on")  # the live stream is open
            # What is measured is a price written once the watch's first poll (~12,000
            # prices, the baseline) has left the live feed's lookback window, which each
            # look reads again: the look is then as short as a watch's steady state.
            until_sync(
                lambda: stored_span(database) > LOOKBACK_MS,
                "the watch's baseline leaving the live feed's lookback window",
            )
            looked = health(url)["polls"]
            until_sync(lambda: health(url)["polls"] >= looked + 3, "three looks after that")
            keys = [
                int(k)
                for k in page.eval_on_selector_all(
                    "td.price[data-key]", "cells => cells.map(c => c.dataset.key)"
                )
            ]
            assert keys, "the board shows no price"
            loaded_at = latest_time(database, keys)
            # A price, not a removal: a removed outcome (an event ending, a market going:
            # frequent in the moving simulator) leaves the board rather than showing it.
            new: list[tuple[Any, ...]] = []
            until_sync(
                lambda: bool(
                    new.extend(
                        p for p in stored_after(database, keys, loaded_at) if p[2] is not None
                    )
                    or new
                ),
                "the watch storing a new price of an outcome on the board",
            )
            polls_then = health(url)["polls"]
            key = new[0][0]

            def shown_new_price() -> bool:
                odds, status, flashed = cell_state(page, key)
                stored = {
                    (repr(o) if o is not None else "", s or "")
                    for k, _, o, s in stored_after(database, [key], loaded_at)
                    if k == key
                }
                return flashed and (odds, status) in stored

            until_sync(shown_new_price, f"outcome {key}'s new price on the open board")
            polls_now = health(url)["polls"]
            assert polls_now - polls_then <= POLLS_TO_APPEAR, (polls_then, polls_now)
            assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
            screenshot(page, "board")

            # -- the filters ------------------------------------------------------------
            everything = board_events(page)
            headings = "hs => hs.map(h => h.textContent)"
            assert len(page.eval_on_selector_all("section.competition h2", headings)) > 1
            competition = page.eval_on_selector("section.competition h2", "h => h.textContent")
            with page.expect_navigation():
                page.select_option("#competition", competition)
            narrowed = board_events(page)
            assert narrowed
            assert page.eval_on_selector_all("section.competition h2", headings) == [competition]
            team = page.eval_on_selector("tr[data-event] .team", "t => t.textContent")
            page.fill("#team", team)
            with page.expect_navigation():
                page.press("#team", "Enter")
            teams = page.eval_on_selector_all(
                "tr[data-event] .match a", "links => links.map(a => a.textContent)"
            )
            assert teams
            assert all(team.casefold() in t.casefold() for t in teams)
            assert len(teams) < len(everything)

            # -- movers and signals -----------------------------------------------------
            page.goto(f"{url}movers")
            assert page.locator("section.movers").count() == 3
            screenshot(page, "movers")

            # -- one event, its charts and its CSV ---------------------------------------
            stop(watch)  # the history at rest, to compare the CSV with history --csv
            # One whose prices all stand: where an event's outcomes were removed (it ended,
            # as the first to kick off may while the watch runs), its chart shows none.
            removed = events_with_removals(database)
            event_id = next(event for event in everything if event not in removed)
            page.goto(f"{url}event/{event_id}")
            page.wait_for_selector("#charts canvas")
            painted = page.evaluate(
                """() => {
                    const canvas = document.querySelector('#charts canvas');
                    const data = canvas.getContext('2d')
                        .getImageData(0, 0, canvas.width, canvas.height).data;
                    let painted = 0;
                    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
                    return painted;
                }"""
            )
            assert painted > 1000, f"the chart's canvas is blank ({painted} pixels painted)"
            box = page.locator("#charts .u-over").first.bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
            legend = page.locator("#charts .chart").first.locator(".u-legend .u-value")
            values = legend.all_inner_texts()
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", values[0]), values
            assert any(re.match(r"\d+\.\d\d", value) for value in values[1:]), values
            screenshot(page, "event")
            page.click("button[data-scale=probability]")
            page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
            values = legend.all_inner_texts()
            assert any(re.match(r"\d+\.\d%", value) for value in values[1:]), values
            with page.expect_download() as download:
                page.click("#csv")
            downloaded = Path(download.value.path()).read_bytes()
            written = tmp_path / "history.csv"
            plan = HistoryPlan(db=uri, event_id=event_id, csv=str(written))
            assert history_command.run(plan) == 0
            assert downloaded == written.read_bytes()
            assert problems.errors == []
            assert problems.dialogs == []


def test_nothing_from_the_service_runs_and_the_page_says_when_the_history_is_away(
    tmp_path: Path,
) -> None:
    database = tmp_path / "odds.sqlite"
    uri = f"sqlite:///{database}"
    event = copy.deepcopy(opening_events()[0])
    event.home_team = XSS
    event.markets[0].outcomes[0].name = XSS_IMG
    write_event(uri, event, NOW - timedelta(minutes=1))
    with (
        chromium() as browser,
        dashboard(tmp_path, "--db", uri, "--poll", "0.2") as (_server, url, _log),
        watched_page(browser) as (page, problems),
    ):
        page.goto(url)
        page.wait_for_selector("#live.on")
        assert page.locator(f"#event-{ARSENAL} .team").first.inner_text() == XSS
        page.goto(f"{url}event/{ARSENAL}")
        page.wait_for_selector("#charts canvas")
        assert page.locator("h1").inner_text() == f"{XSS} v Juventus"
        labels = page.locator("#charts .chart").first.locator(".u-legend .u-label")
        assert XSS_IMG in labels.evaluate_all("labels => labels.map(l => l.textContent)")
        page.goto(url)
        page.wait_for_selector("#live.on")
        os.rename(database, tmp_path / "away.sqlite")
        page.wait_for_selector("#banner.error")
        assert "The odds history cannot be read" in page.locator("#banner").inner_text()
        os.rename(tmp_path / "away.sqlite", database)
        page.wait_for_selector("#banner.ok")
        assert page.locator("#banner").inner_text() == "The odds history is back."
        assert problems.dialogs == []
        assert problems.errors == []
