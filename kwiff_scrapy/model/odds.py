"""Market maths on decimal odds: implied probabilities and a market's overround.

Pure functions, no I/O. A price here is always decimal odds (the stake included: 2.5 pays 2.5
per unit staked), as the service sends in ``odds``.
"""

from __future__ import annotations

from collections.abc import Sequence


def implied_probability(decimal_odds: float) -> float:
    """The probability a price implies, margin included: ``1 / decimal_odds``.

    Raises ValueError for odds that are not above 1 (no bookmaker offers them; such a value is
    a parsing error, not a price).
    """
    if not decimal_odds > 1.0:
        raise ValueError(f"decimal odds must be above 1, got {decimal_odds!r}")
    return 1.0 / decimal_odds


def overround(decimal_odds: Sequence[float]) -> float:
    """A market's overround: the sum of its outcomes' implied probabilities minus 1.

    The bookmaker's margin as a fraction: 0.05 means the prices add up to 105 %. It is only
    meaningful when the outcomes are mutually exclusive and exhaustive (exactly one wins); the
    caller decides that. Raises ValueError with fewer than two prices.
    """
    if len(decimal_odds) < 2:
        raise ValueError(f"an overround needs at least two prices, got {len(decimal_odds)}")
    return sum(implied_probability(odds) for odds in decimal_odds) - 1.0
