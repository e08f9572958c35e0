"""`scrapy kwiff dashboard` over HTTP, on SQLite and on PostgreSQL: the pages show the
history's numbers (the same as `scrapy kwiff history`'s), escape what the service sent,
ask for the token, stream new prices and signals, and say when the history is away."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import copy
import csv
import io
import os
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from parsel import Selector

from kwiff_scrapy.commands import history as history_command
from kwiff_scrapy.commands.history import HistoryPlan
from kwiff_scrapy.dashboard.app import DASHBOARD_KEY
from kwiff_scrapy.history.export import CSV_FIELDS
from kwiff_scrapy.history.queries import HistoryReader
from kwiff_scrapy.history.records import observe
from kwiff_scrapy.history.schema import database_url
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.model.items import KwiffEvent
from kwiff_scrapy.model.odds import overround
from kwiff_scrapy.model.signals import OddsSignal
from kwiff_scrapy.model.values import iso_utc_datetime

from ..commands.test_history_command import (
    ARSENAL,
    NOW,
    RAW,
    SPORTING,
    build_history,
    opening_events,
)
from ..support.dashboards import next_event, one_outcome, served, write_event
from ..support.databases import (  # fixtures, used by name
    history_uri,
    postgres_server,
    postgres_uri,
    sqlite_uri,
)
from ..support.waiting import until

GALATASARAY = RAW[2]["id"]
XSS = "<script>alert(1)</script>"


def page_clock(html: str) -> datetime:
    """The history's "now" the page measured its moves back from."""
    text = Selector(html).css("#clock::text").get()
    assert text is not None
    return datetime.fromisoformat(f"{text}+00:00")


def cells(row: Selector) -> list[str]:
    return [" ".join(" ".join(td.css("*::text").getall()).split()) for td in row.css("td")]


# -- the board -------------------------------------------------------------------------------


async def test_the_board_shows_the_result_prices_their_moves_and_the_margin(
    history_uri: str,
) -> None:
    build_history(history_uri)
    async with served(history_uri) as client:
        response = await client.get("/")
        assert response.status == 200
        page = Selector(await response.text())
    assert page.css("section.competition h2::text").getall() == ["UEFA Champions League"]
    rows = page.css("tr[data-event]")
    assert [int(r.attrib["data-event"]) for r in rows] == [ARSENAL, SPORTING, GALATASARAY]
    arsenal, sporting, _ = rows
    home, draw, away = arsenal.css("td.price")
    # Arsenal 1.67 -> 1.80 80 minutes ago: no move in 15 minutes or an hour, +7.8 % since
    # the opening; the draw suspended; Juventus 4.50 -> 4.00 ten minutes ago.
    assert home.css(".odds::text").get() == "1.80"
    assert home.css(".m-15m::text").get() is None
    assert home.css(".m-1h::text").get() is None
    assert home.css(".m-open::text").get() == "\N{BLACK UP-POINTING TRIANGLE} 7.8%"
    assert "up" in home.css(".m-open").attrib["class"]
    assert "suspended" in draw.attrib["class"]
    assert draw.css(".badge::text").get() == "SUSP"
    for window in ("15m", "1h", "open"):
        assert away.css(f".m-{window}::text").get() == "\N{BLACK DOWN-POINTING TRIANGLE} 11.1%"
        assert "down" in away.css(f".m-{window}").attrib["class"]
    # A market with a suspended outcome has no overround; Sporting's is its odds' margin.
    assert arsenal.css("td.margin::text").get() == "\N{EN DASH}"
    odds = [float(cell.attrib["data-odds"]) for cell in sporting.css("td.price")]
    assert odds == [1.73, 3.75, 5.5]
    assert sporting.css("td.margin::text").get() == f"{overround(odds) * 100:.1f}%"
    assert sporting.css("td.price")[2].css(".m-open::text").get() == (
        "\N{BLACK UP-POINTING TRIANGLE} 27.0%"
    )


