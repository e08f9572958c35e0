"""The signal detectors over hand-built change sequences (model/detectors.py)."""

from __future__ import annotations

import pickle

import pytest

from kwiff_scrapy.model.detectors import SignalDetectors
from kwiff_scrapy.model.items import OddsChange
from kwiff_scrapy.model.signals import OddsSignal

from .signal_feed import Watch, at, result, rule, run


def slide(
    detectors: SignalDetectors, homes: list[float], every: float = 5
) -> list[list[OddsSignal]]:
    """Home's odds go through *homes*, one poll every *every* minutes; the rest stay."""
    watch = Watch()
    return run(
        detectors, *(watch.poll(n * every, result(h, 3.4, 4.0)) for n, h in enumerate(homes))
    )


def fired_at(signals_per_poll: list[list[OddsSignal]]) -> list[int]:
    return [n for n, signals in enumerate(signals_per_poll) for _ in signals]


# -- drop and drift ----------------------------------------------------------------------


def test_a_steady_slide_fires_once_at_the_poll_where_it_crosses_the_threshold() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1, minutes=60, cooldown=60)])
    polls = slide(detectors, [2.0, 1.96, 1.92, 1.88, 1.84, 1.80, 1.76, 1.72])

    assert fired_at(polls) == [5]  # 1.80 is 10 % below 2.0; 1.84 (8 %) was not enough
    (signal,) = polls[5]
    assert (signal.rule, signal.kind, signal.outcome_name) == ("drop", "drop", "Home")
    assert (signal.from_odds, signal.to_odds) == (2.0, 1.80)
    assert signal.change == pytest.approx(-0.10)
    assert signal.probability_change == pytest.approx(1 / 1.8 - 1 / 2.0)
    assert signal.strength == pytest.approx(1.0)
    assert signal.first_seen_at == at(0)
    assert signal.fetched_at == at(25)
    assert signal.window == 3600
    assert (signal.event_id, signal.market_name, signal.home_team) == (1, "Match Result", "Arsenal")
    assert (signal.competition_name, signal.in_play) == ("Premier League", False)


def test_a_move_slower_than_the_window_never_fires() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1, minutes=30)])
    # 2.0 to 1.8 (10 %) over 100 minutes: at most 3.x % inside any 30 minutes.
    homes = [2.0 - 0.01 * n for n in range(21)]
    assert fired_at(slide(detectors, homes)) == []


def test_the_window_starts_from_the_price_in_effect_at_its_start() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1, minutes=30)])
    watch = Watch()
    polls = run(
        detectors,
        watch.poll(0, result(2.0, 3.4, 4.0)),
        watch.poll(50, result(1.95, 3.4, 4.0)),  # 2.0 held until minute 50
        watch.poll(55, result(1.79, 3.4, 4.0)),
    )
    assert fired_at(polls) == [2]
    assert polls[2][0].from_odds == 2.0
    assert polls[2][0].first_seen_at == at(0)


def test_cooldown_holds_a_second_signal_until_it_ends() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1, minutes=60, cooldown=30)])
    watch = Watch()
    polls = run(
        detectors,
        watch.poll(0, result(2.0, 3.4, 4.0)),
        watch.poll(5, result(1.8, 3.4, 4.0)),  # fires
        watch.poll(10, result(2.0, 3.4, 4.0)),
        watch.poll(20, result(1.8, 3.4, 4.0)),  # inside the cooldown: held
        watch.poll(30, result(2.0, 3.4, 4.0)),
        watch.poll(35, result(1.8, 3.4, 4.0)),  # 30 minutes after the first: fires
    )
    assert fired_at(polls) == [1, 5]


def test_inside_the_cooldown_a_move_that_doubles_fires_again() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1, minutes=60, cooldown=60)])
    polls = slide(detectors, [2.0, 1.8, 1.7, 1.61, 1.6])
    # 10 % (strength 1.0), 15 % and 19.5 % held; 20 % is twice the first: fires again.
    assert fired_at(polls) == [1, 4]
    assert polls[4][0].strength == pytest.approx(2.0)


