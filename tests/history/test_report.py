"""Opening and closing prices (kwiff_scrapy.history.report): the definitions of the
closing price (suspended, removed, late, not kicked off), the order, the filters; on
SQLite and on a real PostgreSQL server."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from kwiff_scrapy.history.records import observe, to_ms
from kwiff_scrapy.history.report import opening_closing, stream_opening_closing
from kwiff_scrapy.history.schema import database_url
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.model.items import OddsChange, OutcomeRow
from kwiff_scrapy.model.values import iso_utc_datetime

from ..support.crawl_process import scrapy_kwiff
from ..support.databases import history_uri, postgres_server, postgres_uri  # fixtures

KICKOFF = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
LATER_KICKOFF = KICKOFF + timedelta(days=1)
#: The report is made between the two kick-offs: event 7 has started, event 8 has not.
NOW = KICKOFF + timedelta(hours=2)


def at(minutes: int, kickoff: datetime = KICKOFF) -> str:
    return iso_utc_datetime(kickoff + timedelta(minutes=minutes))


def row(
    event_id: int,
    outcome_id: int,
    name: str,
    odds: float | None,
    fetched_at: str,
    *,
    status: str | None = None,
    market: str = "Full Time Result",
) -> OutcomeRow:
    return OutcomeRow(
        event_id=event_id,
        home_team="Arsenal" if event_id == 7 else "Celtic",
        away_team="Juventus" if event_id == 7 else "Rangers",
        competition_name="Premier League",
        start_time=iso_utc_datetime(KICKOFF if event_id == 7 else LATER_KICKOFF),
        market_id=event_id * 10 + (1 if market == "Full Time Result" else 2),
        market_name=market,
        outcome_id=outcome_id,
        outcome_name=name,
        odds=odds,
        fractional=None,
        status=status,
        fetched_at=fetched_at,
    )


def removed(outcome_id: int, name: str, fetched_at: str) -> OddsChange:
    return OddsChange(
        event_id=7,
        market_id=71,
        market_name="Full Time Result",
        outcome_id=outcome_id,
        outcome_name=name,
        kind="removed",
        fetched_at=fetched_at,
    )


ITEMS: list[Any] = [
    # Home: opens 2.0, up to 2.2, closes 1.8 an hour before kick-off, 1.9 in play.
    row(7, 711, "Arsenal", 2.0, at(-180)),
    row(7, 711, "Arsenal", 2.2, at(-120)),
    row(7, 711, "Arsenal", 1.8, at(-60)),
    row(7, 711, "Arsenal", 1.9, at(30)),
    # Draw: opens 3.0, 3.5, then suspended at 3.5 ten minutes before kick-off.
    row(7, 712, "Draw", 3.0, at(-180)),
    row(7, 712, "Draw", 3.5, at(-120)),
    row(7, 712, "Draw", 3.5, at(-10), status="Suspended"),
    # Away: opens 4.0, removed an hour before kick-off.
    row(7, 713, "Juventus", 4.0, at(-180)),
    removed(713, "Juventus", at(-60)),
    # A market first priced in play: no closing price.
    row(7, 721, "Over 2.5", 5.0, at(10), market="Total Goals"),
    # Event 8 kicks off tomorrow: no closing price yet; 2.0 -> 2.5 so far.
    row(8, 811, "Celtic", 2.0, at(-300, LATER_KICKOFF)),
    row(8, 811, "Celtic", 2.5, at(-200, LATER_KICKOFF)),
]


def store_items(uri: str) -> None:
    """A history at *uri* holding :data:`ITEMS`, each written as a batch of its own."""
    store = HistoryStore(database_url(uri))
    store.open()
    for item in ITEMS:
        seen = observe(item)
        assert seen is not None
        store.write([seen])
    store.close()


@pytest.fixture
def engine(history_uri: str) -> Any:
    store_items(history_uri)
    engine = create_engine(database_url(history_uri))
    yield engine
    engine.dispose()


def ms(moment: datetime) -> int:
    return to_ms(moment)


def test_opening_closing_high_low_last_and_the_order(engine: Any) -> None:
    rows = opening_closing(engine, now_ms=ms(NOW))
    assert [(r.event_id, r.outcome) for r in rows] == [
        (7, "Draw"),  # +16.7 % to its close
        (7, "Arsenal"),  # -10 %
        # No closing price: by the move opening -> last, then by event and outcome.
        (8, "Celtic"),  # not kicked off: +25 % so far
        (7, "Over 2.5"),  # first priced in play: 0 %
        (7, "Juventus"),  # removed: no last price
    ]
    draw, home, celtic, over, away = rows

    assert (home.opening, home.closing, home.high, home.low, home.last) == (2.0, 1.8, 2.2, 1.8, 1.9)
    assert home.opening_at == KICKOFF - timedelta(minutes=180)
    assert home.closing_at == KICKOFF - timedelta(minutes=60)
    assert home.kickoff_status is None
    assert home.started
    assert home.prices == 4
    assert home.move == pytest.approx(-0.1)
    assert home.move_points == pytest.approx(1 / 1.8 - 1 / 2.0)
    assert (home.market, home.teams) == ("Full Time Result", "Arsenal v Juventus")
    assert home.start == KICKOFF

    # Suspended at kick-off: closes at its last open price, and says it was suspended.
    assert (draw.opening, draw.closing, draw.kickoff_status) == (3.0, 3.5, "suspended")
    assert draw.closing_at == KICKOFF - timedelta(minutes=120)
    assert (draw.last, draw.last_status, draw.high, draw.low) == (3.5, "suspended", 3.5, 3.0)
    assert draw.move == pytest.approx(0.5 / 3.0)
    assert draw.move_points == pytest.approx(1 / 3.5 - 1 / 3.0)

    # Removed before kick-off: no closing price, the reason in kickoff_status.
    assert (away.opening, away.closing, away.kickoff_status) == (4.0, None, "removed")
    assert (away.last, away.last_status, away.move, away.move_points) == (
        None,
        "removed",
        None,
        None,
    )

    # Priced only after kick-off: no closing price.
    assert (over.opening, over.closing, over.kickoff_status, over.market) == (
        5.0,
        None,
        None,
        "Total Goals",
    )

    # Not kicked off yet: no closing price, however close the last one.
    assert not celtic.started
    assert (celtic.opening, celtic.closing, celtic.last, celtic.move) == (2.0, None, 2.5, None)
    assert celtic.last_move == pytest.approx(0.25)


def test_once_the_later_event_kicks_off_its_last_price_before_is_its_close(engine: Any) -> None:
    rows = opening_closing(engine, event_id=8, now_ms=ms(LATER_KICKOFF))
    assert [(r.outcome, r.closing, r.move) for r in rows] == [("Celtic", 2.5, pytest.approx(0.25))]


def test_filters_event_kickoff_since_market_and_limit(engine: Any) -> None:
    def outcomes(**filters: Any) -> list[str]:
        filters.setdefault("now_ms", ms(NOW))
        return [r.outcome for r in opening_closing(engine, **filters)]

    assert outcomes(event_id=7) == ["Draw", "Arsenal", "Over 2.5", "Juventus"]
    assert outcomes(event_id=9) == []
    # --since: the events that kicked off from then until now (not those still to come).
    assert outcomes(since_ms=ms(KICKOFF + timedelta(minutes=1))) == []
    assert outcomes(since_ms=ms(KICKOFF)) == ["Draw", "Arsenal", "Over 2.5", "Juventus"]
    assert outcomes(since_ms=ms(KICKOFF), now_ms=ms(LATER_KICKOFF)) == [
        "Celtic", "Draw", "Arsenal", "Over 2.5", "Juventus"
    ]  # fmt: skip
    assert outcomes(market="total GOALS") == ["Over 2.5"]
    assert outcomes(market=["Total Goals", "full time result"], event_id=7, limit=2) == [
        "Draw",
        "Arsenal",
    ]


def test_rows_are_streamed(engine: Any) -> None:
    stream = stream_opening_closing(engine, now_ms=ms(NOW))
    first = next(stream)
    assert first.outcome == "Draw"
    stream.close()  # the connection goes back; nothing else is read


@pytest.mark.slow
def test_the_report_command_table_and_csv(engine: Any, history_uri: str, tmp_path: Path) -> None:
    # Run now (after both kick-offs): event 8 closed at 2.5, its move is the biggest.
    table = scrapy_kwiff(tmp_path, "history", "--db", history_uri, "--report")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "Opening and closing prices, biggest closing moves first:"
    names = ["Event", "Kick-off (UTC)", "Match", "Market", "Outcome", "Open", "Close", "Move",
             "Points", "High", "Low", "Last"]  # fmt: skip
    starts = [lines[1].index(name) for name in names]
    assert lines[1].split() == " ".join(names).split()
    cells = [
        [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        for line in lines[3:]
    ]
    assert [(c[0], c[4], c[5], c[6], c[7], c[9], c[10], c[11]) for c in cells] == [
        ("8", "Celtic", "2.00", "2.50", "+25.0%", "2.50", "2.00", "2.50"),
        ("7", "Draw", "3.00", "3.50 (suspended at kick-off)", "+16.7%", "3.50", "3.00",
         "3.50 (suspended)"),
        ("7", "Arsenal", "2.00", "1.80", "-10.0%", "2.20", "1.80", "1.90"),
        ("7", "Over 2.5", "5.00", "-", "", "5.00", "5.00", "5.00"),
        ("7", "Juventus", "4.00", "- (removed)", "", "4.00", "4.00", "removed"),
    ]  # fmt: skip
    assert cells[2][8] == f"{(1 / 1.8 - 1 / 2.0) * 100:+.1f}"
    assert cells[0][:4] == ["8", "2026-12-06 15:00", "Celtic v Rangers", "Full Time Result"]

    exported = scrapy_kwiff(
        tmp_path, "history", "--db", history_uri, "--report", "--market", "full time result",
        "--csv", "report.csv",
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == (
        "Wrote the opening and closing prices of 4 outcomes to report.csv"
    )
    with (tmp_path / "report.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [r["outcome"] for r in rows] == ["Celtic", "Draw", "Arsenal", "Juventus"]
    draw = rows[1]
    assert {k: draw[k] for k in ("opening", "closing", "kickoff_status", "high", "low",
                                 "last", "last_status", "prices")} == {
        "opening": "3.0", "closing": "3.5", "kickoff_status": "suspended", "high": "3.5",
        "low": "3.0", "last": "3.5", "last_status": "suspended", "prices": "3",
    }  # fmt: skip
    assert float(draw["move"]) == pytest.approx(0.5 / 3.0)
    assert float(draw["move_points"]) == pytest.approx(1 / 3.5 - 1 / 3.0)
    assert draw["closing_at"] == at(-120)
    assert rows[3]["closing"] == ""
    assert rows[3]["kickoff_status"] == "removed"

    clash = scrapy_kwiff(tmp_path, "history", "--db", history_uri, "--report", "--top", "3")
    assert clash.returncode == 2
    assert "--report does not go with --top" in clash.stderr
