"""Market maths on decimal odds: implied and fair probabilities, the overround, conversions.

Pure functions, no I/O. A price here is decimal odds (the stake included: 2.5 pays 2.5 per
unit staked), as the service sends in ``odds``; ``fractional`` is its UK fraction (``"5/2"``).

- :func:`implied_probability` of one price, :func:`overround` of a market's prices;
- :func:`fair_probabilities` (the margin taken out) by :data:`METHODS`, :func:`shin_z`;
- :func:`is_book`: which markets have an overround at all (the one place that decides it),
  :func:`market_overround` and :func:`market_fair_odds` of a :class:`~.items.Market`;
- :func:`decimal_to_fractional`, :func:`fractional_to_decimal`, :func:`decimal_to_american`,
  :func:`american_to_decimal`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Final

from .values import is_open

if TYPE_CHECKING:
    from .items import Market

#: The methods of :func:`fair_probabilities`.
MULTIPLICATIVE: Final = "multiplicative"
ADDITIVE: Final = "additive"
POWER: Final = "power"
SHIN: Final = "shin"
METHODS: Final = (MULTIPLICATIVE, ADDITIVE, POWER, SHIN)
#: The method of the items' ``fair_odds``: cheap, and the usual one.
DEFAULT_METHOD: Final = MULTIPLICATIVE

#: The solvers of ``power`` and ``shin`` stop once their parameter is known within this
#: (bisection: each step halves the interval; about 40 steps). The probabilities then sum
#: to 1 within about the same.
TOLERANCE: Final = 1e-12


def implied_probability(decimal_odds: float) -> float:
    """The probability a price implies, margin included: ``1 / decimal_odds``.

    Raises ValueError for odds that are not above 1 (no bookmaker offers them; such a value is
    a parsing error, not a price).
    """
    if not decimal_odds > 1.0:
        raise ValueError(f"decimal odds must be above 1, got {decimal_odds!r}")
    return 1.0 / decimal_odds


def price_probability(decimal_odds: float | None) -> float | None:
    """:func:`implied_probability` of a price as items hold it: None if absent or not above 1
    (the service sends 0 for an outcome it does not price)."""
    if decimal_odds is None or not decimal_odds > 1.0:
        return None
    return 1.0 / decimal_odds


def overround(decimal_odds: Sequence[float]) -> float:
    """A market's overround: the sum of its outcomes' implied probabilities minus 1.

    The bookmaker's margin as a fraction: 0.05 means the prices add up to 105 %. It is only
    meaningful when the outcomes are mutually exclusive and exhaustive (exactly one wins):
    :func:`is_book` says which markets are. Raises ValueError with fewer than two prices.
    """
    if len(decimal_odds) < 2:
        raise ValueError(f"an overround needs at least two prices, got {len(decimal_odds)}")
    return sum(implied_probability(odds) for odds in decimal_odds) - 1.0


# -- fair probabilities --------------------------------------------------------------------


def fair_probabilities(decimal_odds: Sequence[float], method: str = DEFAULT_METHOD) -> list[float]:
    """The probabilities of a book's outcomes with the bookmaker's margin taken out.

    They sum to 1 and keep the order of the implied probabilities. The methods differ in
    where they take the margin from (with implied probabilities ``pi`` summing to ``S``):

    - ``multiplicative``: ``pi / S``, in proportion to each probability;
    - ``additive``: ``pi - (S - 1) / n``, the same amount from each; ValueError when that
      leaves an outcome nothing (a long shot in a wide margin);
    - ``power``: ``pi ** k``, with ``k`` such that they sum to 1, more from long shots;
    - ``shin``: Shin's model of a share ``z`` of insider money (:func:`shin_z`), which also
      takes more from long shots (the favourite-longshot bias).

    ValueError for fewer than two prices, odds not above 1, or an unknown method.
    """
    implied = [implied_probability(odds) for odds in decimal_odds]
    if len(implied) < 2:
        raise ValueError(f"fair probabilities need at least two prices, got {len(implied)}")
    total = math.fsum(implied)
    if method == MULTIPLICATIVE:
        return [p / total for p in implied]
    if method == ADDITIVE:
        share = (total - 1.0) / len(implied)
        fair = [p - share for p in implied]
        if min(fair) <= 0.0:
            raise ValueError(
                f"the additive method leaves an outcome of {decimal_odds!r} no probability; "
                "use another method"
            )
        return fair
    if method == POWER:
        k = _power_exponent(implied)
        return [p**k for p in implied]
    if method == SHIN:
        z = _shin_z(implied, total)
        return _shin_probabilities(implied, total, z)
    raise ValueError(f"unknown method {method!r}; one of {', '.join(METHODS)}")


def fair_odds(decimal_odds: Sequence[float], method: str = DEFAULT_METHOD) -> list[float]:
    """The decimal odds of :func:`fair_probabilities`: ``1 / p``."""
    return [1.0 / p for p in fair_probabilities(decimal_odds, method)]


def shin_z(decimal_odds: Sequence[float]) -> float:
    """Shin's ``z``, the share of insider money that explains the book's margin, in [0, 1).

    Solved by bisection so that Shin's probabilities sum to 1 (:data:`TOLERANCE`); 0 for a book
    without a margin (overround <= 0), where there is nothing to explain.
    """
    implied = [implied_probability(odds) for odds in decimal_odds]
    if len(implied) < 2:
        raise ValueError(f"Shin's z needs at least two prices, got {len(implied)}")
    return _shin_z(implied, math.fsum(implied))


def _power_exponent(implied: Sequence[float]) -> float:
    """``k`` with ``sum(p ** k) == 1``: the sum falls as ``k`` grows (every p < 1)."""

    def excess(k: float) -> float:
        return math.fsum(p**k for p in implied) - 1.0

    low, high = 1.0, 1.0
    if excess(1.0) > 0:  # a margin: k > 1
        while excess(high) > 0:
            low, high = high, high * 2
    else:  # no margin, or less than none: k <= 1
        while excess(low) < 0:
            low, high = low / 2, low
    return _bisect(excess, low, high)


def _shin_probabilities(implied: Sequence[float], total: float, z: float) -> list[float]:
    return [
        (math.sqrt(z * z + 4.0 * (1.0 - z) * p * p / total) - z) / (2.0 * (1.0 - z))
        for p in implied
    ]


def _shin_z(implied: Sequence[float], total: float) -> float:
    """At z = 0 Shin's probabilities sum to ``sqrt(total)`` (> 1 with a margin); as z nears 1
    to ``sum(p * p) / total`` (< 1): the root lies between, and the sum falls with z."""
    if total <= 1.0:
        return 0.0

    def excess(z: float) -> float:
        return math.fsum(_shin_probabilities(implied, total, z)) - 1.0

    return _bisect(excess, 0.0, 1.0 - 1e-15)


def _bisect(excess: _Excess, low: float, high: float) -> float:
    """The root of a decreasing *excess* between *low* (> 0 there) and *high* (< 0 there)."""
    while high - low > TOLERANCE:
        middle = (low + high) / 2
        if excess(middle) > 0:
            low = middle
        else:
            high = middle
    return (low + high) / 2


if TYPE_CHECKING:
    from collections.abc import Callable

    _Excess = Callable[[float], float]


# -- which markets are books ----------------------------------------------------------------

#: Markets whose outcomes overlap (several can win) or are a selection (none may win), by a
#: word of their name, any case: "Double Chance" (home or draw, away or draw, ...), the
#: goalscorer markets (a list of players, the rest unlisted), "To Score 2 Or More Goals",
#: "Player ..." markets, and the history's "Bet builder" (combinations of outcomes).
_NOT_A_BOOK: Final = re.compile(r"double chance|scorer|or more|player|bet builder", re.IGNORECASE)


def is_book(market: Market) -> bool:
    """Whether *market* has an overround now: the one place that decides it.

    A book is a market whose outcomes are mutually exclusive and exhaustive (exactly one
    wins), so its fair probabilities sum to 1: a result market (home, draw, away), any
    two-way market (yes / no, over / under a line, odd / even, a handicap, draw no bet), a
    correct score with its "Any Other Score", half time / full time, a winning margin. The
    service does not say which markets those are; their names do: every market is taken for
    a book unless its name matches one of the kinds that are not (double chance, goalscorer
    markets, "... or more", player markets, bet-builder combinations). It must also be priced
    whole right now: open, every outcome open and priced above 1, at least two of them. A
    market with a suspended outcome or fewer than two prices has no overround.
    """
    outcomes = market.outcomes
    if len(outcomes) < 2 or not is_open(market.status) or not _book_name(market.name):
        return False
    for outcome in outcomes:
        odds = outcome.odds
        if odds is None or not odds > 1.0 or not is_open(outcome.status):
            return False
    return True


def is_book_name(name: str | None) -> bool:
    """Whether a market of this name is a book when it is priced whole (:func:`is_book`'s
    test of the name alone)."""
    return _book_name(name)


@functools.lru_cache(maxsize=4096)  # a few hundred names recur in every answer
def _book_name(name: str | None) -> bool:
    return name is None or _NOT_A_BOOK.search(name) is None


def market_overround(market: Market) -> float | None:
    """The :func:`overround` of *market*'s prices; None unless it :func:`is_book`."""
    if not is_book(market):
        return None
    return overround([outcome.odds for outcome in market.outcomes])  # type: ignore[misc]