def test_growth_sets_how_much_a_signal_must_grow_inside_the_cooldown() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1, minutes=60, growth=0.4)])
    assert fired_at(slide(detectors, [2.0, 1.8, 1.73, 1.72])) == [1, 3]  # 14 % = 1.4 x 10 %


def test_drift_fires_on_lengthening_from_the_lowest_price() -> None:
    detectors = SignalDetectors([rule("drift", change=0.15), rule("drop", change=0.1)])
    polls = slide(detectors, [2.0, 1.9, 2.1, 2.2])
    assert [(n, s.kind) for n, signals in enumerate(polls) for s in signals] == [(3, "drift")]
    assert (polls[3][0].from_odds, polls[3][0].to_odds) == (1.9, 2.2)
    assert polls[3][0].probability_change == pytest.approx(1 / 2.2 - 1 / 1.9)


def test_probability_points_alone_can_be_the_threshold() -> None:
    # 1.25 -> 1.2: 4 % in odds, 3.3 probability points.
    detectors = SignalDetectors([rule("drop", points=0.03)])
    polls = slide(detectors, [1.25, 1.2])
    assert fired_at(polls) == [1]
    assert polls[1][0].strength == pytest.approx((1 / 1.2 - 1 / 1.25) / 0.03)
    assert fired_at(slide(SignalDetectors([rule("drop", change=0.05)]), [1.25, 1.2])) == []


def test_a_suspended_outcome_does_not_fire_until_it_has_a_price_again() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1)])
    watch = Watch()
    polls = run(
        detectors,
        watch.poll(0, result(2.0, 3.4, 4.0)),
        watch.poll(5, result(1.7, 3.4, 4.0), suspended=frozenset({"Match Result"})),
        watch.poll(10, result(1.7, 3.4, 4.0)),
    )
    assert fired_at(polls) == [2]
    assert polls[2][0].from_odds == 2.0


# -- filters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "fires"),
    [
        ({"markets": ["match result"]}, True),
        ({"markets": ["Total Goals"]}, False),
        ({"competitions": ["PREMIER LEAGUE"]}, True),
        ({"competitions": ["Serie A"]}, False),
        ({"min_odds": 1.5, "max_odds": 1.8}, True),
        ({"min_odds": 1.9}, False),
        ({"max_odds": 1.7}, False),
        ({"in_play": "no"}, True),
        ({"in_play": "yes"}, False),
        ({"in_play": "any"}, True),
    ],
)
def test_filters(parameters: dict[str, object], fires: bool) -> None:
    detectors = SignalDetectors([rule("drop", change=0.1, **parameters)])
    assert bool(fired_at(slide(detectors, [2.0, 1.8]))) is fires


def test_in_play_follows_the_events_status_changes() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1, in_play="yes")])
    watch = Watch()
    polls = run(
        detectors,
        watch.poll(0, result(2.0, 3.4, 4.0)),
        watch.poll(5, result(1.8, 3.4, 4.0)),
        watch.poll(10, result(2.0, 3.4, 4.0), in_play=True),
        watch.poll(15, result(1.8, 3.4, 4.0), in_play=True),
    )
    assert fired_at(polls) == [3]
    assert polls[3][0].in_play is True


# -- steam -------------------------------------------------------------------------------


def test_steam_on_one_market_one_side_shortens_while_the_others_drift() -> None:
    detectors = SignalDetectors([rule("steam", change=0.05, minutes=30, outcomes=0)])
    watch = Watch()
    polls = run(
        detectors,
        watch.poll(0, result(2.0, 3.4, 4.0)),
        watch.poll(5, result(1.95, 3.5, 4.1)),
        watch.poll(10, result(1.88, 3.6, 4.3)),  # 6 % down, draw and away up: steam
    )
    assert fired_at(polls) == [2]
    (signal,) = polls[2]
    assert (signal.kind, signal.outcome_name, signal.outcomes) == (
        "steam",
        "Home",
        ["Home", "Draw", "Away"],
    )
    assert (signal.from_odds, signal.to_odds) == (2.0, 1.88)


