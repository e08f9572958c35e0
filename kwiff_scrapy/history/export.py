"""An event's stored prices as CSV: the one format of ``history --csv`` and the dashboard.

:data:`CSV_FIELDS` are the columns; :func:`write_moves_csv` writes every :class:`Move`
(each stored price with the one before it) as a row to any text stream.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Final

from ..model.values import iso_utc_datetime

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

    from .queries import Move

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


def write_moves_csv(file: TextIO, found: Sequence[Move]) -> int:
    """Every price of *found* as a CSV row (the opening ones with no ``odds_before``),
    after a header of :data:`CSV_FIELDS`; how many rows."""
    writer = csv.writer(file)
    writer.writerow(CSV_FIELDS)
    for move in found:
        change = move.change
        writer.writerow(
            (
                iso_utc_datetime(move.time),
                move.event_id,
                move.market,
                move.outcome,
                "" if move.outcome_id is None else move.outcome_id,
                csv_number(move.before.odds if move.before is not None else None),
                csv_number(move.after.odds),
                "" if change is None else f"{change:.6f}",
                move.after.fractional or "",
                move.after.status or "",
                csv_number(move.previous_implied_probability),
                csv_number(move.implied_probability),
                csv_number(move.market_overround),
            )
        )
    return len(found)


def csv_number(value: float | None) -> str:
    """A number as CSV writes it: exactly (``repr``), or empty for None."""
    return "" if value is None else repr(value)
