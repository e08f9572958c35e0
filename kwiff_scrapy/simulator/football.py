"""The football market catalogue, priced from a model of one match.

Goals are two independent Poisson variables (one per team) whose means depend on the
teams' ratings (:data:`~.reference.TEAM_RATINGS`); each half has its share of them.
Corners and cards are Poisson too, and goalscorers share their team's expected goals
by their place in the squad.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .markets import MarketSpec
from .reference import outcome_label, squad

#: Scoring weight of each squad member listed in goalscorer markets: three forwards,
#: four midfielders, two defenders and two forwards on the bench.
_SQUAD_WEIGHTS: Final = (3.0, 2.5, 2.0, 1.2, 1.0, 0.9, 0.8, 0.4, 0.35, 1.2, 1.0)
#: Share of a team's goals scored by players not listed (the goalkeeper, own goals...).
_UNLISTED_SHARE: Final = 0.12


def _poisson(mean: float, size: int) -> list[float]:
    pmf = [math.exp(-mean)]
    for k in range(1, size):
        pmf.append(pmf[-1] * mean / k)
    return pmf


def _result_split(home_pmf: list[float], away_pmf: list[float]) -> tuple[float, float, float]:
    home = draw = 0.0
    for i, p_i in enumerate(home_pmf):
        draw += p_i * away_pmf[i]
        home += p_i * sum(away_pmf[:i])
    return home, draw, max(1 - home - draw, 0.0)


def _difference_pmf(home_pmf: list[float], away_pmf: list[float]) -> dict[int, float]:
    diff: dict[int, float] = {}
    for i, p_i in enumerate(home_pmf):
        for j, p_j in enumerate(away_pmf):
            diff[i - j] = diff.get(i - j, 0.0) + p_i * p_j
    return diff


#: Full-time goals of a team are modelled from 0 to 10.
_FULL_TIME_GOALS: Final = 11


@functools.cache
def _scores_where(
    predicate: Callable[[int, int], bool], home_size: int, away_size: int
) -> tuple[int, ...]:
    """The full-time scores (i, j) that satisfy *predicate*, as indexes ``i * away_size + j``
    of :attr:`_Goals.full_time`, in order."""
    return tuple(k for k in range(home_size * away_size) if predicate(*divmod(k, away_size)))


# The full-time predicates the catalogue prices (module functions: their scores are cached).
def _home_by_two(i: int, j: int) -> bool:
    return i - j >= 2


def _away_by_two(i: int, j: int) -> bool:
    return j - i >= 2


def _home_win_both_score(i: int, j: int) -> bool:
    return i > j > 0


def _draw_both_score(i: int, j: int) -> bool:
    return i == j > 0


def _away_win_both_score(i: int, j: int) -> bool:
    return j > i > 0


def _home_win_to_nil(i: int, j: int) -> bool:
    return i > j == 0


def _away_win_to_nil(i: int, j: int) -> bool:
    return j > i == 0


@dataclass(frozen=True, slots=True)
class _Goals:
    """Score probabilities of one match: full time, and each half (45% of the goals first)."""

    home: list[float]
    away: list[float]
    full_time: tuple[float, ...]
    """``home[i] * away[j]`` for every full-time score (i, j), i first."""
    home_1st: list[float]
    away_1st: list[float]
    home_2nd: list[float]
    away_2nd: list[float]

    @classmethod
    def from_means(cls, lam_h: float, lam_a: float) -> _Goals:
        home, away = _poisson(lam_h, _FULL_TIME_GOALS), _poisson(lam_a, _FULL_TIME_GOALS)
        return cls(
            home,
            away,
            tuple([p_i * p_j for p_i in home for p_j in away]),
            _poisson(lam_h * 0.45, 8),
            _poisson(lam_a * 0.45, 8),
            _poisson(lam_h * 0.55, 8),
            _poisson(lam_a * 0.55, 8),
        )

    def total(self, predicate: Callable[[int, int], bool]) -> float:
        """Probability that the full-time score (home, away) satisfies *predicate*, a
        function of the module (its scores are worked out once)."""
        full_time = self.full_time
        # The same products added in the same order as a sum over every (i, j) in turn.
        return sum([full_time[k] for k in _scores_where(predicate, len(self.home), len(self.away))])

    def half_time_full_time(self) -> dict[tuple[int, int], float]:
        """Probabilities of (sign at half time, sign at full time), 1 home, 0 draw, -1 away."""
        first = _difference_pmf(self.home_1st, self.away_1st)
        second = list(_difference_pmf(self.home_2nd, self.away_2nd).items())
        # One sum per (sign, sign), each added to in the order of (d1, d2): the same floats
        # as a dictionary of the nine sums. Index 3 * (first sign + 1) + (full sign + 1).
        sums = [0.0] * 9
        for d1, p1 in first.items():
            row = 3 * ((d1 > 0) - (d1 < 0)) + 4
            for d2, p2 in second:
                full = d1 + d2
                sums[row + (full > 0) - (full < 0)] += p1 * p2
        return {(a, b): sums[3 * a + b + 4] for a in (1, 0, -1) for b in (1, 0, -1)}


Outcomes = list[tuple[str, float]]
"""A market's outcomes as (label, probability), before the bookmaker's margin."""

HOME: Final = 0
AWAY: Final = 1


@dataclass(frozen=True, slots=True)
class _Row:
    """One entry of a market catalogue: a market, or a family of them, and how to price it.

    ``{team}`` in the name gives one market per side (home first), named with the
    side's outcome label; ``{line}`` gives one market per entry of *lines*. *kind*
    names the pricing function (see :data:`_FOOTBALL_KINDS`), *source* what it prices.
    """

    name: str
    kind: str
    margin: float
    source: str = ""
    lines: tuple[float, ...] = ()
    listed: bool = True
    """Shown by ``event:list`` too; ``event:get`` shows every market."""


#: Every football market, in the order of their ids; the listed ones come first.
# fmt: off
_FOOTBALL_MARKETS: Final = (
    # name                                     kind                   margin source
    _Row("Full Time Result",                   "result",              0.05, "full time"),
    _Row("Double Chance",                      "double chance",       0.06),
    _Row("Both Teams To Score",                "yes/no",              0.07, "both teams score"),
    _Row("Over/Under {line} Goals",            "over/under",          0.07, "goals",
         lines=(2.5, 1.5, 3.5)),
    _Row("Draw No Bet",                        "draw no bet",         0.06),
    _Row("Half Time Result",                   "result",              0.06, "first half"),
    _Row("Second Half Result",                 "result",              0.06, "second half"),
    _Row("Match Result & Both Teams To Score", "result & both score", 0.1),
    _Row("Team To Score First",                "first to score",      0.07),
    _Row("Total Goals Odd/Even",               "odd/even",            0.07),
    _Row("{team} Over/Under {line} Goals",     "over/under",          0.07, "team goals",
         lines=(1.5,)),
    _Row("{team} Clean Sheet",                 "yes/no",              0.07, "clean sheet"),
    _Row("{team} To Win Either Half",          "yes/no",              0.07, "win either half"),
    _Row("Asian Handicap -1.5",                "asian handicap 1.5",  0.05, "home"),
    _Row("Asian Handicap +1.5",                "asian handicap 1.5",  0.05, "away"),
    _Row("Total Corners Over/Under {line}",    "over/under",          0.07, "corners",
         lines=(8.5, 9.5, 10.5, 11.5)),
    _Row("Total Cards Over/Under {line}",      "over/under",          0.07, "cards",
         lines=(3.5, 4.5)),
    _Row("Correct Score",                      "correct score",       0.2,  "full time"),
    _Row("First Goalscorer",                   "first scorer",        0.25),
    # In event:get only.
    _Row("Half Time/Full Time",                "half time/full time", 0.15, listed=False),
    _Row("Over/Under {line} Goals",            "over/under",          0.07, "goals",
         lines=(0.5, 4.5, 5.5), listed=False),
    _Row("Half Time Correct Score",            "correct score",       0.2,  "first half",
         listed=False),
    _Row("{team} Win To Nil",                  "yes/no",              0.07, "win to nil",
         listed=False),
    _Row("Handicap Result (-1)",               "handicap result -1",  0.07, listed=False),
    _Row("Anytime Goalscorer",                 "anytime scorer",      0.2,  listed=False),
    _Row("Last Goalscorer",                    "first scorer",        0.25, listed=False),
    _Row("To Score 2 Or More Goals",           "scores twice",        0.25, listed=False),
)
# fmt: on

#: Scores offered in the correct-score markets, home goals first; the rest is "Any Other".
_CORRECT_SCORES: Final = {
    "full time": tuple(
        (int(home), int(away))
        for home, away in re.findall(
            r"(\d)-(\d)",
            "1-0 2-0 2-1 3-0 3-1 3-2 4-0 4-1 4-2 0-0 1-1 2-2 3-3 0-1 0-2 1-2 0-3 1-3 2-3 0-4 1-4 "
            "2-4",
        )
    ),
    "first half": tuple((i, j) for i in range(3) for j in range(3)),
}


@dataclass(frozen=True, slots=True)
class _FootballMatch:
    """What the football catalogue is priced from: one match's model."""

    labels: tuple[str, str]
    """How outcomes name the home and the away team."""
    means: tuple[float, float]
    """Expected goals of the home and the away team."""
    goals: _Goals
    results: dict[str, tuple[float, float, float]]
    """Home win, draw, away win: at ``"full time"``, in the ``"first half"``, ``"second half"``."""
    counts: dict[str, list[float]]
    """Distributions of the match's ``"goals"``, ``"corners"`` and ``"cards"``."""
    scorers: tuple[tuple[str, float], ...]
    """Listed players of both squads with their expected goals, the likeliest first."""

    @classmethod
    def draw(
        cls, rng: random.Random, home_team: str, away_team: str, lam_h: float, lam_a: float
    ) -> _FootballMatch:
        goals = _Goals.from_means(lam_h, lam_a)
        corners = _poisson(10.2 + rng.uniform(-1.5, 1.5), 30)
        cards = _poisson(4.1 + rng.uniform(-0.8, 0.8), 20)
        size = len(_SQUAD_WEIGHTS)
        squads = (squad(rng, home_team, size), squad(rng, away_team, size))
        return cls(
            labels=(outcome_label(home_team), outcome_label(away_team)),
            means=(lam_h, lam_a),
            goals=goals,
            results={
                "full time": _result_split(goals.home, goals.away),
                "first half": _result_split(goals.home_1st, goals.away_1st),
                "second half": _result_split(goals.home_2nd, goals.away_2nd),
            },
            counts={"goals": _poisson(lam_h + lam_a, 12), "corners": corners, "cards": cards},
            scorers=_scorers(squads, (lam_h, lam_a)),
        )

    def team_goals(self, side: int) -> list[float]:
        return self.goals.home if side == HOME else self.goals.away

    def wins_by_two(self, side: int) -> float:
        return self.goals.total(_home_by_two if side == HOME else _away_by_two)


