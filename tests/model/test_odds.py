"""Market maths (model/odds.py): against an independent reference, and its properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kwiff_scrapy.model.items import Market, Outcome
from kwiff_scrapy.model.odds import (
    METHODS,
    add_probabilities,
    american_to_decimal,
    decimal_to_american,
    decimal_to_fractional,
    fair_odds,
    fair_probabilities,
    fractional_to_decimal,
    implied_probability,
    is_book,
    market_fair_odds,
    market_overround,
    overround,
    price_probability,
    shin_z,
)
from kwiff_scrapy.simulator.data import LADDER

# -- the reference -------------------------------------------------------------------------
#
# Computed with penaltyblog 1.13.1 (pip install penaltyblog, in a scratch venv outside the
# project; it is not a dependency), by
#     penaltyblog.implied.calculate_implied(odds, method=METHOD)
# whose .probabilities are the fair probabilities, .margin the overround and
# .method_params {"z": ...} Shin's z. Its power and Shin solvers stop at about 1e-12 too.

REFERENCE: list[tuple[list[float], float, dict[str, list[float]], float]] = [
    # odds, margin, {method: probabilities}, Shin's z
    (
        [2.7, 2.3, 4.4],
        0.03242570633874986,
        {
            "multiplicative": [0.35873803615739097, 0.4211272598369373, 0.22013470400567173],
            "additive": [0.35956180159078704, 0.4239740399160689, 0.216464158493144],
            "power": [0.3591710998526432, 0.4237307529942109, 0.21709814715211412],
            "shin": [0.35934391959159157, 0.42324384818283234, 0.21741223222458853],
        },
        0.016236442857291165,
    ),
    (
        [1.5, 2.6],
        0.0512820512820511,
        {
            "multiplicative": [0.6341463414634148, 0.3658536585365854],
            "additive": [0.6410256410256411, 0.35897435897435903],
            "power": [0.644649937534058, 0.3553500624659421],
            "shin": [0.6410256410254601, 0.35897435897404606],
        },
        0.05149825784071731,
    ),
    (
        [1.25, 6.0, 13.0],
        0.04358974358974366,
        {
            "multiplicative": [0.7665847665847666, 0.1597051597051597, 0.07371007371007371],
            "additive": [0.7854700854700855, 0.1521367521367521, 0.06239316239316238],
            "power": [0.7879200288446895, 0.14749938386439532, 0.06458058729150681],
            "shin": [0.7806413751905263, 0.1538748864127483, 0.06548373839763603],
        },
        0.022581448011080165,
    ),
    (
        [3.1, 3.4, 2.3],
        0.05148090091576618,
        {
            "multiplicative": [0.3067869752844252, 0.27971753628874063, 0.41349548842683403],
            "additive": [0.3054203448560349, 0.27695734675356815, 0.4176223083903968],
            "power": [0.30532495044697555, 0.2771377682164939, 0.4175372813365307],
            "shin": [0.3057694105160793, 0.27767383430902287, 0.4165567551740286],
        },
        0.025761966561891565,
    ),
]


@pytest.mark.parametrize(("odds", "margin", "by_method", "z"), REFERENCE)
def test_fair_probabilities_agree_with_penaltyblog(
    odds: list[float], margin: float, by_method: dict[str, list[float]], z: float
) -> None:
    assert overround(odds) == pytest.approx(margin, rel=1e-12)
    for method, expected in by_method.items():
        assert fair_probabilities(odds, method) == pytest.approx(expected, abs=1e-9), method
    assert shin_z(odds) == pytest.approx(z, abs=1e-9)


def test_conversions_agree_with_penaltyblog() -> None:
    # calculate_implied(["+150", "-200"], odds_format="american").margin, and
    # calculate_implied(["5/2", "4/6"], odds_format="fractional").margin
    american = [american_to_decimal(150), american_to_decimal(-200)]
    assert overround(american) == pytest.approx(0.06666666666666665, rel=1e-12)
    fractional = [fractional_to_decimal("5/2"), fractional_to_decimal("4/6")]
    assert overround(fractional) == pytest.approx(-0.11428571428571421, rel=1e-12)


# -- single prices ----------------------------------------------------------------------------


def test_implied_probability_is_the_reciprocal_of_decimal_odds() -> None:
    assert implied_probability(2.5) == pytest.approx(0.4)


def test_implied_probability_refuses_odds_not_above_one() -> None:
    with pytest.raises(ValueError, match="above 1"):
        implied_probability(1.0)


def test_price_probability_is_none_where_there_is_no_price() -> None:
    assert price_probability(4.0) == 0.25
    assert price_probability(None) is None
    assert price_probability(0.0) is None  # the service's "no price"


def test_overround_is_the_sum_of_implied_probabilities_minus_one() -> None:
    assert overround([2.0, 3.0, 4.0]) == pytest.approx(0.5 + 1 / 3 + 0.25 - 1)


def test_overround_needs_two_prices() -> None:
    with pytest.raises(ValueError, match="at least two"):
        overround([2.0])


def test_an_unknown_method_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown method 'odds ratio'; one of multiplicative"):
        fair_probabilities([2.0, 2.0], "odds ratio")


def test_the_additive_method_refuses_to_leave_a_long_shot_nothing() -> None:
    with pytest.raises(ValueError, match="additive method leaves an outcome"):
        fair_probabilities([1.05, 1.5, 500.0], "additive")


def test_a_book_without_margin_has_no_insider_money() -> None:
    assert shin_z([2.0, 2.0]) == 0.0
    assert fair_probabilities([2.0, 2.0], "shin") == [0.5, 0.5]
    assert fair_probabilities([2.0, 2.0], "power") == pytest.approx([0.5, 0.5])


def test_fair_odds_are_the_reciprocals_of_the_fair_probabilities() -> None:
    assert fair_odds([1.91, 1.91]) == pytest.approx([2.0, 2.0])


# -- conversions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fractional", "decimal"),
    [("5/2", 3.5), ("1/1", 2.0), ("EVS", 2.0), ("4/6", 1 + 4 / 6), ("100/1", 101.0)],
)
def test_fractional_to_decimal(fractional: str, decimal: float) -> None:
    assert fractional_to_decimal(fractional) == pytest.approx(decimal)


@pytest.mark.parametrize("text", ["", "5", "5/0", "0/1", "five/two", "5/2/1", "-5/2"])
def test_fractional_to_decimal_refuses_what_is_not_a_price(text: str) -> None:
    with pytest.raises(ValueError, match="not a fractional price"):
        fractional_to_decimal(text)


@pytest.mark.parametrize(
    ("decimal", "fractional"), [(3.5, "5/2"), (2.0, "1/1"), (1.33, "1/3"), (1.62, "8/13")]
)
def test_decimal_to_fractional_finds_the_service_fraction(decimal: float, fractional: str) -> None:
    assert decimal_to_fractional(decimal) == fractional


def test_every_ladder_price_gives_a_fraction_of_the_same_rounded_decimal_odds() -> None:
    # The service sends the decimal rounded to two places beside its fraction (the simulator's
    # Price.odds): several fractions round to 1.05 (1/20, 1/19), so the simplest is given.
    for price in LADDER:
        fraction = decimal_to_fractional(float(price.odds))
        assert round(fractional_to_decimal(fraction), 2) == float(price.odds), price


@pytest.mark.parametrize(("decimal", "american"), [(2.5, 150.0), (1.5, -200.0), (2.0, 100.0)])
def test_american_odds(decimal: float, american: float) -> None:
    assert decimal_to_american(decimal) == pytest.approx(american)
    assert american_to_decimal(american) == pytest.approx(decimal)


def test_american_odds_between_minus_and_plus_100_are_refused() -> None:
    with pytest.raises(ValueError, match="at least \\+100 or at most -100"):
        american_to_decimal(50)


# -- properties ----------------------------------------------------------------------------

prices = st.floats(min_value=1.01, max_value=200.0)
# A bookmaker's book: margins from none to 30 %, two to twenty outcomes.
books = st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=2, max_size=20).flatmap(
    lambda weights: st.floats(min_value=0.0, max_value=0.3).map(
        lambda margin: [sum(weights) / (w * (1 + margin)) for w in weights]
    )
)


@given(books, st.sampled_from(METHODS))
def test_fair_probabilities_sum_to_one_in_the_order_of_the_odds(
    odds: list[float], method: str
) -> None:
    assume(all(o > 1.0 for o in odds))
    try:
        fair = fair_probabilities(odds, method)
    except ValueError:
        assume(method != "additive")  # the additive method may refuse, as documented
        raise
    assert math.fsum(fair) == pytest.approx(1.0, abs=1e-9)
    implied = [1 / o for o in odds]
    for i in range(len(odds)):
        for j in range(len(odds)):
            if implied[i] > implied[j] * (1 + 1e-9):
                assert fair[i] >= fair[j]


@given(books)
def test_shin_z_is_in_zero_one(odds: list[float]) -> None:
    assume(all(o > 1.0 for o in odds))
    assert 0.0 <= shin_z(odds) < 1.0


@given(st.integers(1, 500), st.integers(1, 100))
def test_fractions_round_trip_exactly(numerator: int, denominator: int) -> None:
    decimal = fractional_to_decimal(f"{numerator}/{denominator}")
    fraction = decimal_to_fractional(decimal, tolerance=1e-9)
    assert fractional_to_decimal(fraction) == pytest.approx(decimal, rel=1e-12)
    divisor = math.gcd(numerator, denominator)
    assert fraction == f"{numerator // divisor}/{denominator // divisor}"


@given(prices)
def test_american_odds_round_trip(decimal: float) -> None:
    assert american_to_decimal(decimal_to_american(decimal)) == pytest.approx(decimal)


# -- which markets are books -----------------------------------------------------------------


def market(name: str, *odds: float | None, status: str | None = None) -> Market:
    return Market(
        id=1, name=name, status=status, outcomes=[Outcome(id=i, odds=o) for i, o in enumerate(odds)]
    )


@pytest.mark.parametrize(
    "name",
    ["Full Time Result", "Over/Under 2.5 Goals", "Both Teams To Score", "Money Line", None],
)
def test_result_and_two_way_markets_are_books(name: str | None) -> None:
    assert is_book(market(name, 2.0, 3.0, 4.0))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    ["Double Chance", "Anytime Goalscorer", "First Goalscorer", "To Score 2 Or More Goals"],
)
def test_markets_whose_outcomes_overlap_or_are_a_selection_are_not(name: str) -> None:
    assert not is_book(market(name, 1.3, 1.2, 1.4))


def test_a_market_not_priced_whole_has_no_overround() -> None:
    assert market_overround(market("Full Time Result", 2.0)) is None  # one price
    assert market_overround(market("Full Time Result", 2.0, None)) is None
    assert market_overround(market("Full Time Result", 2.0, 0.0)) is None
    assert market_overround(market("Full Time Result", 2.0, 2.0, status="suspended")) is None
    suspended_outcome = market("Full Time Result", 2.0, 2.0)
    suspended_outcome.outcomes[1].status = "SUSPENDED"
    assert market_overround(suspended_outcome) is None
    assert market_overround(market("Full Time Result", 2.0, 2.0, status="open")) == 0.0


def test_a_book_has_its_overround_and_fair_odds() -> None:
    book = market("Over/Under 2.5 Goals", 1.8, 2.0)
    assert market_overround(book) == pytest.approx(1 / 1.8 + 1 / 2.0 - 1)
    assert market_fair_odds(book) == pytest.approx([1.8 * (1 / 1.8 + 0.5), 2.0 * (1 / 1.8 + 0.5)])
    assert market_fair_odds(market("Double Chance", 1.2, 1.3)) is None


def test_add_probabilities_fills_outcomes_and_market() -> None:
    book = market("Full Time Result", 2.0, 4.0, 0.0)
    add_probabilities(book)
    assert [o.implied_probability for o in book.outcomes] == [0.5, 0.25, None]
    assert book.overround is None  # an outcome without a price
    book.outcomes.pop()
    add_probabilities(book)
    assert book.overround == pytest.approx(-0.25)
    double_chance = market("Double Chance", 1.2, 1.3, 1.25)
    add_probabilities(double_chance)
    assert double_chance.overround is None


market_names = st.sampled_from(["Full Time Result", "Double Chance", "First Goalscorer", None])
outcome_statuses = st.sampled_from([None, None, None, "open", "Suspended", "closed"])
outcomes = st.builds(
    Outcome,
    odds=st.one_of(st.none(), st.just(0.0), st.just(1.0), prices),
    status=outcome_statuses,
)
markets = st.builds(
    Market, name=market_names, outcomes=st.lists(outcomes, max_size=5), status=outcome_statuses
)


@given(markets)
def test_add_probabilities_is_the_one_pass_of_market_overround(book: Market) -> None:
    add_probabilities(book)
    assert book.overround == market_overround(book)
    assert [o.implied_probability for o in book.outcomes] == [
        price_probability(o.odds) for o in book.outcomes
    ]