def test_no_steam_when_another_outcome_of_the_market_shortens_too() -> None:
    detectors = SignalDetectors([rule("steam", change=0.05, outcomes=0)])
    watch = Watch()
    polls = run(
        detectors,
        watch.poll(0, result(2.0, 3.4, 4.0)),
        watch.poll(10, result(1.88, 3.6, 3.9)),
    )
    assert fired_at(polls) == []


def test_steam_across_an_event_counts_outcomes_shortening_in_any_market() -> None:
    markets = {
        "Match Result": {"Home": 2.0, "Draw": 3.4, "Away": 4.0},
        "Total Goals": {"Over 2.5": 1.9, "Under 2.5": 1.9},
        "Both Teams To Score": {"Yes": 1.8, "No": 2.0},
    }
    moved = {
        "Match Result": {"Home": 1.88, "Draw": 3.4, "Away": 4.0},
        "Total Goals": {"Over 2.5": 1.78, "Under 2.5": 1.9},
        "Both Teams To Score": {"Yes": 1.8, "No": 2.0},
    }
    watch = Watch()
    two = run(
        SignalDetectors([rule("steam", outcomes=3)]), watch.poll(0, markets), watch.poll(5, moved)
    )
    assert fired_at(two) == []

    moved["Both Teams To Score"]["Yes"] = 1.7
    watch = Watch()
    three = run(
        SignalDetectors([rule("steam", outcomes=3)]), watch.poll(0, markets), watch.poll(5, moved)
    )
    assert fired_at(three) == [1]
    (signal,) = three[1]
    assert signal.outcomes == [
        "Match Result / Home",
        "Total Goals / Over 2.5",
        "Both Teams To Score / Yes",
    ]
    assert signal.markets == ["Match Result", "Total Goals", "Both Teams To Score"]
    assert signal.strength == 1.0
    assert (signal.market_name, signal.outcome_name) == ("Total Goals", "Over 2.5")  # 6.3 %


# -- margin ------------------------------------------------------------------------------


def test_margin_fires_when_the_overround_widens_by_the_points() -> None:
    detectors = SignalDetectors([rule("margin", points=0.02, minutes=30)])
    watch = Watch()
    polls = run(
        detectors,
        watch.poll(0, result(2.0, 3.4, 4.0)),  # 4.4 points
        watch.poll(5, result(1.98, 3.4, 4.0)),  # 4.9
        watch.poll(10, result(1.95, 3.3, 3.9)),  # 6.6: 2.2 above the lowest
    )
    assert fired_at(polls) == [2]
    (signal,) = polls[2]
    margin_then = 1 / 2.0 + 1 / 3.4 + 1 / 4.0
    margin_now = 1 / 1.95 + 1 / 3.3 + 1 / 3.9
    assert signal.probability_change == pytest.approx(margin_now - margin_then)
    assert (signal.from_odds, signal.to_odds, signal.change) == (None, None, None)
    assert signal.first_seen_at == at(0)


def test_margin_fires_when_the_overround_narrows_and_skips_suspended_markets() -> None:
    detectors = SignalDetectors([rule("margin", points=0.02)])
    watch = Watch()
    polls = run(
        detectors,
        watch.poll(0, result(1.95, 3.3, 3.9)),
        watch.poll(5, result(2.0, 3.4, 4.0), suspended=frozenset({"Match Result"})),
        watch.poll(10, result(2.0, 3.4, 4.0)),
    )
    assert fired_at(polls) == [2]
    narrowed = polls[2][0].probability_change
    assert narrowed is not None
    assert narrowed < -0.02


