"""The fixtures: which teams play when, and each event's markets, from a seed.

Start dates follow a weekly pattern laid out from :data:`BASE_DATE` (a Tuesday: the
European cup nights, then the weekend's league slots) and are moved by whole weeks so
that every event is upcoming from a given day (:func:`base_date_for`): the same day
always gives the same dates, and the pattern of weekdays and kick-off times is kept.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

from .basketball import basketball_markets
from .football import football_markets
from .markets import Market, as_markets
from .reference import BASKETBALL, COMPETITIONS, FOOTBALL, TEAM_RATINGS, Competition

#: The anchor of the weekly kick-off pattern (a Tuesday): round ``r`` is the week starting
#: ``7 * r`` days after it. The data moves the pattern by whole weeks (:func:`base_date_for`).
BASE_DATE: Final = datetime(2026, 1, 20, tzinfo=UTC)


def base_date_for(today: date) -> datetime:
    """Midnight UTC of the first day *after* ``today`` on :data:`BASE_DATE`'s weekday.

    Every start date is at or after it, so every event is upcoming on ``today`` (all
    day long); the pattern keeps its weekdays and times. From 2026-01-14 to 2026-01-19
    it is :data:`BASE_DATE` itself.
    """
    ahead = (BASE_DATE.date() - today).days % 7 or 7
    day = today + timedelta(days=ahead)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Fixture:
    """One event at rest: who plays whom, when, and its markets."""

    id: int
    sport: int
    competition: Competition
    home: str
    away: str
    start: datetime
    betting_status: str
    match_tracker: bool | dict[str, Any]
    bet_builder: bool
    markets: tuple[Market, ...]


_FIRST_EVENT_ID: Final = {FOOTBALL: 10_740_000, BASKETBALL: 20_410_000}


def _pairings(
    rng: random.Random, competitions: Sequence[Competition], base: datetime
) -> Iterator[tuple[Competition, str, str, datetime]]:
    """Endless weekly rounds, from *base*, in which every team of every competition plays once."""
    for round_number in itertools.count():
        for competition in competitions:
            teams = list(competition.teams)
            rng.shuffle(teams)
            for k in range(0, len(teams) - 1, 2):
                day, hour, minute = rng.choice(competition.slots)
                start = base + timedelta(days=7 * round_number + day, hours=hour, minutes=minute)
                yield competition, teams[k], teams[k + 1], start


def _build_fixture(
    seed: int, sport: int, event_id: int, spec: tuple[Competition, str, str, datetime]
) -> Fixture:
    competition, home, away, start = spec
    rng = random.Random(f"{seed}:{sport}:{event_id}")
    diff = TEAM_RATINGS[sport, home] - TEAM_RATINGS[sport, away]
    if sport == FOOTBALL:
        noise = rng.uniform(0.9, 1.1)
        lam_h = 1.45 * math.exp(diff / 40) * noise
        lam_a = 1.15 * math.exp(-diff / 40) / noise
        specs = football_markets(rng, home, away, lam_h, lam_a)
        tracker: bool | dict[str, Any] = (
            {"provider": "betradar", "matchId": 61_000_000 + event_id % 1_000_000}
            if rng.random() < 0.85
            else False
        )
    else:
        margin = 3.0 + diff * 0.6 + rng.uniform(-2, 2)
        total = (226.0 if competition.name == "NBA" else 163.0) + rng.uniform(-12, 12)
        specs = basketball_markets(rng, home, away, margin, total)
        tracker = rng.random() < 0.7
    return Fixture(
        id=event_id,
        sport=sport,
        competition=competition,
        home=home,
        away=away,
        start=start,
        betting_status="OPEN" if rng.random() < 0.93 else "SUSPENDED",
        match_tracker=tracker,
        bet_builder=sport == FOOTBALL and rng.random() < 0.9,
        markets=as_markets(event_id, specs),
    )


def _fixture_specs(
    seed: int, sport: int, base: datetime
) -> Iterator[tuple[int, tuple[Competition, str, str, datetime]]]:
    """Every fixture of *sport*, endlessly, as (event id, pairing), in the order drawn.

    Ids only grow, so a later fixture's id collides with no earlier one (nor with the
    other sport's, which start millions apart).
    """
    competitions = [c for c in COMPETITIONS if c.sport == sport]
    if not competitions:
        return
    rng = random.Random(f"{seed}:{sport}:fixtures")
    event_id = _FIRST_EVENT_ID[sport] + rng.randrange(10_000)
    for spec in _pairings(rng, competitions, base):
        event_id += rng.randint(1, 40)
        yield event_id, spec


def fixture_stream(seed: int, sport: int, base: datetime = BASE_DATE) -> Iterator[Fixture]:
    """Every fixture of *sport*, endlessly, in the order drawn (not sorted by kick-off).

    The first *count* are those of :func:`fixtures`; the simulator takes the ones after
    them as the new events that appear while it runs.
    """
    for event_id, spec in _fixture_specs(seed, sport, base):
        yield _build_fixture(seed, sport, event_id, spec)


def later_fixtures(
    seed: int, sport: int, count: int, base: datetime = BASE_DATE
) -> Iterator[Fixture]:
    """The fixtures drawn after the first *count*: built one by one, as they are asked for."""
    specs = itertools.islice(_fixture_specs(seed, sport, base), count, None)
    for event_id, spec in specs:
        yield _build_fixture(seed, sport, event_id, spec)


def later_fixture_builders(
    seed: int, sport: int, count: int, base: datetime = BASE_DATE
) -> Iterator[tuple[int, Callable[[], Fixture]]]:
    """The fixtures drawn after the first *count* as (event id, a function that builds
    it): one that is passed over is never built (its id is enough to know its life)."""
    specs = itertools.islice(_fixture_specs(seed, sport, base), count, None)
    for event_id, spec in specs:
        yield event_id, functools.partial(_build_fixture, seed, sport, event_id, spec)


def fixture_order(fixture: Fixture) -> tuple[datetime, int, int]:
    """The order of an event list: kick-off, then competition, then id."""
    return fixture.start, fixture.competition.id, fixture.id


@lru_cache(maxsize=32)
def fixtures(seed: int, sport: int, count: int, base: datetime = BASE_DATE) -> tuple[Fixture, ...]:
    """The first *count* fixtures of *sport* for *seed*, sorted by kick-off."""
    if count <= 0:
        return ()
    built = [
        _build_fixture(seed, sport, event_id, spec)
        for event_id, spec in itertools.islice(_fixture_specs(seed, sport, base), count)
    ]
    return tuple(sorted(built, key=fixture_order))