async def test_the_filters_narrow_the_board(history_uri: str) -> None:
    build_history(history_uri)
    async with served(history_uri) as client:

        async def shown(**query: str) -> list[int]:
            response = await client.get("/", params=query)
            assert response.status == 200
            page = Selector(await response.text())
            return [int(r.attrib["data-event"]) for r in page.css("tr[data-event]")]

        assert await shown() == [ARSENAL, SPORTING, GALATASARAY]
        assert await shown(team="juve") == [ARSENAL]
        assert await shown(team="Benfica") == [GALATASARAY]
        assert await shown(competition="UEFA Champions League") == [ARSENAL, SPORTING, GALATASARAY]
        assert await shown(competition="Premier League") == []
        assert await shown(in_play="1") == []


async def test_what_the_service_sent_is_shown_as_text(sqlite_uri: str) -> None:
    event = copy.deepcopy(opening_events()[0])
    event.home_team = XSS
    event.competition_name = '<b>Cup</b> & "Co"'
    event.markets[0].outcomes[0].name = XSS
    event.markets[0].name = f"{event.markets[0].name}"
    write_event(sqlite_uri, event, NOW - timedelta(minutes=5))
    async with served(sqlite_uri) as client:
        board = await (await client.get("/")).text()
        event_page = await (await client.get(f"/event/{event.event_id}")).text()
        movers = await (await client.get("/movers")).text()
    for html in (board, event_page, movers):
        assert "<script>alert" not in html
        assert "<b>Cup" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in board
    assert "&lt;b&gt;Cup&lt;/b&gt; &amp; &#34;Co&#34;" in board
    assert Selector(board).css("tr[data-event] .team::text").get() == XSS
    # The charts' data: JSON in which no "<" can close the script element.
    data = Selector(event_page).css("#chart-data::text").get()
    assert data is not None
    assert "<" not in data
    assert "\\u003cscript\\u003e" in data


# -- movers and signals ------------------------------------------------------------------------