def market_fair_odds(market: Market, method: str = DEFAULT_METHOD) -> list[float] | None:
    """The :func:`fair_odds` of *market*'s outcomes, in their order; None unless a book."""
    if not is_book(market):
        return None
    return fair_odds([outcome.odds for outcome in market.outcomes], method)  # type: ignore[misc]


def add_probabilities(market: Market) -> None:
    """Fill in *market*'s ``overround`` and each outcome's ``implied_probability``, where the
    items are built (both parsing paths call this, once per market).

    The same values as :func:`market_overround` and :func:`price_probability` (a test holds
    them equal), in one pass: an event list has some 12,000 outcomes.
    """
    outcomes = market.outcomes
    whole = len(outcomes) >= 2
    total = 0.0
    for outcome in outcomes:
        odds = outcome.odds
        if odds is not None and odds > 1.0:
            probability = 1.0 / odds
            outcome.implied_probability = probability
            total += probability
            status = outcome.status
            if status is not None and whole and not is_open(status):
                whole = False
        else:
            outcome.implied_probability = None
            whole = False
    book = whole and is_open(market.status) and _book_name(market.name)
    market.overround = total - 1.0 if book else None


# -- other ways of writing a price ----------------------------------------------------------

_FRACTION_TEXT: Final = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*")
_EVENS: Final = frozenset({"evs", "evens", "even", "evn"})
#: How far :func:`decimal_to_fractional` looks from decimal odds for a simple fraction: just
#: under the 0.005 of the service's rounding to two decimals (8/13 is 1.62, and 5/8 = 1.625
#: must not be taken for it).
ROUNDING: Final = 0.0049


