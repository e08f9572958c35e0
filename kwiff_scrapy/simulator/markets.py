"""Markets and outcomes: what a market builder specifies, and how it becomes priced markets.

A builder (:mod:`.football`, :mod:`.basketball`) gives each market as a
:class:`MarketSpec`: its outcomes with their probabilities and the bookmaker's margin.
:func:`as_markets` numbers them and prices them onto the ladder (:mod:`.prices`). Ids are
structured so that any id can be traced back without a lookup table::

    market id  = event id  * 100 + market number   (1..99)
    outcome id = market id * 100 + outcome number  (1..99)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .prices import Price, price_for


@dataclass(frozen=True, slots=True)
class Outcome:
    id: int
    label: str
    price: Price


@dataclass(frozen=True, slots=True)
class Market:
    id: int
    name: str
    outcomes: tuple[Outcome, ...]
    listed: bool
    """Whether ``event:list`` shows it; ``event:get`` shows every market."""


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """A market as a builder gives it: outcomes as (label, probability), before the
    bookmaker's *margin* and before numbering."""

    name: str
    outcomes: Sequence[tuple[str, float]]
    margin: float
    listed: bool = True


def as_markets(event_id: int, specs: list[MarketSpec]) -> tuple[Market, ...]:
    """Number the markets and outcomes and price them; ids embed their parent's id."""
    if len(specs) > 99 or any(len(spec.outcomes) > 99 for spec in specs):
        raise ValueError("ids leave room for 99 markets per event and 99 outcomes per market")
    markets = []
    for number, spec in enumerate(specs, start=1):
        market_id = event_id * 100 + number
        margin = spec.margin
        outcomes = tuple(
            [
                _outcome(market_id * 100 + k, label, price_for(p, margin))
                for k, (label, p) in enumerate(spec.outcomes, start=1)
            ]
        )
        markets.append(Market(market_id, spec.name, outcomes, spec.listed))
    return tuple(markets)


_new_object = object.__new__
_set_field = object.__setattr__


def _outcome(outcome_id: int, label: str, price: Price) -> Outcome:
    """``Outcome(outcome_id, label, price)`` in half the time (a frozen dataclass's
    ``__init__`` is slow, and a large simulator makes hundreds of thousands)."""
    outcome = _new_object(Outcome)
    _set_field(outcome, "id", outcome_id)
    _set_field(outcome, "label", label)
    _set_field(outcome, "price", price)
    return outcome
