"""Signal rules: what ``KWIFF_SIGNALS`` decodes to, checked once (pure, no I/O).

A rule is a JSON object: its ``kind`` and parameters; anything left out takes the
kind's default in :data:`KIND_DEFAULTS` (chosen for football). Every problem raises
``ValueError`` naming the rule (``KWIFF_SIGNALS[2]``) and saying what to write.

Units: ``change`` is a fraction (0.1: 10 %), ``points`` probability points as a
fraction (0.03: 3 points), ``minutes`` / ``seconds`` the window, ``cooldown``
minutes. For ``drop`` and ``drift``, a rule that names neither ``change`` nor
``points`` takes the default ``change``; one that names either uses only what it names.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from typing import Any

from .signals import DRIFT, DROP, MARGIN, SIGNAL_KINDS, STEAM, SUSPENSIONS

IN_PLAY_CHOICES = ("yes", "no", "any")

#: Every kind's parameters with their defaults (None: off).
KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    DROP: {"change": 0.10, "points": None, "minutes": 60, "cooldown": 60, "max_odds": 15},
    DRIFT: {"change": 0.15, "points": None, "minutes": 60, "cooldown": 60, "max_odds": 15},
    STEAM: {"change": 0.05, "outcomes": 3, "minutes": 30, "cooldown": 60, "max_odds": 15},
    MARGIN: {"points": 0.03, "minutes": 30, "cooldown": 60},
    SUSPENSIONS: {"count": 5, "seconds": 60, "cooldown": 10},
}
#: Parameters every kind takes, with their defaults.
COMMON_DEFAULTS: dict[str, Any] = {
    "name": None,
    "kind": None,
    "cooldown": 60,
    "growth": 1.0,
    "markets": [],
    "competitions": [],
    "min_odds": None,
    "max_odds": None,
    "in_play": "any",
}
#: ``KWIFF_SIGNALS`` when it is not set: one rule of each kind, with its defaults.
DEFAULT_RULES: list[dict[str, Any]] = [{"kind": kind} for kind in SIGNAL_KINDS]

RULES_SHAPE = (
    'a JSON list of rules such as [{"kind": "drop", "change": 0.1, "minutes": 60}, '
    '{"kind": "steam"}] (kinds: ' + ", ".join(SIGNAL_KINDS) + "), given inline or as "
    "the path of a JSON file"
)


@dataclass(frozen=True, slots=True)
class SignalRule:
    """One validated rule. Times are seconds; thresholds fractions; None is off."""

    name: str
    kind: str
    window: float
    cooldown: float
    #: Within the cooldown, fire again only at ``(1 + growth)`` times the last strength.
    growth: float = 1.0
    #: Relative move of the odds (drop, drift, steam).
    change: float | None = None
    #: Probability points (drop, drift) or overround points (margin).
    points: float | None = None
    #: Steam across an event: this many outcomes shortening together (None: off).
    outcomes: int | None = None
    #: Suspensions: this many markets of one event suspended inside the window.
    count: int | None = None
    #: Market names, casefolded (empty: every market).
    markets: frozenset[str] = frozenset()
    #: Competition names, casefolded (empty: every competition).
    competitions: frozenset[str] = frozenset()
    min_odds: float | None = None
    max_odds: float | None = None
    #: ``yes``, ``no`` or ``any``; an event whose state is unknown matches only ``any``.
    in_play: str = "any"

    def odds_in_range(self, odds: float | None) -> bool:
        if self.min_odds is None and self.max_odds is None:
            return True
        if odds is None:
            return False
        if self.min_odds is not None and odds < self.min_odds:
            return False
        return self.max_odds is None or odds <= self.max_odds

    def market_matches(self, market_name: str | None) -> bool:
        if not self.markets:
            return True
        return market_name is not None and market_name.casefold() in self.markets

    def event_matches(self, competition_name: str | None, in_play: bool | None) -> bool:
        if self.competitions and (
            competition_name is None or competition_name.casefold() not in self.competitions
        ):
            return False
        if self.in_play == "any":
            return True
        return in_play is (self.in_play == "yes")


def parse_rules(raw: Any, where: str = "KWIFF_SIGNALS") -> list[SignalRule]:
    """Check decoded rules (a list of objects); raise ``ValueError`` on the first problem."""
    if not isinstance(raw, list):
        raise ValueError(f"{where} must be {RULES_SHAPE}, not {json.dumps(raw)[:200]}")
    rules = [parse_rule(rule, f"{where}[{n}]") for n, rule in enumerate(raw)]
    names = [rule.name for rule in rules]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(
                f"{where}: two rules are named {name!r}; give each rule of the same kind "
                'its own "name"'
            )
    return rules


def parse_rule(raw: Any, where: str) -> SignalRule:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is {json.dumps(raw)[:200]}: each rule must be a JSON object")
    kind = raw.get("kind")
    if kind not in SIGNAL_KINDS:
        hint = _did_you_mean(kind, SIGNAL_KINDS) if isinstance(kind, str) else ""
        said = "has no kind" if kind is None else f"has unknown kind {kind!r}{hint}"
        raise ValueError(f"{where} {said}; kinds are {', '.join(SIGNAL_KINDS)}")
    known = {**COMMON_DEFAULTS, **KIND_DEFAULTS[kind]}
    for key in raw:
        if key not in known:
            raise ValueError(
                f"{where} ({kind}) has unknown parameter {key!r}"
                f"{_did_you_mean(key, known)}; {kind} takes {', '.join(sorted(known))}"
            )
    values = {**known, **raw}
    if kind in (DROP, DRIFT) and ("change" in raw or "points" in raw):
        values["change"], values["points"] = raw.get("change"), raw.get("points")
    name = values["name"] if values["name"] is not None else kind
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: name must be a non-empty string, not {name!r}")
    where = f"{where} ({name})"
    change = _fraction(values.get("change"), f"{where}: change", " %")
    points = _fraction(values.get("points"), f"{where}: points", " points")
    if kind in (DROP, DRIFT) and change is None and points is None:
        raise ValueError(f"{where}: give change (0.1 means 10 %) or points (0.03 means 3 points)")
    if kind == STEAM and change is None:
        raise ValueError(f"{where}: steam needs change (0.05 means 5 %)")
    if kind == MARGIN and points is None:
        raise ValueError(f"{where}: margin needs points (0.02 means 2 points)")
    window = (
        _positive(values["seconds"], f"{where}: seconds")
        if kind == SUSPENSIONS
        else 60 * _positive(values["minutes"], f"{where}: minutes")
    )
    min_odds = _odds(values["min_odds"], f"{where}: min_odds")
    max_odds = _odds(values["max_odds"], f"{where}: max_odds")
    if min_odds is not None and max_odds is not None and min_odds > max_odds:
        raise ValueError(f"{where}: min_odds ({min_odds}) is above max_odds ({max_odds})")
    return SignalRule(
        name=name,
        kind=kind,
        window=window,
        cooldown=60 * _not_negative(values["cooldown"], f"{where}: cooldown (minutes)"),
        growth=_not_negative(values["growth"], f"{where}: growth"),
        change=change,
        points=points,
        outcomes=_outcomes(values.get("outcomes"), f"{where}: outcomes"),
        count=(_count(values["count"], f"{where}: count") if kind == SUSPENSIONS else None),
        markets=_names(values["markets"], f"{where}: markets"),
        competitions=_names(values["competitions"], f"{where}: competitions"),
        min_odds=min_odds,
        max_odds=max_odds,
        in_play=_in_play(values["in_play"], f"{where}: in_play"),
    )


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.7)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a number, not {json.dumps(value)[:100]}")
    return float(value)


def _fraction(value: Any, what: str, unit: str) -> float | None:
    if value is None:
        return None
    number = _number(value, what)
    if number >= 1:
        example = f"{number / 100:g} means {number:g}{unit}" if number < 100 else "0.1 means 10 %"
        raise ValueError(f"{what} is a fraction below 1, not {number:g}: {example}")
    if number <= 0:
        raise ValueError(f"{what} must be above 0 (or null for off), not {number:g}")
    return number


def _positive(value: Any, what: str) -> float:
    number = _number(value, what)
    if number <= 0:
        raise ValueError(f"{what} must be above 0, not {number:g}")
    return number


def _not_negative(value: Any, what: str) -> float:
    number = _number(value, what)
    if number < 0:
        raise ValueError(f"{what} must be 0 or more, not {number:g}")
    return number


def _whole(value: Any, what: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{what} must be a whole number of at least {least}, not {value!r}")
    return value


def _count(value: Any, what: str) -> int:
    return _whole(value, what, 1)


def _outcomes(value: Any, what: str) -> int | None:
    if value is None or value == 0:
        return None
    return _whole(value, what, 2)


def _odds(value: Any, what: str) -> float | None:
    if value is None:
        return None
    number = _number(value, what)
    if number <= 1:
        raise ValueError(f"{what} is decimal odds, above 1 (2.0 is evens), not {number:g}")
    return number


def _names(value: Any, what: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ValueError(f"{what} must be a list of names, not {json.dumps(value)[:100]}")
    return frozenset(name.strip().casefold() for name in value if name.strip())


def _in_play(value: Any, what: str) -> str:
    if value is True or value is False:
        return "yes" if value else "no"
    if isinstance(value, str) and value.strip().lower() in IN_PLAY_CHOICES:
        return value.strip().lower()
    raise ValueError(f"{what} must be one of {', '.join(IN_PLAY_CHOICES)}, not {value!r}")
