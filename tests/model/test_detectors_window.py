"""The detectors' price windows keep the bounds of their points, which the rules use to
turn most outcomes away before looking inside a window; pickled (JOBDIR) with the points.
Pickles of the earlier layouts (classes for windows, outcomes and markets) still load."""

from __future__ import annotations

import math
import pickle
import random
from pathlib import Path

from kwiff_scrapy.model.detector_state import add_point, bounds, pairs, since
from kwiff_scrapy.model.detectors import MarketState, OutcomeState, SignalDetectors, Window

from .signal_feed import Watch, result, rule, run

#: Made by the code of the layout of classes (one instance per outcome and per market):
#: the detectors below fed three polls and a fourth in flight, pickled.
CLASSES_LAYOUT = Path(__file__).with_name("detectors_main_layout.pickle")


def test_the_bounds_are_those_of_the_points_kept() -> None:
    rng = random.Random(3)
    window = Window()
    at = 0.0
    for _ in range(2000):
        at += rng.choice((0.0, 30.0, 60.0, 600.0))  # 0: a second price at the same time
        window.add(at, rng.choice((1.5, 1.8, 2.0, 2.2, 3.0)), keep=1800.0)
        values = [value for _, value in window.points]
        assert (window.high, window.low) == (max(values), min(values))


def test_the_points_kept_and_their_bounds_are_those_of_the_window_of_classes() -> None:
    """The records' windows (flat tuples) keep what a window of the earlier layout kept."""
    rng = random.Random(5)
    window = Window()
    points: tuple[float, ...] = ()
    high, low = -math.inf, math.inf
    at = 0.0
    for _ in range(2000):
        at += rng.choice((0.0, 30.0, 60.0, 600.0))
        value = rng.choice((1.5, 1.8, 2.0, 2.2, 3.0))
        window.add(at, value, keep=1800.0)
        points, high, low = add_point(points, high, low, at, value, keep=1800.0)
        assert pairs(points) == list(window)
        assert (high, low) == (window.high, window.low) == bounds(points)
        assert pairs(since(points, at, 900.0)) == window.since(at, 900.0)


def test_a_window_pickles_with_its_points_and_loads_its_bounds() -> None:
    window = Window()
    for at, value in ((0.0, 2.0), (60.0, 1.8), (120.0, 2.5)):
        window.add(at, value, keep=3600.0)
    loaded = pickle.loads(pickle.dumps(window))
    assert list(loaded.points) == list(window.points)
    assert (loaded.high, loaded.low) == (2.5, 1.8)
    # As a window pickled before it kept its bounds: (None, its slots).
    old = Window.__new__(Window)
    old.__setstate__((None, {"points": window.points}))
    assert (old.high, old.low) == (2.5, 1.8)


def test_an_outcome_or_market_pickled_with_a_window_of_its_own_loads_its_points() -> None:
    """JOBDIR state pickled before an outcome (a market) was itself the window of its
    prices (overrounds): its slots held a window apart."""
    prices = Window()
    for at, value in ((0.0, 2.0), (60.0, 1.8)):
        prices.add(at, value, keep=3600.0)
    outcome = OutcomeState.__new__(OutcomeState)
    outcome.__setstate__(
        (
            None,
            {"outcome_id": 7, "outcome_name": "Home", "odds": 1.8, "open": True, "prices": prices},
        )
    )
    assert (list(outcome.prices), outcome.high, outcome.low) == (list(prices), 2.0, 1.8)
    assert (outcome.outcome_id, outcome.outcome_name, outcome.live_odds) == (7, "Home", 1.8)
    market = MarketState.__new__(MarketState)
    slots = {"market_id": 3, "market_name": "Match Result", "outcomes": {7: outcome}}
    market.__setstate__((None, {**slots, "overrounds": prices, "book": True}))
    assert (list(market.overrounds), market.outcomes, market.book) == (
        list(prices),
        {7: outcome},
        True,
    )
    again = pickle.loads(pickle.dumps(market))
    assert list(again.overrounds) == list(prices)
    assert list(again.outcomes[7].prices) == list(prices)
    assert again.outcomes[7].outcome_name == "Home"


def test_detectors_pickled_in_the_layout_of_classes_carry_on_as_never_stopped() -> None:
    """A JOBDIR pickle made before the outcomes and markets became records (see
    kwiff_scrapy.model.detector_state), by that code, mid-poll."""
    rules = [
        rule("drop", change=0.1),
        rule("margin", points=0.02),
        rule("steam", change=0.03, outcomes=2, cooldown=0),
    ]
    watch = Watch()
    homes = [2.0, 1.96, 1.92, 1.88, 1.84, 1.80, 1.76]
    polls = [watch.poll(5 * n, result(h, 3.4 - n / 10, 4.0 - n / 10)) for n, h in enumerate(homes)]
    running = SignalDetectors(rules)
    run(running, *polls[:3])
    running.feed(polls[3])
    resumed = pickle.loads(CLASSES_LAYOUT.read_bytes())
    assert resumed.rules == running.rules
    assert resumed.tracked == running.tracked
    assert resumed.flush() == running.flush()
    later = run(resumed, *polls[4:])
    assert later == run(running, *polls[4:])
    assert any(later)
    again = pickle.loads(pickle.dumps(resumed))  # and in the records' layout from then on
    assert run(again, *polls[4:]) == run(running, *polls[4:])
