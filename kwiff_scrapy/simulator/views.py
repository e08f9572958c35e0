"""The JSON shapes of the answers: an event as ``event:list`` and ``event:get`` show it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

from ..model.values import iso_utc
from .fixtures import BASE_DATE, Fixture, fixtures
from .markets import Market
from .prices import LADDER, Price
from .reference import TEAM_IDS

#: The status the service sends for a suspended market or outcome (none means open).
SUSPENDED: Final = "SUSPENDED"

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)


def _iso(moment: datetime) -> str | None:
    """*moment* in the service's time format (:func:`~kwiff_scrapy.model.values.iso_utc`)."""
    return iso_utc((moment - _EPOCH) // _MILLISECOND)


def event_header(
    fixture: Fixture, *, betting_status: str | None = None, in_play: bool = False
) -> dict[str, Any]:
    """The fields every view of an event shares. *betting_status* replaces the fixture's;
    ``"inPlay": true`` is added once the event is in play (before, the key is absent)."""
    header: dict[str, Any] = {
        "id": fixture.id,
        "sportId": fixture.sport,
        "competition": {"id": fixture.competition.id, "name": fixture.competition.name},
        "homeTeam": {"id": TEAM_IDS[fixture.sport, fixture.home], "name": fixture.home},
        "awayTeam": {"id": TEAM_IDS[fixture.sport, fixture.away], "name": fixture.away},
        "startDate": _iso(fixture.start),
        "bettingStatus": fixture.betting_status if betting_status is None else betting_status,
    }
    if in_play:
        header["inPlay"] = True
    header["matchTracker"] = fixture.match_tracker
    header["betBuilderEnabled"] = fixture.bet_builder
    return header


#: The odds and fractional text of the ladder's own prices (most prices), worked out once.
_LADDER_SHOWN: Final = {id(price): (price.odds, price.fractional) for price in LADDER}


def market_view(
    market: Market,
    prices: Iterable[Price] | None = None,
    *,
    detail: bool,
    status: str | None = None,
    outcome_statuses: Sequence[str | None] | None = None,
) -> dict[str, Any]:
    """One market as an answer shows it: ``outcomes`` named by ``outcomeName`` in an
    ``event:list`` (*detail* false), ``selections`` named by ``name`` in an ``event:get``.

    *prices* replace the outcomes' own (in order); a *status* (the market's) or an
    outcome's status is sent only when there is one, as ``"status"``.
    """
    name_key = "name" if detail else "outcomeName"
    outcomes = []
    for k, (outcome, price) in enumerate(
        zip(market.outcomes, prices or (o.price for o in market.outcomes), strict=True)
    ):
        shown = _LADDER_SHOWN.get(id(price))
        odds, fractional = (price.odds, price.fractional) if shown is None else shown
        entry: dict[str, Any] = {
            "id": outcome.id,
            name_key: outcome.label,
            "odds": odds,
            "fractional": fractional,
        }
        if outcome_statuses is not None and outcome_statuses[k] is not None:
            entry["status"] = outcome_statuses[k]
        outcomes.append(entry)
    view: dict[str, Any] = {"id": market.id, "name": market.name}
    if status is not None:
        view["status"] = status
    view["selections" if detail else "outcomes"] = outcomes
    return view


def list_view(fixture: Fixture) -> dict[str, Any]:
    """The ``event:list`` shape: listed markets under ``details.offers``."""
    offers = [market_view(market, detail=False) for market in fixture.markets if market.listed]
    return {**event_header(fixture), "details": {"offers": offers}}


def detail_view(fixture: Fixture) -> dict[str, Any]:
    """The ``event:get`` shape: every market under ``markets``, outcomes as ``selections``."""
    markets = [market_view(market, detail=True) for market in fixture.markets]
    return {**event_header(fixture), "markets": markets}


@lru_cache(maxsize=32)
def cached_list_views(
    seed: int, sport: int, count: int, base: datetime = BASE_DATE
) -> tuple[dict[str, Any], ...]:
    """The ``event:list`` views of :func:`~.fixtures.fixtures`, built once for each
    argument (the list is served again and again)."""
    return tuple(list_view(f) for f in fixtures(seed, sport, count, base))
