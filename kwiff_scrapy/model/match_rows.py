"""One row per match, with the odds of its result market: what goes into a spreadsheet.

``-a layout=match`` yields a :class:`MatchRow` per event that has a result market
(:data:`RESULT_MARKETS`: football's ``Full Time Result``, basketball's ``Money Line``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .items import KwiffEvent, Market, Outcome

#: The markets whose outcomes are home / (draw) / away, by preference.
RESULT_MARKETS: tuple[str, ...] = ("Full Time Result", "Match Result", "Money Line")
#: What a draw outcome is called.
DRAW_NAMES = frozenset({"draw", "x", "tie"})


@dataclass
class MatchRow:
    """An event and the decimal odds of its result market's outcomes.

    ``draw_odds`` is None in a market without a draw (basketball's ``Money Line``);
    any odds are None when the market lacks that outcome. ``start_time`` and
    ``fetched_at`` are ISO 8601 UTC, as in every item (a CSV feed writes them as
    ``2026-12-08 17:45:00``, UTC).
    """

    event_id: int
    sport_name: str | None = None
    competition_name: str | None = None
    home_team: str | None = None
    away_team: str | None = None
    start_time: str | None = None
    #: The result market the odds come from (one of :data:`RESULT_MARKETS`).
    market_name: str | None = None
    home_odds: float | None = None
    draw_odds: float | None = None
    away_odds: float | None = None
    #: The market's status (None: open).
    status: str | None = None
    fetched_at: str | None = None
    #: The result market's overround (:func:`kwiff_scrapy.model.odds.market_overround`):
    #: the bookmaker's margin, None unless every outcome is open and priced.
    overround: float | None = None


def result_market(event: KwiffEvent) -> Market | None:
    """The event's result market (the first of :data:`RESULT_MARKETS` it has), or None."""
    by_name = {market.name.casefold(): market for market in event.markets if market.name}
    for name in RESULT_MARKETS:
        market = by_name.get(name.casefold())
        if market is not None:
            return market
    return None


def match_row(event: KwiffEvent) -> MatchRow | None:
    """The event's row, or None if it has no result market."""
    market = result_market(event)
    if market is None:
        return None
    home, draw, away = _sides(event, market.outcomes)
    return MatchRow(
        event_id=event.event_id,
        sport_name=event.sport_name,
        competition_name=event.competition_name,
        home_team=event.home_team,
        away_team=event.away_team,
        start_time=event.start_time,
        market_name=market.name,
        home_odds=home.odds if home else None,
        draw_odds=draw.odds if draw else None,
        away_odds=away.odds if away else None,
        status=market.status,
        fetched_at=event.fetched_at,
        overround=market.overround,
    )


def _sides(
    event: KwiffEvent, outcomes: list[Outcome]
) -> tuple[Outcome | None, Outcome | None, Outcome | None]:
    """Home, draw and away outcomes: by name (a team's, or a draw's), else by position
    (home, draw, away; or home, away)."""
    named: dict[str, Outcome] = {}
    for outcome in outcomes:
        name = (outcome.name or "").casefold()
        if event.home_team and name == event.home_team.casefold():
            named.setdefault("home", outcome)
        elif event.away_team and name == event.away_team.casefold():
            named.setdefault("away", outcome)
        elif name in DRAW_NAMES:
            named.setdefault("draw", outcome)
    if "home" in named and "away" in named:
        return named["home"], named.get("draw"), named["away"]
    if len(outcomes) == 3:
        return outcomes[0], outcomes[1], outcomes[2]
    if len(outcomes) == 2:
        return outcomes[0], None, outcomes[1]
    return None, None, None
