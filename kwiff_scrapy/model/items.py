"""The items the spiders yield, as plain dataclasses.

``KwiffEvent`` nests its markets and outcomes, which suits JSON and JSON lines
feeds; ``OutcomeRow`` is the same data flattened to one row per outcome for CSV.
Every field but an event's id may be None: the service's data is not guaranteed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    id: int | None = None
    name: str | None = None
    #: Decimal odds (6.0 for a 5/1 price).
    odds: float | None = None
    fractional: str | None = None


@dataclass
class Market:
    id: int | None = None
    name: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)


@dataclass
class KwiffEvent:
    event_id: int
    sport_id: int | None = None
    sport_name: str | None = None
    competition_id: int | None = None
    competition_name: str | None = None
    home_team: str | None = None
    away_team: str | None = None
    #: ISO 8601, exactly as the service sent it.
    start_time: str | None = None
    betting_status: Any = None
    match_tracker: Any = None
    bet_builder_enabled: bool | None = None
    markets: list[Market] = field(default_factory=list)
    #: ISO 8601 UTC time of the answer that carried the event ("2026-01-20T15:12:06.610Z").
    fetched_at: str | None = None


@dataclass
class OutcomeRow:
    event_id: int
    sport_name: str | None = None
    competition_name: str | None = None
    home_team: str | None = None
    away_team: str | None = None
    start_time: str | None = None
    market_id: int | None = None
    market_name: str | None = None
    outcome_id: int | None = None
    outcome_name: str | None = None
    odds: float | None = None
    fractional: str | None = None
    fetched_at: str | None = None


@dataclass
class PricedGroup:
    """A bet-builder combination of outcomes with the price ``ticket:odds:get`` gave it."""

    event_id: int | None = None
    outcome_ids: list[int] = field(default_factory=list)
    source: int | None = None
    odds: float | None = None
    fractional: str | None = None
    fetched_at: str | None = None