async def test_the_movers_are_the_numbers_of_history_top(
    history_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    build_history(history_uri)
    async with served(history_uri) as client:
        html = await (await client.get("/movers")).text()
    now = page_clock(html)
    page = Selector(html)
    for window in ("15m", "1h", "24h"):
        capsys.readouterr()
        plan = HistoryPlan(db=history_uri, top=10, since=window)
        assert history_command.run(plan, now=now) == 0
        printed = capsys.readouterr().out
        expected = [
            (match[1], match[2], match[3])
            for match in re.finditer(
                r"^\s*\d+\s+\d+\s+.+?\s{2,}.+?\s{2,}(\S.*?)\s{2,}(\d+\.\d\d \S \d+\.\d\d)\s+"
                r"([+-]\d+\.\d%)",
                printed,
                re.MULTILINE,
            )
        ]
        shown = []
        for row in page.css(f"section.movers[data-window='{window}'] tbody tr"):
            outcome = row.css(".selection b::text").get()
            odds = " ".join(row.css("td.num")[0].css("*::text").getall()).split()
            change = row.css("td.num")[1].css("::text").get() or ""
            sign = "+" if "up" in row.css("td.num")[1].attrib["class"] else "-"
            shown.append((outcome, " ".join(odds), sign + change.split()[-1]))
        assert shown == expected, (window, printed)
    assert len(expected) == 4  # 24 hours: every move of the history


async def test_the_movers_are_computed_once_per_max_age(tmp_path: Path) -> None:
    arsenal = opening_events()[0]

    async def first_mover(client: Any) -> str | None:
        page = Selector(await (await client.get("/movers")).text())
        return page.css("section.movers[data-window='15m'] tbody tr .selection b::text").get()

    for max_age, expected in ((3600.0, "Juventus"), (0.0, "Arsenal")):
        uri = f"sqlite:///{tmp_path / f'odds-{max_age}.sqlite'}"
        build_history(uri)
        async with served(uri, poll=3600, movers_max_age=max_age) as client:
            assert await first_mover(client) == "Juventus"  # 4.50 -> 4.00 ten minutes ago
            # Arsenal 1.80 -> 1.20 now: the biggest move of the last 15 minutes.
            write_event(uri, one_outcome(arsenal, 0, 0, 1.2), NOW)
            assert await first_mover(client) == expected


def signal(fetched: datetime, *, outcome: str = "Juventus", rule: str = "drop") -> OddsSignal:
    return OddsSignal(
        rule=rule,
        kind="drop",
        event_id=ARSENAL,
        home_team="Arsenal",
        away_team="Juventus",
        competition_name="UEFA Champions League",
        market_name="Full Time Result",
        outcome_name=outcome,
        outcomes=[outcome],
        markets=["Full Time Result"],
        window=900.0,
        from_odds=4.5,
        to_odds=4.0,
        change=-0.111,
        strength=1.0,
        fetched_at=iso_utc_datetime(fetched),
    )


def store_signal(uri: str, item: OddsSignal) -> None:
    store = HistoryStore(database_url(uri))
    store.open()
    try:
        seen = observe(item)
        assert seen is not None
        store.write([seen])
    finally:
        store.close()


async def test_signals_are_listed_newest_first_and_arrive_live(history_uri: str) -> None:
    build_history(history_uri)
    store_signal(history_uri, signal(NOW - timedelta(minutes=9)))
    store_signal(history_uri, signal(NOW - timedelta(minutes=4), outcome="Arsenal", rule="steam"))
    async with served(history_uri) as client:
        page = Selector(await (await client.get("/movers")).text())
        listed = [cells(row)[1:4] for row in page.css("#signals tr")]
        assert listed == [
            ["steam", "Arsenal v Juventus", "Full Time Result · Arsenal"],
            ["drop", "Arsenal v Juventus", "Full Time Result · Juventus"],
        ]
        async with client.get("/live") as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            store_signal(history_uri, signal(NOW - timedelta(minutes=1), outcome=XSS))
            sent = await next_event(stream, "signals", "the new signal on the live stream")
    (row,) = sent.data["rows"]
    assert "&lt;script&gt;" in row["html"]
    assert XSS not in row["html"]
    assert Selector(f"<table>{row['html']}</table>").css("b::text").get() == XSS


# -- live prices ---------------------------------------------------------------------------------


async def test_a_price_written_afterwards_is_streamed_with_its_board_row(history_uri: str) -> None:
    build_history(history_uri)
    arsenal = opening_events()[0]
    async with (
        served(history_uri) as client,
        client.get("/live", params={"event": str(ARSENAL)}) as stream,
    ):
        # Arsenal (home) 1.80 -> 1.50, written while the page is open.
        assert write_event(history_uri, one_outcome(arsenal, 0, 0, 1.5), NOW) == 1
        prices = await next_event(stream, "prices", "the new price on the live stream")
        board = await next_event(stream, "board", "Arsenal's board row on the live stream")
    (price,) = prices.data["prices"]
    assert price["event_id"] == ARSENAL
    assert price["odds"] == 1.5
    assert price["probability"] == pytest.approx(1 / 1.5)
    assert price["status"] is None
    (row,) = board.data["rows"]
    assert row["event_id"] == ARSENAL
    home = Selector(f"<table>{row['html']}</table>").css("td.price")[0]
    assert home.css(".odds::text").get() == "1.50"
    assert home.css(".m-15m::text").get() == "\N{BLACK DOWN-POINTING TRIANGLE} 16.7%"


async def test_the_page_says_when_the_history_goes_away_and_when_it_is_back(
    sqlite_uri: str, tmp_path: Path
) -> None:
    build_history(sqlite_uri)
    database = Path(sqlite_uri.removeprefix("sqlite:///"))
    moved = tmp_path / "moved.sqlite"
    async with served(sqlite_uri) as client, client.get("/live") as stream:
        os.rename(database, moved)
        down = await next_event(stream, "status", "the stream saying the history is away")
        assert down.data["ok"] is False
        assert f"there is no database file {database}" in down.data["message"]
        page = await client.get("/")
        assert page.status == 503
        text = await page.text()
        assert "The odds history cannot be read" in text
        assert '<meta http-equiv="refresh"' in text
        os.rename(moved, database)
        back = await next_event(stream, "status", "the stream saying the history is back")
        assert back.data == {"ok": True, "message": "The odds history is back."}
        assert (await client.get("/")).status == 200


# -- one event -----------------------------------------------------------------------------------


async def test_the_event_page_has_its_charts_moves_and_opening_and_closing_prices(
    history_uri: str,
) -> None:
    build_history(history_uri)
    async with served(history_uri) as client:
        response = await client.get(f"/event/{ARSENAL}")
        assert response.status == 200
        page = Selector(await response.text())
        assert (await client.get("/event/123")).status == 404
        assert (await client.get("/event/abc")).status == 404
    assert page.css("h1::text").get() == "Arsenal v Juventus"
    import json

    charts = json.loads(page.css("#chart-data::text").get() or "")
    names = [market["market"] for market in charts["markets"]]
    assert names[:2] == ["Full Time Result", "Double Chance"]
    result = charts["markets"][0]["series"]
    assert [line["outcome"] for line in result] == ["Arsenal", "Draw", "Juventus"]
    assert result[0]["odds"][:2] == [1.67, 1.8]
    assert result[1]["open"][:2] == [True, False]  # the draw suspended
    assert charts["kickoff"] is not None
    moves = [cells(row) for row in page.css("section.moves tbody tr")]
    assert [row[2] for row in moves] == ["Arsenal or Draw", "Juventus", "Draw", "Arsenal"]
    assert moves[1][3] == "4.50 \N{RIGHTWARDS ARROW} 4.00"
    report = {tuple(cells(row)[:2]): cells(row) for row in page.css("section.report tbody tr")}
    assert report["Full Time Result", "Arsenal"][2:4] == ["1.67", "not started"]


async def test_the_csv_download_is_history_csv(history_uri: str, tmp_path: Path) -> None:
    build_history(history_uri)
    written = tmp_path / "moves.csv"
    assert history_command.run(HistoryPlan(db=history_uri, event_id=ARSENAL, csv=str(written))) == 0
    async with served(history_uri) as client:
        response = await client.get(f"/event/{ARSENAL}.csv")
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert f'filename="event-{ARSENAL}.csv"' in response.headers["Content-Disposition"]
        downloaded = await response.read()
    assert downloaded == written.read_bytes()
    rows = list(csv.reader(io.StringIO(downloaded.decode())))
    assert tuple(rows[0]) == CSV_FIELDS
    assert len(rows) > 10


async def test_the_png_download_is_history_plot(history_uri: str, tmp_path: Path) -> None:
    build_history(history_uri)
    for probability in (False, True):
        drawn = tmp_path / f"plot-{probability}.png"
        plan = HistoryPlan(
            db=history_uri, event_id=ARSENAL, plot=str(drawn), probability=probability
        )
        assert history_command.run(plan) == 0
        async with served(history_uri) as client:
            query = "?probability=1" if probability else ""
            response = await client.get(f"/event/{ARSENAL}.png{query}")
            assert response.status == 200
            assert response.headers["Content-Type"] == "image/png"
            assert await response.read() == drawn.read_bytes()


# -- safety ----------------------------------------------------------------------------------------


async def test_a_token_is_asked_for_and_never_echoed(sqlite_uri: str) -> None:
    build_history(sqlite_uri)
    token = "s3cret-Token"
    async with served(sqlite_uri, token=token) as client:
        refused = await client.get("/")
        assert refused.status == 401
        assert token not in await refused.text()
        assert (await client.get("/live")).status == 401
        assert (await client.get(f"/event/{ARSENAL}.csv")).status == 401
        assert (await client.get("/?token=wrong")).status == 401
        assert (await client.get("/static/uPlot.iife.min.js")).status == 200
        assert (await client.get("/", headers={"Authorization": f"Bearer {token}"})).status == 200
        let_in = await client.get("/?token=" + token + "&team=juve", allow_redirects=False)
        assert let_in.status == 303
        assert let_in.headers["Location"] == "/?team=juve"
        cookie = let_in.cookies["kwiff_dashboard_token"]
        assert cookie["httponly"]
        assert cookie["samesite"] == "Strict"
        followed = await client.get("/?team=juve")  # the cookie, now
        assert followed.status == 200
        assert [int(r.attrib["data-event"]) for r in Selector(await followed.text()).css(
            "tr[data-event]")] == [ARSENAL]  # fmt: skip


async def test_pages_are_read_only_and_run_only_the_package_scripts(sqlite_uri: str) -> None:
    build_history(sqlite_uri)
    async with served(sqlite_uri) as client:
        page = await client.get("/")
        policy = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "default-src 'self'" in policy
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        html = await page.text()
        assert (await client.post("/")).status == 405
        uplot = await client.get("/static/uPlot.iife.min.js")
        assert (await uplot.text()).startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
        licence = await client.get("/static/uPlot.LICENSE")
        assert "MIT" in await licence.text()
    # No inline script and no external resource.
    for script in Selector(html).css("script"):
        assert script.attrib.get("src", "").startswith("/static/") or (
            script.attrib.get("type") == "application/json"
        )
    assert "http://" not in html.replace("http://127.0.0.1", "")
    assert "https://" not in html


def arsenal_moved() -> KwiffEvent:
    """The first opening event, its first two markets only, every price 0.5 longer and
    open: six new prices to write at one time."""
    arsenal = copy.deepcopy(opening_events()[0])
    arsenal.markets = arsenal.markets[:2]
    for market in arsenal.markets:
        for outcome in market.outcomes:
            outcome.odds = round((outcome.odds or 2.0) + 0.5, 2)
            outcome.status = None
    return arsenal


async def test_more_prices_of_one_time_than_a_look_reads_all_arrive(
    sqlite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kwiff_scrapy.dashboard import live

    monkeypatch.setattr(live, "UPDATE_LIMIT", 2)  # a look reads 2 prices at most
    build_history(sqlite_uri)
    arsenal = arsenal_moved()
    async with (
        served(sqlite_uri) as client,
        client.get("/live", params={"event": str(ARSENAL)}) as stream,
    ):
        written = write_event(sqlite_uri, arsenal, NOW)  # every one at the same time
        assert written == 6
        keys: set[int] = set()
        while len(keys) < written:
            sent = await next_event(stream, "prices", f"price {len(keys) + 1} of {written}")
            keys.update(price["key"] for price in sent.data["prices"])
    assert len(keys) == written


async def test_prices_stored_before_the_server_started_are_never_sent_as_new(
    sqlite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first look takes the whole lookback window as already shown, however many pages
    of UPDATE_LIMIT it spans: a page is sent the price written afterwards, and only it
    (the pages of the window were once read on at later looks and sent as new)."""
    from kwiff_scrapy.dashboard import live

    monkeypatch.setattr(live, "UPDATE_LIMIT", 2)  # the window at start spans three pages
    build_history(sqlite_uri)
    arsenal = arsenal_moved()
    assert write_event(sqlite_uri, arsenal, NOW) == 6  # before the server starts
    moved = one_outcome(arsenal, 0, 0, round((arsenal.markets[0].outcomes[0].odds or 2.0) + 1, 2))
    async with (
        served(sqlite_uri) as client,
        client.get("/live", params={"event": str(ARSENAL)}) as stream,
    ):
        feed = client.app[DASHBOARD_KEY].live
        await until(lambda: feed.polls >= 1, "the live feed's first look")
        assert write_event(sqlite_uri, moved, NOW + timedelta(seconds=5)) == 1
        sent = await next_event(stream, "prices", "the price written after the first look")
    odds = moved.markets[0].outcomes[0].odds
    assert [(price["odds"], price["at"]) for price in sent.data["prices"]] == [
        (odds, (NOW + timedelta(seconds=5)).timestamp())
    ]
