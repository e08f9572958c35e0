"""Scripted scenarios for the moving simulator: something for every signal detector to find.

With ``scenarios=True`` (:attr:`~.config.SimulatorConfig.scenarios`; the per-serve clock
only), four football events of the first list play one scenario each instead of random
steps, and every other event moves with *quiet noise* instead of the random steps:

- ``slide``: an outcome of a market with no overround (Double Chance) shortens one ladder
  step every other step, six times: a steady slide of some 15 % that no single poll
  shows (each step is 2 to 4 %). The default ``drop`` (10 % within 60 minutes, from the
  highest price) fires once, at the step where the slide crosses 10 % (its fourth);
  strength 1.09, and at 15 % it is still inside the cooldown and not twice as strong.
- ``steam``: on the Full Time Result, the home side shortens one ladder step while the
  draw and the away side drift one step, then the home side shortens one more: the
  default ``steam`` (one outcome 5 % shorter within 30 minutes while every other outcome
  of its market drifted) fires once, at the second step; no price moves 10 %, and the
  overround moves less than 2 points (the default ``margin`` needs 3).
- ``margin``: every outcome of the Full Time Result shortens one ladder step at once
  (each by less than 5 %): the overround widens by 3.6 points and the default ``margin``
  (3 points within 30 minutes) fires once.
- ``suspensions``: six markets suspended at once, resumed three steps later: the default
  ``suspensions`` (5 markets of one event within 60 seconds) fires once.

Quiet noise: at each step, maybe one outcome of a market that has no overround moves
one ladder step away from its opening price or back to it, and only an outcome whose two
neighbouring ladder prices are less than 5 % apart: no price ever moves 5 % within any
window, no overround moves at all, nothing is suspended. So at the default thresholds
(:data:`kwiff_scrapy.model.signal_rules.KIND_DEFAULTS`) the noise fires no signal: every
signal comes from a scenario. (Without ``scenarios``, the random steps are livelier: a
one-step move of a price of 5.0 is 10 %, and they fire the default rules often.)

Each scenario is a function of its event's step only (the same step, the same changes),
and the change log names it (its ``scenario`` key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ..model.items import Market, Outcome
from ..model.odds import is_book
from .prices import LADDER, Price

SLIDE: Final = "slide"
STEAM: Final = "steam"
MARGIN: Final = "margin"
SUSPENSIONS: Final = "suspensions"
#: The sport whose first list the scenarios' events are taken from (football).
SPORT: Final = 11
#: Quiet noise: the chance per step that one outcome moves.
NOISE_MOVES: Final = 0.5
#: Quiet noise moves only prices whose two neighbouring ladder prices are closer than this
#: (relative to the higher): below every default threshold of a move (steam's 5 %).
NOISE_SPREAD: Final = 0.049


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scripted scenario on the event at ``position`` in the sport's first list.

    ``moves``: step -> ``(market index, outcome index, ladder steps)`` to make at that
    step (negative: shorter). ``suspend``: step -> ``(market index, steps suspended)``.
    ``fires``: the kind of signal the default rules fire, and ``at``: the step it fires.
    """

    name: str
    position: int
    fires: str
    at: int
    moves: dict[int, tuple[tuple[int, int, int], ...]] = field(default_factory=dict)
    suspend: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)


#: The scenarios, by the position of their event in football's first list (events that
#: go in play after step 20, so that each plays out before kick-off).
SCENARIOS: Final = (
    Scenario(
        SLIDE,
        10,
        "drop",
        8,
        moves={step: ((1, 0, -1),) for step in (2, 4, 6, 8, 10, 12)},
    ),
    Scenario(
        STEAM,
        11,
        "steam",
        4,
        moves={3: ((0, 0, -1), (0, 1, 1), (0, 2, 1)), 4: ((0, 0, -1),)},
    ),
    Scenario(SUSPENSIONS, 12, "suspensions", 5, suspend={5: tuple((m, 3) for m in range(2, 8))}),
    Scenario(MARGIN, 13, "margin", 3, moves={3: ((0, 0, -1), (0, 1, -1), (0, 2, -1))}),
)
SCENARIO_NAMES: Final = tuple(scenario.name for scenario in SCENARIOS)


def scenario_at(position: int) -> Scenario | None:
    """The scenario of the event at *position* in football's first list, if any."""
    for scenario in SCENARIOS:
        if scenario.position == position:
            return scenario
    return None


_INDEX: Final = {price: index for index, price in enumerate(LADDER)}


def quiet_outcomes(markets: list[tuple[str, list[Price]]]) -> list[tuple[int, int]]:
    """``(market index, outcome index)`` of the outcomes quiet noise may move: in a market
    without an overround (:func:`kwiff_scrapy.model.odds.is_book`), priced on the ladder
    with both neighbours less than :data:`NOISE_SPREAD` apart."""
    found = []
    for m, (name, prices) in enumerate(markets):
        market = Market(name=name, outcomes=[Outcome(odds=p.decimal) for p in prices])
        if is_book(market):
            continue
        for o, price in enumerate(prices):
            index = _INDEX.get(price)
            if index is None or not 0 < index < len(LADDER) - 1:
                continue
            low, high = LADDER[index - 1].decimal, LADDER[index + 1].decimal
            if (high - low) / high < NOISE_SPREAD:
                found.append((m, o))
    return found
