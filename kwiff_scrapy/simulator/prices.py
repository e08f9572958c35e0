"""The UK fractional price ladder the simulated bookmaker prices on.

A market's probabilities get a bookmaker margin and are rounded *down* onto the ladder;
the decimal odds are then ``num/den + 1`` exactly (whole numbers as JSON integers, as
the JavaScript service sends them).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Final

_LADDER_TEXT = (
    "1/100 1/50 1/33 1/25 1/20 1/16 1/14 1/12 1/10 1/9 1/8 1/7 1/6 1/5 2/9 1/4 2/7 3/10 "
    "1/3 4/11 2/5 4/9 1/2 8/15 4/7 8/13 4/6 8/11 4/5 5/6 10/11 1/1 21/20 11/10 6/5 5/4 "
    "11/8 6/4 13/8 7/4 15/8 2/1 85/40 9/4 12/5 5/2 11/4 3/1 10/3 7/2 4/1 9/2 5/1 11/2 "
    "6/1 13/2 7/1 15/2 8/1 17/2 9/1 10/1 11/1 12/1 14/1 16/1 18/1 20/1 22/1 25/1 28/1 "
    "33/1 40/1 50/1 66/1 80/1 100/1 125/1 150/1 200/1 250/1 300/1 500/1"
)


@dataclass(frozen=True, slots=True)
class Price:
    """A fractional price; the decimal odds are derived from it, never the reverse."""

    num: int
    den: int

    @property
    def decimal(self) -> float:
        return self.num / self.den + 1

    @property
    def odds(self) -> int | float:
        """The decimal odds as the JavaScript service writes them: ``6`` not ``6.0``."""
        if self.num % self.den == 0:
            return self.num // self.den + 1
        return round(self.decimal, 2)

    @property
    def fractional(self) -> str:
        return f"{self.num}/{self.den}"


def _parse_ladder(text: str) -> tuple[Price, ...]:
    prices = tuple(Price(*map(int, item.split("/"))) for item in text.split())
    decimals = [p.decimal for p in prices]
    if decimals != sorted(set(decimals)):
        raise ValueError("the price ladder must be strictly increasing")
    return prices


LADDER: Final = _parse_ladder(_LADDER_TEXT)
_LADDER_DECIMALS: Final = [p.decimal for p in LADDER]
#: Decimal odds from which prices are whole numbers above the ladder.
_ABOVE_LADDER: Final = LADDER[-1].decimal + 1


def price_at_most(decimal: float) -> Price:
    """The highest ladder price not above *decimal* (a bookmaker rounds down).

    Below the ladder the lowest price is used; above it, whole numbers ``N/1``.
    """
    if decimal >= _ABOVE_LADDER:
        return Price(int(decimal - 1), 1)
    index = bisect_right(_LADDER_DECIMALS, decimal + 1e-9) - 1
    return LADDER[0] if index < 0 else LADDER[index]


def price_for(probability: float, margin: float) -> Price:
    """The price of an outcome of *probability* once the bookmaker's *margin* is added."""
    # price_at_most's body, inlined: tens of thousands of calls build a large simulator.
    decimal = 1 / ((1e-6 if probability < 1e-6 else probability) * (1 + margin))
    if decimal >= _ABOVE_LADDER:
        return Price(int(decimal - 1), 1)
    index = bisect_right(_LADDER_DECIMALS, decimal + 1e-9) - 1
    return LADDER[0] if index < 0 else LADDER[index]
