"""The detectors' state in forms CPython's garbage collector does not go through.

A full collection goes through every object the collector tracks: with a class instance
per outcome (and per market) the detectors' state made each collection of a watch's
process longer than the detectors' own work (``bench_watch --signals-only``). CPython
untracks a tuple whose items are all untracked (numbers, strings, None and such tuples)
at the first collection it survives, and a dict whose keys and values are all untracked
at a full collection. So an outcome and a market are each a flat tuple of such atoms,
*replaced* when it changes (a tuple never changes; a new one is tracked until the next
young collection), and an event keeps them in its two dicts. (``array.array`` would
not do: on CPython 3.11 it is a heap type, tracked like any class instance.)

A window of ``(time, value)`` points is a tuple ``(t0, v0, t1, v1, ...)``, oldest
first: the points inside the longest window plus the one in effect at its start (a price
set before the window still held inside it), kept with their highest and lowest value
(bounds of any window's: a rule turns an outcome away on them before it looks inside).
"""

from __future__ import annotations

import math
from typing import Any

#: Flat ``(time, value)`` pairs, oldest first.
Points = tuple[float, ...]

#: An outcome: ``(outcome_id, outcome_name, odds, open, high, low, prices)``: its odds
#: now (None: none given), whether it is open, and the window of its prices.
OutcomeRecord = tuple[Any, ...]
O_ID, O_NAME, O_ODDS, O_OPEN, O_HIGH, O_LOW, O_PRICES = range(7)

#: A market: ``(market_id, market_name, book, keys, high, low, overrounds)``: whether
#: its name makes it a book (:func:`.odds.is_book`; None until known), its outcomes'
#: keys ``(market key, outcome key)`` in the order first seen, and the window of its
#: overrounds.
MarketRecord = tuple[Any, ...]
M_ID, M_NAME, M_BOOK, M_KEYS, M_HIGH, M_LOW, M_OVERROUNDS = range(7)


def new_outcome(outcome_id: int | None, outcome_name: str | None) -> OutcomeRecord:
    return (outcome_id, outcome_name, None, True, -math.inf, math.inf, ())


def new_market(market_id: int | None, market_name: str | None) -> MarketRecord:
    return (market_id, market_name, None, (), -math.inf, math.inf, ())


def live_odds(outcome: OutcomeRecord) -> float | None:
    """The price one can bet at now: None while suspended or without a valid price."""
    odds = outcome[O_ODDS]
    return odds if outcome[O_OPEN] and odds is not None and odds > 1 else None


def add_point(
    points: Points, high: float, low: float, at: float, value: float, keep: float
) -> tuple[Points, float, float]:
    """*points* with ``(at, value)`` added (replacing a point of the same time) and those
    before the one in effect *keep* seconds before *at* dropped; their bounds."""
    stale = False  # only a point that held a bound moves it when it goes
    if points and points[-2] == at:
        gone = points[-1]
        stale = gone in (high, low)
        points = (*points[:-2], at, value)
    else:
        points = (*points, at, value)
    horizon = at - keep
    start, last = 0, len(points) - 2
    while start < last and points[start + 2] <= horizon:
        gone = points[start + 1]
        stale = stale or gone in (high, low)
        start += 2
    if start:
        points = points[start:]
    if stale:
        high, low = bounds(points)
    else:
        if value > high:
            high = value
        if value < low:
            low = value
    return points, high, low


def bounds(points: Points) -> tuple[float, float]:
    """The highest and lowest value of *points* (-inf, inf: none)."""
    values = points[1::2]
    return max(values, default=-math.inf), min(values, default=math.inf)


def start_of(points: Points, horizon: float) -> int:
    """Where the points from the one in effect at *horizon* on start in *points*."""
    start = len(points) - 2
    while start > 0 and points[start] > horizon:
        start -= 2
    return max(start, 0)


def since(points: Points, now: float, window: float) -> Points:
    """The points inside the last *window* seconds before *now*, oldest first."""
    return points[start_of(points, now - window) :]


def pairs(points: Points) -> list[tuple[float, float]]:
    return list(zip(points[0::2], points[1::2], strict=True))


def flat(pairs: Any) -> Points:
    """Points from ``(time, value)`` pairs, oldest first."""
    return tuple(number for pair in pairs for number in pair)
