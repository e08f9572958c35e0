"""The basketball markets, priced from a model of one game.

The home team's winning margin and the total points are normal variables whose means
depend on the teams' ratings; the quarters and halves follow from them.
"""

from __future__ import annotations

import math
import random

from .markets import MarketSpec
from .reference import outcome_label


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _over_under(name: str, line: float, over: float) -> MarketSpec:
    return MarketSpec(name, [(f"Over {line}", over), (f"Under {line}", 1 - over)], 0.07)


def _half_line(mean: float) -> float:
    return math.floor(mean) + 0.5


def basketball_markets(
    rng: random.Random, home_team: str, away_team: str, margin: float, total: float
) -> list[MarketSpec]:
    home, away = outcome_label(home_team), outcome_label(away_team)
    sd, total_sd = 12.5, 18.0
    p_home = _normal_cdf(margin / sd)
    spread = _half_line(margin)
    covers = _normal_cdf((margin - spread) / sd)
    line = _half_line(total)

    def over(at: float, mean: float = total, spread_sd: float = total_sd) -> float:
        return 1 - _normal_cdf((at - mean) / spread_sd)

    def between(low: float, high: float) -> float:
        return _normal_cdf((high - margin) / sd) - _normal_cdf((low - margin) / sd)

    bands = ((1, 5), (6, 10), (11, 15), (16, 20), (21, 25), (26, 99))
    winning_margin = [
        (f"{home} {lo}-{hi}" if hi < 99 else f"{home} {lo}+", between(lo - 0.5, hi + 0.5))
        for lo, hi in bands
    ] + [
        (f"{away} {lo}-{hi}" if hi < 99 else f"{away} {lo}+", between(-hi - 0.5, -lo + 0.5))
        for lo, hi in bands
    ]
    home_total, away_total = (total + margin) / 2, (total - margin) / 2
    home_line, away_line = _half_line(home_total), _half_line(away_total)
    quarter = _normal_cdf(margin / 4 / (sd / 2) + rng.uniform(-0.05, 0.05))
    return [
        MarketSpec("Money Line", [(home, p_home), (away, 1 - p_home)], 0.05),
        MarketSpec(
            "Point Spread",
            [(f"{home} {-spread:+g}", covers), (f"{away} {spread:+g}", 1 - covers)],
            0.05,
        ),
        _over_under("Total Points", line, over(line)),
        MarketSpec(
            "1st Half Money Line",
            [(home, h := _normal_cdf(margin / 2 / (sd / 1.41))), (away, 1 - h)],
            0.06,
        ),
        MarketSpec("1st Quarter Money Line", [(home, quarter), (away, 1 - quarter)], 0.06),
        MarketSpec("Winning Margin", winning_margin, 0.15),
        _over_under(f"{home} Total Points", home_line, over(home_line, home_total, 11)),
        _over_under(f"{away} Total Points", away_line, over(away_line, away_total, 11)),
        *(
            MarketSpec(
                f"Alternative Total Points {line + shift}",
                [
                    (f"Over {line + shift}", o := over(line + shift)),
                    (f"Under {line + shift}", 1 - o),
                ],
                0.07,
                listed=False,
            )
            for shift in (-10, -5, 5, 10)
        ),
    ]
