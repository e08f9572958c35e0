"""What each page shows, read from the history (blocking: the server runs these in its
database thread). No HTML here: plain dataclasses the templates lay out.

Every read goes through :mod:`kwiff_scrapy.history` (the queries the command line
uses): :class:`~kwiff_scrapy.history.queries.HistoryReader` for events, moves, movers,
opening and closing prices; :mod:`~kwiff_scrapy.history.board` for the board and the
live updates; :mod:`~kwiff_scrapy.history.signals` for the signals.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import defaults
from ..history.board import BoardEvent, BoardPrice, board, competitions, latest_time
from ..history.errors import HistoryError
from ..history.event_prices import event_moves
from ..history.export import write_event_csv
from ..history.queries import move_objects, plot_data
from ..history.records import to_ms
from ..history.signals import StoredSignal, recent_signals
from ..model.changes import relative_change
from ..model.match_rows import DRAW_NAMES
from ..model.odds import price_probability

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..history.event_prices import EventPrices
    from ..history.queries import EventInfo, HistoryReader, Move, Mover
    from ..history.report import OpeningClosing


def move_choices() -> tuple[tuple[str, str, int | None], ...]:
    """``(key, label, minutes)`` of each "move since" the board offers, then the opening."""
    found: list[tuple[str, str, int | None]] = []
    for minutes in defaults.DASHBOARD_MOVE_WINDOWS:
        found.append((duration_key(minutes), f"since {duration_label(minutes)} ago", minutes))
    found.append(("open", "since the opening", None))
    return tuple(found)


def duration_key(minutes: int) -> str:
    """``15m``, ``1h``, ``24h``: as ``history --since`` takes it."""
    return f"{minutes}m" if minutes % 60 else f"{minutes // 60}h"


def duration_label(minutes: int) -> str:
    if minutes % 60:
        return f"{minutes} min"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"


def history_now(reader: HistoryReader) -> datetime:
    """The time moves are measured back from: now, or the latest price stored if the
    history's clock runs ahead (the simulator's runs an hour a minute)."""
    reader.ensure_present()
    wall = datetime.now(UTC).replace(microsecond=0)
    latest = latest_time(reader.engine)
    return max(wall, latest.replace(microsecond=0)) if latest is not None else wall


# -- the board ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """One price on the board, with its move over each choice of :func:`move_choices`."""

    price: BoardPrice
    moves: tuple[float | None, ...]

    @property
    def open(self) -> bool:
        return self.price.status is None and self.price.odds is not None


@dataclass(frozen=True, slots=True)
class BoardRow:
    event: BoardEvent
    #: Home, draw, away (draw None in a market without one; any None if missing).
    cells: tuple[Cell | None, Cell | None, Cell | None]

    @property
    def suspended(self) -> bool:
        return any(cell is not None and not cell.open for cell in self.cells)


@dataclass(frozen=True, slots=True)
class CompetitionGroup:
    name: str
    rows: list[BoardRow]


@dataclass(frozen=True, slots=True)
class BoardPage:
    now: datetime
    groups: list[CompetitionGroup]
    competitions: list[str]
    competition: str | None
    team: str
    in_play: bool
    events: int


def board_rows(
    reader: HistoryReader,
    now: datetime,
    *,
    competition: str | None = None,
    in_play: bool | None = None,
    event_ids: Sequence[int] | None = None,
) -> list[BoardRow]:
    """The board's rows at *now* (only *event_ids* if given)."""
    windows = [m for _, _, m in move_choices() if m is not None]
    times = [to_ms(now - timedelta(minutes=m)) for m in windows]
    found = board(
        reader.engine,
        now_ms=to_ms(now),
        times_ms=times,
        competition=competition,
        in_play=in_play,
        event_ids=event_ids,
    )
    return [_board_row(event) for event in found]


def _board_row(event: BoardEvent) -> BoardRow:
    cells = [
        Cell(
            price,
            (
                *(relative_change(then, price.odds) for then in price.then),
                relative_change(price.opening, price.odds),
            ),
        )
        for price in event.prices
    ]
    draws = [c for c in cells if c.price.name.casefold() in DRAW_NAMES]
    others = [c for c in cells if c not in draws]
    home = others[0] if others else None
    away = others[-1] if len(others) > 1 else None
    return BoardRow(event, (home, draws[0] if draws else None, away))


def board_page(
    reader: HistoryReader, *, competition: str | None, team: str, in_play: bool
) -> BoardPage:
    now = history_now(reader)
    rows = board_rows(reader, now, competition=competition, in_play=True if in_play else None)
    wanted = team.strip().casefold()
    if wanted:
        rows = [row for row in rows if wanted in row.event.teams.casefold()]
    groups: dict[str, list[BoardRow]] = {}
    for row in rows:
        groups.setdefault(row.event.competition_name or "Other", []).append(row)
    return BoardPage(
        now=now,
        groups=[CompetitionGroup(name, members) for name, members in groups.items()],
        competitions=competitions(reader.engine),
        competition=competition,
        team=team,
        in_play=in_play,
        events=len(rows),
    )


# -- movers and signals ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoverTable:
    key: str
    label: str
    since: datetime
    movers: list[Mover]


@dataclass(frozen=True, slots=True)
class MoversPage:
    now: datetime
    tables: list[MoverTable]
    signals: list[StoredSignal]


def mover_tables(reader: HistoryReader, now: datetime) -> list[MoverTable]:
    """The biggest moves over each window: ``history --top N --since 15m`` (1h, 24h)'s
    very query and numbers, at *now*."""
    tables = []
    for minutes in defaults.DASHBOARD_MOVER_WINDOWS:
        since = now - timedelta(minutes=minutes)
        tables.append(
            MoverTable(
                duration_key(minutes),
                duration_label(minutes),
                since,
                reader.top_movers(defaults.DASHBOARD_MOVERS, since),
            )
        )
    return tables


