"""An event's stored prices as CSV: the one format of ``history --csv`` and the dashboard.

:data:`CSV_FIELDS` are the columns; :func:`write_event_csv` writes every price of an
:class:`~kwiff_scrapy.history.event_prices.EventMoves` (each stored price with the one
before it) as a row to any text stream, each distinct time and price made text once.
"""

from __future__ import annotations

import csv
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
    after a header of :data:`CSV_FIELDS`; how many rows."""
    data = moved.prices
    lines, line_of, times = data.lines, data.line, data.times
    odds, fractional, status = data.odds, data.fractional, data.status
    opening, overround = moved.opening, moved.overround
    time_text = UtcTexts().iso
    probabilities: dict[float | None, str] = {}

    def probability_text(price: float | None) -> str:
        text = probabilities.get(price)
        if text is None:
            text = probabilities[price] = csv_number(price_probability(price))
        return text

    def row(r: int) -> tuple[object, ...]:
        line = lines[line_of[r]]
        before = None if opening[r] else odds[r - 1]
        after = odds[r]
        change = relative_change(before, after)
        return (
            time_text(times[r]),
            data.event_id,
            line.market,
            line.outcome,
            "" if line.outcome_id is None else line.outcome_id,
            csv_number(before),
            csv_number(after),
            "" if change is None else f"{change:.6f}",
            fractional[r] or "",
            status[r] or "",
            "" if opening[r] else probability_text(before),
            probability_text(after),
            csv_number(overround[r]),
        )

    writer = csv.writer(file)
    writer.writerow(CSV_FIELDS)
    writer.writerows(map(row, moved.rows))
    return len(moved.rows)


def csv_number(value: float | None) -> str:
    """A number as CSV writes it: exactly (``repr``), or empty for None."""
    return "" if value is None else repr(value)
