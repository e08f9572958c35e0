"""An event's stored prices as CSV: the one format of ``history --csv`` and the dashboard.

:data:`CSV_FIELDS` are the columns; :func:`write_event_csv` writes every price of an
:class:`~kwiff_scrapy.history.event_prices.EventMoves` (each stored price with the one
before it) as a row to any text stream, each distinct time and price made text once.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Final

from ..model.changes import relative_change
from ..model.odds import price_probability
from .time_text import UtcTexts

if TYPE_CHECKING:
    from typing import TextIO

    from .event_prices import EventMoves

CSV_FIELDS: Final = (
    "time",
    "event_id",
    "market",
    "outcome",
    "outcome_id",
    "odds_before",
    "odds",
    "change",
    "fractional",
    "status",
    "implied_probability_before",
    "implied_probability",
    "market_overround",
)


def write_event_csv(file: TextIO, moved: EventMoves) -> int:
    """Every price of *moved* as a CSV row (the opening ones with no ``odds_before``),
    after a header of :data:`CSV_FIELDS`; how many rows. As :mod:`csv` writes them, but
    the cells of each outcome and of each move from one price to another are made (and
    quoted) once: a busy event's ten thousand rows share ~150 outcomes and a few hundred
    moves, so each row is one format of seven texts."""
    data = moved.prices
    line_of, times = data.line, data.times
    odds, fractional, status = data.odds, data.fractional, data.status
    opening, overround = moved.opening, moved.overround
    time_text = UtcTexts().iso
    cell = _CsvCells()
    outcome_cells = [
        cell.join(
            data.event_id,
            line.market,
            line.outcome,
            "" if line.outcome_id is None else line.outcome_id,
        )
        for line in data.lines
    ]
    move_cells: dict[tuple[float | None, float | None], tuple[str, str]] = {}
    row_end: dict[tuple[str | None, str | None], str] = {}
    numbers: dict[float | None, str] = {}
    rows = [cell.join(*CSV_FIELDS)]
    for r in moved.rows:
        move = (None if opening[r] else odds[r - 1], odds[r])
        cells = move_cells.get(move)
        if cells is None:
            before_after, probabilities = _move_cells(*move)
            cells = move_cells[move] = (cell.join(*before_after), cell.join(*probabilities))
        labels = (fractional[r], status[r])
        labels_text = row_end.get(labels)
        if labels_text is None:
            labels_text = row_end[labels] = cell.join(labels[0] or "", labels[1] or "")
        margin = overround[r]
        margin_text = numbers.get(margin)
        if margin_text is None:
            margin_text = numbers[margin] = csv_number(margin)
        rows.append(
            f"{time_text(times[r])},{outcome_cells[line_of[r]]},{cells[0]},{labels_text},"
            f"{cells[1]},{margin_text}"
        )
    rows.append("")
    file.write("\r\n".join(rows))
    return len(moved.rows)


def _blank(value: object | None) -> object:
    return "" if value is None else value


class _CsvCells:
    """Cells as :func:`csv.writer` writes them (quoted where they must be), joined by
    commas; each distinct cell quoted once."""

    def __init__(self) -> None:
        self._text = io.StringIO()
        self._writer = csv.writer(self._text)
        self._quoted: dict[object, str] = {}

    def join(self, *cells: object) -> str:
        return ",".join([self._quote(cell) for cell in cells])

    def _quote(self, cell: object) -> str:
        quoted = self._quoted.get(cell)
        if quoted is None:
            # A row of the cell and an empty one: a lone empty cell would be written "".
            self._text.seek(0)
            self._text.truncate()
            self._writer.writerow((cell, ""))
            quoted = self._quoted[cell] = self._text.getvalue()[: -len(",\r\n")]
        return quoted


def _move_cells(
    before: float | None, after: float | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The odds and change cells, and the probability cells, of a move (*before* None: an
    opening price)."""
    change = relative_change(before, after)
    return (
        (csv_number(before), csv_number(after), "" if change is None else f"{change:.6f}"),
        (csv_number(price_probability(before)), csv_number(price_probability(after))),
    )


def csv_number(value: float | None) -> str:
    """A number as CSV writes it: exactly (``repr``), or empty for None."""
    return "" if value is None else repr(value)