@pytest.mark.parametrize(
    ("parameters", "fires"), [({"max_odds": 4.0}, True), ({"max_odds": 3.5}, False)]
)
def test_margin_odds_bounds_take_every_price_of_the_market(
    parameters: dict[str, object], fires: bool
) -> None:
    detectors = SignalDetectors([rule("margin", points=0.02, **parameters)])
    watch = Watch()
    polls = run(
        detectors, watch.poll(0, result(2.0, 3.4, 4.0)), watch.poll(5, result(1.95, 3.3, 3.9))
    )
    assert bool(fired_at(polls)) is fires


def test_margin_ignores_markets_that_are_not_books() -> None:
    detectors = SignalDetectors([rule("margin", points=0.02)])
    watch = Watch()
    chances = {"Double Chance": {"Home or Draw": 1.3, "Away or Draw": 1.8, "Home or Away": 1.3}}
    shorter = {"Double Chance": {"Home or Draw": 1.2, "Away or Draw": 1.7, "Home or Away": 1.2}}
    polls = run(detectors, watch.poll(0, chances), watch.poll(5, shorter))
    assert fired_at(polls) == []
    assert detectors.tracked["overrounds"] == 0


# -- suspensions -------------------------------------------------------------------------


def many_markets(count: int) -> dict[str, dict[str, float]]:
    return {f"Market {n}": {"Yes": 1.8, "No": 2.0} for n in range(count)}


def test_suspensions_counts_markets_of_one_event_suspended_inside_the_window() -> None:
    detectors = SignalDetectors([rule("suspensions", count=3, seconds=60)])
    watch = Watch()
    prices = many_markets(5)
    polls = run(
        detectors,
        watch.poll(0, prices),
        watch.poll(0.5, prices, suspended=frozenset({"Market 0", "Market 1"})),
        watch.poll(1.25, prices, suspended=frozenset({"Market 0", "Market 1", "Market 2"})),
    )
    # At 1.25 minutes the first two suspensions (0.75 minutes ago) are inside 60 s.
    assert fired_at(polls) == [2]
    (signal,) = polls[2]
    assert signal.markets == ["Market 0", "Market 1", "Market 2"]
    assert signal.strength == 1.0
    assert signal.first_seen_at == at(0.5)


def test_suspensions_older_than_the_window_do_not_count() -> None:
    detectors = SignalDetectors([rule("suspensions", count=3, seconds=60)])
    watch = Watch()
    prices = many_markets(5)
    polls = run(
        detectors,
        watch.poll(0, prices),
        watch.poll(0.5, prices, suspended=frozenset({"Market 0", "Market 1"})),
        watch.poll(2, prices, suspended=frozenset({"Market 0", "Market 1", "Market 2"})),
    )
    assert fired_at(polls) == []


def test_each_suspensions_rule_counts_inside_its_own_window() -> None:
    detectors = SignalDetectors(
        [
            rule("suspensions", name="fast", count=3, seconds=60),
            rule("suspensions", name="slow", count=3, seconds=600),
        ]
    )
    watch = Watch()
    prices = many_markets(5)
    polls = run(
        detectors,
        watch.poll(0, prices),
        watch.poll(0.5, prices, suspended=frozenset({"Market 0", "Market 1"})),
        watch.poll(2, prices, suspended=frozenset({"Market 0", "Market 1", "Market 2"})),
    )
    assert [s.rule for s in polls[2]] == ["slow"]


# -- state -------------------------------------------------------------------------------


def test_windows_bound_the_memory_over_a_thousand_polls() -> None:
    detectors = SignalDetectors(
        [rule("drop", change=0.1, minutes=10), rule("margin", points=0.02, minutes=10)]
    )
    watch = Watch()
    for n in range(1000):
        home = 2.0 + 0.01 * (n % 7)
        detectors.feed(watch.poll(n, result(home, 3.4 + 0.01 * (n % 3), 4.0)))
        detectors.flush()
    tracked = detectors.tracked
    # One price a minute inside 10 minutes, plus the one in effect at the window's start.
    assert tracked["outcomes"] == 3
    assert tracked["prices"] <= 3 * 12
    assert tracked["overrounds"] <= 12


