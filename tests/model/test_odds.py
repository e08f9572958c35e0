import pytest

from kwiff_scrapy.model.odds import implied_probability, overround


def test_implied_probability_is_the_reciprocal_of_decimal_odds() -> None:
    assert implied_probability(2.5) == pytest.approx(0.4)


def test_implied_probability_refuses_odds_not_above_one() -> None:
    with pytest.raises(ValueError, match="above 1"):
        implied_probability(1.0)


def test_overround_is_the_sum_of_implied_probabilities_minus_one() -> None:
    assert overround([2.0, 3.0, 4.0]) == pytest.approx(0.5 + 1 / 3 + 0.25 - 1)


def test_overround_needs_two_prices() -> None:
    with pytest.raises(ValueError, match="at least two"):
        overround([2.0])