def _scorers(
    squads: tuple[list[str], list[str]], means: tuple[float, float]
) -> tuple[tuple[str, float], ...]:
    total_weight = sum(_SQUAD_WEIGHTS) / (1 - _UNLISTED_SHARE)
    player_means = [
        (name, mean * weight / total_weight)
        for squad, mean in zip(squads, means, strict=True)
        for name, weight in zip(squad, _SQUAD_WEIGHTS, strict=True)
    ]
    player_means.sort(key=lambda item: -item[1])
    return tuple(player_means)


# The pricing functions of the catalogue's kinds: (match, source, side, line) -> outcomes.


def _result(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), (p_home, p_draw, p_away) = match.labels, match.results[source]
    return [(home, p_home), ("Draw", p_draw), (away, p_away)]


def _double_chance(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), (p_home, p_draw, p_away) = match.labels, match.results["full time"]
    return [
        (f"{home} or Draw", p_home + p_draw),
        (f"{away} or Draw", p_away + p_draw),
        (f"{home} or {away}", p_home + p_away),
    ]


def _draw_no_bet(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), (p_home, _, p_away) = match.labels, match.results["full time"]
    return [(home, p_home / (p_home + p_away)), (away, p_away / (p_home + p_away))]


#: The chances that yes/no markets price, for a side (ignored by "both teams score").
_CHANCES: Final[dict[str, Callable[[_FootballMatch, int], float]]] = {
    "both teams score": lambda m, side: (1 - m.goals.home[0]) * (1 - m.goals.away[0]),
    "clean sheet": lambda m, side: m.team_goals(1 - side)[0],
    "win to nil": lambda m, side: sum(m.team_goals(side)[1:]) * m.team_goals(1 - side)[0],
    "win either half": lambda m, side: (
        1 - (1 - m.results["first half"][2 * side]) * (1 - m.results["second half"][2 * side])
    ),
}