def signals_after(reader: HistoryReader, after_id: int | None = None) -> list[StoredSignal]:
    """The latest signals, newest first (only those stored after row *after_id*)."""
    return recent_signals(reader.engine, after_id=after_id, limit=defaults.DASHBOARD_SIGNALS)


class MoverCache:
    """The mover tables, computed at most once per *max_age* seconds whatever the number of
    pages asking (each is three ``history --top`` queries over the windows: the costliest
    read of the dashboard on a big history). Used from the database threads."""

    def __init__(self, max_age: float = defaults.DASHBOARD_MOVERS_MAX_AGE) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._found: tuple[float, datetime, list[MoverTable]] | None = None

    def stale(self) -> bool:
        found = self._found
        return found is None or time.monotonic() - found[0] >= self.max_age

    def tables(self, reader: HistoryReader) -> tuple[datetime, list[MoverTable]]:
        """The tables and the time they were measured back from: fresh ones if stale,
        unless they are being computed already (then the last ones meanwhile)."""
        found = self._found
        if found is not None and not self.stale():
            return found[1], found[2]
        if not self._lock.acquire(blocking=found is None):
            assert found is not None
            return found[1], found[2]
        try:
            if self._found is None or self.stale():
                now = history_now(reader)
                self._found = (time.monotonic(), now, mover_tables(reader, now))
            _, now, tables = self._found
        finally:
            self._lock.release()
        return now, tables

    def refresh(self, reader: HistoryReader) -> None:
        """Compute them again now if stale (after new prices: the poller's job)."""
        if self.stale():
            self.tables(reader)


def movers_page(reader: HistoryReader, cache: MoverCache | None = None) -> MoversPage:
    if cache is None:
        now = history_now(reader)
        return MoversPage(now, mover_tables(reader, now), signals_after(reader))
    reader.ensure_present()
    now, tables = cache.tables(reader)
    return MoversPage(now, tables, signals_after(reader))


# -- one event ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventPage:
    event: EventInfo
    now: datetime
    #: The moves (a price with one before it), newest first, at most :data:`MOVES_SHOWN`.
    moves: list[Move]
    moves_total: int
    report: list[OpeningClosing]
    #: What the charts draw (JSON for the page's script).
    charts: dict[str, Any] = field(default_factory=dict)


#: Moves listed on the event page (the CSV has them all).
MOVES_SHOWN = 200


def event_page(reader: HistoryReader, event_id: int) -> EventPage:
    now = history_now(reader)
    found = reader.event_prices(event_id)
    event = reader.event_header(event_id)
    moved = event_moves(found)
    rows = [row for row in moved.rows if not moved.opening[row]]
    shown = move_objects(moved, reversed(rows[-MOVES_SHOWN:]))
    report = list(reader.opening_closing(event_id=event_id, now=now))
    return EventPage(event, now, shown, len(rows), report, chart_data(event, found))


def chart_data(event: EventInfo, found: EventPrices) -> dict[str, Any]:
    """Each market's step lines as the page's charts take them: times in seconds, each
    outcome's odds and whether it was open then, keyed by its row id for live points;
    each line carried on to the latest time stored for the event (as ``--plot`` draws)."""
    times, odds, status = found.times, found.odds, found.status
    if not times:
        raise HistoryError(f"event {event.event_id} has no prices to plot")
    end = max(times)
    probabilities: dict[float | None, float | None] = {}
    markets: dict[str, list[dict[str, Any]]] = {}
    for line in found.lines:
        span = range(line.start, line.end)
        line_times = [times[r] / 1000 for r in span]
        line_odds = odds[line.start : line.end]
        backable = [status[r] is None for r in span]
        if times[line.end - 1] < end:
            line_times.append(end / 1000)
            line_odds.append(line_odds[-1])
            backable.append(backable[-1])
        for price in line_odds:
            if price not in probabilities:
                probabilities[price] = price_probability(price)
        markets.setdefault(line.market, []).append(
            {
                "outcome": line.outcome,
                "times": line_times,
                "odds": line_odds,
                "probability": [probabilities[price] for price in line_odds],
                "open": backable,
                "key": chart_key(line.market, line.outcome_id, line.outcome),
            }
        )
    return {
        "event_id": event.event_id,
        "kickoff": event.start.timestamp() if event.start is not None else None,
        "markets": [{"market": name, "series": series} for name, series in markets.items()],
    }


def chart_key(market: str, outcome_id: int | None, outcome: str) -> str:
    """The key of an outcome's line on the event page, the same for a live price."""
    return f"{market}\N{UNIT SEPARATOR}{outcome_id if outcome_id is not None else outcome}"


def event_csv(reader: HistoryReader, event_id: int) -> tuple[EventInfo, str]:
    """Every stored price of the event as ``history --event ID --csv`` writes it."""
    found = reader.event_prices(event_id)
    event = reader.event_header(event_id)
    text = io.StringIO(newline="")
    write_event_csv(text, event_moves(found))
    return event, text.getvalue()


def event_png(reader: HistoryReader, event_id: int, *, probability: bool) -> bytes:
    """The event's first market drawn as ``history --event ID --plot`` draws it."""
    from ..history.plot import render

    event = reader.event(event_id)
    histories = reader.outcome_histories(event_id)
    first = histories[0].market
    data = plot_data(event, [h for h in histories if h.market == first], probability=probability)
    image = io.BytesIO()
    render(data, image, width=defaults.PLOT_WIDTH, height=defaults.PLOT_HEIGHT)
    return image.getvalue()


def probability(odds: float | None) -> float | None:
    return price_probability(odds)