def test_a_removed_event_is_forgotten() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1)])
    watch = Watch()
    run(detectors, watch.poll(0, result(2.0, 3.4, 4.0)), watch.remove(5))
    assert detectors.tracked["events"] == 0
    assert detectors.tracked["prices"] == 0


def test_cooldowns_are_forgotten_once_they_end() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1, cooldown=10)])
    watch = Watch()
    polls = [watch.poll(0, result(2.0, 3.4, 4.0)), watch.poll(1, result(1.8, 3.4, 4.0))]
    polls += [watch.poll(30 + n, result(1.8, 3.4, 4.0 + n / 100)) for n in range(3)]
    assert fired_at(run(detectors, *polls)) == [1]
    assert detectors.tracked["cooldowns"] == 0


def test_changes_without_a_time_are_skipped() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1)])
    watch = Watch()
    first, second = watch.poll(0, result(2.0, 3.4, 4.0)), watch.poll(5, result(1.8, 3.4, 4.0))
    for change in second:
        change.fetched_at = None
    assert fired_at(run(detectors, first, second)) == []


def test_a_poll_is_looked_at_when_the_next_one_starts() -> None:
    detectors = SignalDetectors([rule("drop", change=0.1)])
    watch = Watch()
    assert detectors.feed(watch.poll(0, result(2.0, 3.4, 4.0))) == []
    assert detectors.feed(watch.poll(5, result(1.8, 3.4, 4.0))) == []
    signals = detectors.feed(watch.poll(10, result(1.8, 3.4, 4.1)))
    assert [s.fetched_at for s in signals] == [at(5)]
    assert detectors.flush() == []


def test_a_change_with_an_unreadable_time_is_skipped() -> None:
    change = OddsChange(event_id=1, outcome_id=5, odds=2.0, fetched_at="garbage")
    assert SignalDetectors([rule("drop", change=0.1)]).feed([change]) == []


def test_detectors_pickled_mid_watch_carry_on_as_if_never_stopped() -> None:
    """What a JOBDIR pause does to them (spider.state is pickled)."""
    rules = [rule("drop", change=0.1), rule("margin", points=0.02), rule("steam", outcomes=2)]
    watch = Watch()
    homes = [2.0, 1.96, 1.92, 1.88, 1.84, 1.80, 1.76]
    polls = [watch.poll(5 * n, result(h, 3.4 + n / 10, 4.0)) for n, h in enumerate(homes)]
    running = SignalDetectors(rules)
    run(running, *polls[:3])
    resumed = pickle.loads(pickle.dumps(running))
    assert run(resumed, *polls[3:]) == run(running, *polls[3:])
    assert any(signals for signals in run(pickle.loads(pickle.dumps(resumed)), *polls[3:]))


def test_detectors_pickled_by_an_earlier_version_mid_poll_carry_on() -> None:
    """A JOBDIR pickle made before a poll kept its filtered outcomes and an event the
    outcomes that can steam: both are derived again when it loads."""
    rules = [rule("drop", change=0.1), rule("steam", change=0.03, outcomes=2, cooldown=0)]
    watch = Watch()
    homes = [2.0, 1.96, 1.92, 1.88, 1.84, 1.80, 1.76]
    polls = [watch.poll(5 * n, result(h, 3.4 - n / 10, 4.0 - n / 10)) for n, h in enumerate(homes)]
    running = SignalDetectors(rules)
    run(running, *polls[:3])
    running.feed(polls[3])  # a poll in flight
    earlier = pickle.loads(pickle.dumps(running))
    assert earlier._poll is not None
    del earlier._poll.passing
    for event in earlier._events.values():
        del event.steaming
    resumed = pickle.loads(pickle.dumps(earlier))
    assert resumed.flush() == running.flush()
    later = run(resumed, *polls[4:])
    assert later == run(running, *polls[4:])
    assert any(signal.outcomes and " / " in signal.outcomes[0] for s in later for signal in s)