def _yes_no(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    yes = _CHANCES[source](match, side)
    return [("Yes", yes), ("No", 1 - yes)]


def _over_under_count(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    counts = match.team_goals(side) if source == "team goals" else match.counts[source]
    over = 1 - sum(counts[: int(line) + 1])
    return [(f"Over {line}", over), (f"Under {line}", 1 - over)]


def _result_and_both_score(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), goals = match.labels, match.goals
    return [
        (f"{home} & Yes", goals.total(_home_win_both_score)),
        ("Draw & Yes", goals.total(_draw_both_score)),
        (f"{away} & Yes", goals.total(_away_win_both_score)),
        (f"{home} & No", goals.total(_home_win_to_nil)),
        ("Draw & No", goals.home[0] * goals.away[0]),
        (f"{away} & No", goals.total(_away_win_to_nil)),
    ]


def _first_to_score(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), (lam_h, lam_a) = match.labels, match.means
    lam, no_goal = lam_h + lam_a, match.counts["goals"][0]
    return [
        (home, (1 - no_goal) * lam_h / lam),
        ("No Goal", no_goal),
        (away, (1 - no_goal) * lam_a / lam),
    ]


def _odd_even(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    odd = (1 - math.exp(-2 * sum(match.means))) / 2
    return [("Odd", odd), ("Even", 1 - odd)]


def _asian_handicap(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    """Source ``"home"`` or ``"away"``: the side giving the 1.5 goals."""
    home, away = match.labels
    if source == "home":
        by_two = match.wins_by_two(HOME)
        return [(f"{home} -1.5", by_two), (f"{away} +1.5", 1 - by_two)]
    by_two = match.wins_by_two(AWAY)
    return [(f"{home} +1.5", 1 - by_two), (f"{away} -1.5", by_two)]


def _handicap_result(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), (p_home, p_draw, p_away) = match.labels, match.results["full time"]
    by_two = match.wins_by_two(HOME)
    return [(f"{home} -1", by_two), ("Draw -1", p_home - by_two), (f"{away} +1", p_draw + p_away)]


def _score_label(home: str, away: str, i: int, j: int) -> str:
    if i > j:
        return f"{home} {i}-{j}"
    if i < j:
        return f"{away} {j}-{i}"
    return f"Draw {i}-{j}"


def _correct_score(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), goals = match.labels, match.goals
    home_pmf, away_pmf = (
        (goals.home, goals.away) if source == "full time" else (goals.home_1st, goals.away_1st)
    )
    outcomes = [
        (_score_label(home, away, i, j), home_pmf[i] * away_pmf[j])
        for i, j in _CORRECT_SCORES[source]
    ]
    other = max(1 - sum(p for _, p in outcomes), 0.002)
    return [*outcomes, ("Any Other Score", other)]


def _half_time_full_time(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    home, away = match.labels
    names = {1: home, 0: "Draw", -1: away}
    return [
        (f"{names[a]}/{names[b]}", p) for (a, b), p in match.goals.half_time_full_time().items()
    ]


def _first_scorer(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    lam = sum(match.means)
    any_goal = 1 - math.exp(-lam)
    first = [(name, any_goal * mean / lam) for name, mean in match.scorers]
    return [*first, ("No Goalscorer", math.exp(-lam))]


def _anytime_scorer(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    return [(name, 1 - math.exp(-mean)) for name, mean in match.scorers]


def _scores_twice(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    return [(name, 1 - math.exp(-mean) * (1 + mean)) for name, mean in match.scorers]


_FOOTBALL_KINDS: Final[dict[str, Callable[[_FootballMatch, str, int, float], Outcomes]]] = {
    "result": _result,
    "double chance": _double_chance,
    "draw no bet": _draw_no_bet,
    "yes/no": _yes_no,
    "over/under": _over_under_count,
    "result & both score": _result_and_both_score,
    "first to score": _first_to_score,
    "odd/even": _odd_even,
    "asian handicap 1.5": _asian_handicap,
    "handicap result -1": _handicap_result,
    "correct score": _correct_score,
    "half time/full time": _half_time_full_time,
    "first scorer": _first_scorer,
    "anytime scorer": _anytime_scorer,
    "scores twice": _scores_twice,
}


def football_markets(
    rng: random.Random, home_team: str, away_team: str, lam_h: float, lam_a: float
) -> list[MarketSpec]:
    """The football catalogue for one match, *lam_h* and *lam_a* its teams' expected
    goals: one spec per market, in id order."""
    match = _FootballMatch.draw(rng, home_team, away_team, lam_h, lam_a)
    specs = []
    for row in _FOOTBALL_MARKETS:
        price = _FOOTBALL_KINDS[row.kind]
        for side in (HOME, AWAY) if "{team}" in row.name else (HOME,):
            for line in row.lines or (0.0,):
                name = row.name.format(team=match.labels[side], line=line)
                outcomes = price(match, row.source, side, line)
                specs.append(MarketSpec(name, outcomes, row.margin, row.listed))
    return specs
