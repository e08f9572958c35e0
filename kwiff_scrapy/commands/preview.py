"""The ``--show-preview`` table of ``scrapy kwiff fetch-events``: the first events,
their teams, competition, start and main market odds, in aligned columns."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter

from .output import echo

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import TextIO

PREVIEW_HEADERS = ("#", "Start (UTC)", "Competition", "Home", "Away", "Market", "Odds")


@dataclass
class PreviewEvent:
    start: str
    competition: str
    home: str
    away: str
    market_seen: bool = False
    market_id: Any = None
    market: str = ""
    odds: list[Any] = field(default_factory=list)


class EventPreview:
    """Collects the first events of a crawl, from nested events or flat outcome rows."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._events: dict[Any, PreviewEvent] = {}

    def add(self, item: Any) -> None:
        """``item_scraped`` handler: a ``KwiffEvent`` or an ``OutcomeRow`` (or dicts of them)."""
        adapter = ItemAdapter(item)
        event_id = adapter.get("event_id")
        if event_id not in self._events:
            if len(self._events) >= self.limit:
                return
            self._events[event_id] = PreviewEvent(
                start=_start_text(adapter.get("start_time")),
                competition=_text(adapter.get("competition_name")),
                home=_text(adapter.get("home_team")),
                away=_text(adapter.get("away_team")),
            )
        preview = self._events[event_id]
        if "markets" in adapter:
            _add_main_market(preview, adapter.get("markets") or [])
        elif "outcome_id" in adapter:
            _add_outcome_row(preview, adapter)

    @property
    def events(self) -> list[PreviewEvent]:
        return list(self._events.values())

    def render(self) -> str:
        if not self._events:
            return "No events to preview."
        rows = [
            (
                str(number),
                event.start,
                event.competition,
                event.home,
                event.away,
                event.market or "-",
                "  ".join(_odds_text(odds) for odds in event.odds) or "-",
            )
            for number, event in enumerate(self._events.values(), start=1)
        ]
        title = f"First {len(rows)} event{'s' if len(rows) != 1 else ''}:"
        return f"{title}\n{format_table(PREVIEW_HEADERS, rows)}"


def _add_main_market(preview: PreviewEvent, markets: Iterable[Any]) -> None:
    """The event's first market is its main one (Full Time Result, Money Line...)."""
    for market in markets:
        market_adapter = ItemAdapter(market)
        preview.market_seen = True
        preview.market = _text(market_adapter.get("name"))
        preview.odds = [ItemAdapter(o).get("odds") for o in market_adapter.get("outcomes") or []]
        return


def _add_outcome_row(preview: PreviewEvent, row: ItemAdapter) -> None:
    """Flat rows come market by market: keep the outcomes of the event's first market."""
    if not preview.market_seen:
        preview.market_seen = True
        preview.market_id = row.get("market_id")
        preview.market = _text(row.get("market_name"))
    if row.get("market_id") == preview.market_id:
        preview.odds.append(row.get("odds"))


def echo_pages(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    stream: TextIO,
    *,
    page_size: int,
    heading: str | None = None,
) -> int:
    """Print *rows* as tables of *page_size* rows each (so memory stays bounded however
    many), *heading* before the first: how many rows were printed."""
    shown = 0
    page: list[Sequence[str]] = []

    def flush() -> None:
        nonlocal shown, page
        if heading is not None and not shown:
            echo(heading, stream)
        echo(format_table(headers, page), stream)
        shown += len(page)
        page = []

    for row in rows:
        page.append(row)
        if len(page) == page_size:
            flush()
    if page:
        flush()
    return shown


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned columns sized by display width, so accented and wide names line up."""
    lines = [tuple(headers), *(tuple(row) for row in rows)]
    widths = []
    # Cells whose display width is not their length (wide or combining characters): a row
    # with one is padded cell by cell; every other row by one format string.
    uneven: set[str] = set()
    for column in zip(*lines, strict=True):
        width = 0
        for cell in set(column):
            cell_width = display_width(cell)
            if cell_width != len(cell):
                uneven.add(cell)
            width = max(width, cell_width)
        widths.append(width)
    row_format = "  ".join(f"{{:<{width}}}" for width in widths)

    def line_text(line: tuple[str, ...]) -> str:
        if uneven and not uneven.isdisjoint(line):
            return "  ".join(_pad(cell, width) for cell, width in zip(line, widths, strict=True))
        return row_format.format(*line)

    underline = tuple("-" * width for width in widths)
    return "\n".join(line_text(line).rstrip() for line in (lines[0], underline, *lines[1:]))


@functools.lru_cache(maxsize=16384)
def display_width(text: str) -> int:
    """Terminal columns of *text*: combining marks take none, East Asian wide ones two.

    Every ASCII character takes one column (the common case, counted at once); a
    table's cells repeat (names, markets), so widths are cached."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if char.isascii():
            width += 1
            continue
        if unicodedata.combining(char) or unicodedata.category(char) in ("Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad_to_width(text: str, width: int) -> str:
    """*text* and spaces to take *width* terminal columns."""
    return text + " " * (width - display_width(text))


_pad = pad_to_width


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _start_text(value: Any) -> str:
    """``2026-01-20T17:45:00.000Z`` as ``2026-01-20 17:45``; anything else as it is."""
    if not isinstance(value, str):
        return _text(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def _odds_text(odds: Any) -> str:
    if isinstance(odds, int | float) and not isinstance(odds, bool):
        return f"{odds:.2f}"
    return "-"