def fractional_to_decimal(fractional: str) -> float:
    """Decimal odds of a UK fraction as Kwiff writes it (``"5/2"`` is 3.5; ``"EVS"`` is 2).

    ValueError for anything else.
    """
    if fractional.strip().lower() in _EVENS:
        return 2.0
    match = _FRACTION_TEXT.fullmatch(fractional)
    if match is None or int(match[2]) == 0 or int(match[1]) == 0:
        raise ValueError(f"not a fractional price like '5/2': {fractional!r}")
    return int(match[1]) / int(match[2]) + 1.0


def decimal_to_fractional(decimal_odds: float, tolerance: float = ROUNDING) -> str:
    """The simplest fraction (smallest denominator) within *tolerance* of ``decimal_odds -
    1``, as ``"num/den"`` (evens is ``"1/1"``, as the service writes it).

    The default suits the service's decimals, rounded to two places (1.33 is ``"1/3"``), but
    cannot always tell the bookmaker's ladder apart (1.05 gives ``"1/19"``, not its ``"1/20"``;
    ``"4/6"`` comes back as ``"2/3"``): where the service sent ``fractional``, keep it. Pass a
    tolerance of 0 for the exact fraction of the float. ValueError for odds not above 1.
    """
    implied_probability(decimal_odds)  # the check, and its message
    profit = decimal_odds - 1.0
    if tolerance <= 0:
        fraction = Fraction(profit)
    else:
        fraction = _simplest_between(
            Fraction(max(profit - tolerance, 0.0)), Fraction(profit + tolerance)
        )
        if fraction == 0:
            fraction = Fraction(profit)
    return f"{fraction.numerator}/{fraction.denominator}"


def _simplest_between(low: Fraction, high: Fraction) -> Fraction:
    """The fraction of smallest denominator in [low, high] (0 <= low <= high), by continued
    fractions (the Stern-Brocot tree)."""
    floor = math.floor(low)
    if floor == low:
        return Fraction(floor)
    if floor + 1 <= high:
        return Fraction(floor + 1)
    rest = _simplest_between(1 / (high - floor), 1 / (low - floor))
    return floor + 1 / rest


def decimal_to_american(decimal_odds: float) -> float:
    """American (moneyline) odds: ``+150`` for 2.5 (profit on 100 staked), ``-200`` for 1.5
    (stake to win 100). Evens (2.0) is ``+100``. ValueError for odds not above 1."""
    implied_probability(decimal_odds)
    if decimal_odds >= 2.0:
        return (decimal_odds - 1.0) * 100.0
    return -100.0 / (decimal_odds - 1.0)


def american_to_decimal(american_odds: float) -> float:
    """Decimal odds of American odds (``+150`` is 2.5, ``-200`` is 1.5); ValueError between
    -100 and +100, where American odds are not defined."""
    if american_odds >= 100.0:
        return 1.0 + american_odds / 100.0
    if american_odds <= -100.0:
        return 1.0 - 100.0 / american_odds
    raise ValueError(f"American odds are at least +100 or at most -100, got {american_odds!r}")
