"""The items the spiders yield, as plain dataclasses.

``KwiffEvent`` nests its markets and outcomes, which suits JSON and JSON lines
feeds; ``OutcomeRow`` is the same data flattened to one row per outcome for CSV.
``OddsChange`` and ``EventChange`` are what the watch spider yields when prices or
events change. Every field but an event's id may be None: the service's data is
not guaranteed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


# Slotted: an event list makes some 15,000 outcomes and 3,000 markets, which build
# faster and weigh less without an instance dict each.
@dataclass(slots=True)
class Outcome:
    id: int | None = None
    name: str | None = None
    #: Decimal odds (6.0 for a 5/1 price).
    odds: float | None = None
    fractional: str | None = None
    #: The outcome's own status as the service sends it (``"suspended"``...); None when
    #: it sends none, which means open.
    status: str | None = None


@dataclass(slots=True)
class Market:
    id: int | None = None
    name: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    #: The market's status as the service sends it; None when it sends none (open).
    status: str | None = None


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
    #: True while the event is being played (``inPlay``), None if the service does not say.
    in_play: bool | None = None
    match_tracker: Any = None
    bet_builder_enabled: bool | None = None
    markets: list[Market] = field(default_factory=list)
    #: ISO 8601 UTC time of the answer that carried the event ("2026-01-20T15:12:06.610Z").
    fetched_at: str | None = None


@dataclass
class EventHeaderFields:
    """The event's fields that every outcome-level item (``OutcomeRow``, ``OddsChange``)
    repeats, first and in this order, so that a flat row says which event it is about."""

    event_id: int
    sport_name: str | None = None
    competition_name: str | None = None
    home_team: str | None = None
    away_team: str | None = None
    #: ISO 8601, exactly as the service sent it.
    start_time: str | None = None


@dataclass
class OutcomeRow(EventHeaderFields):
    market_id: int | None = None
    market_name: str | None = None
    outcome_id: int | None = None
    outcome_name: str | None = None
    odds: float | None = None
    fractional: str | None = None
    #: The outcome's status, else its market's (None: open).
    status: str | None = None
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


@dataclass
class OddsChange(EventHeaderFields):
    """One outcome that changed between two successful polls of the watch.

    ``kind``: ``new`` (not seen before), ``moved`` (odds changed), ``suspended`` /
    ``resumed`` (the outcome's or its market's status left / returned to open),
    ``removed`` (the outcome or its whole event is gone). ``change`` is the relative
    change of the decimal odds, ``(odds - previous_odds) / previous_odds``, None where
    either is missing.
    """

    market_id: int | None = None
    market_name: str | None = None
    outcome_id: int | None = None
    outcome_name: str | None = None
    kind: str = "moved"
    odds: float | None = None
    previous_odds: float | None = None
    fractional: str | None = None
    previous_fractional: str | None = None
    change: float | None = None
    fetched_at: str | None = None
    previous_fetched_at: str | None = None


@dataclass
class EventChange:
    """An event that appeared (``new``), disappeared (``removed``) or changed status
    (``status``: its betting status or whether it is in play)."""

    event_id: int
    home_team: str | None = None
    away_team: str | None = None
    competition_name: str | None = None
    start_time: str | None = None
    kind: str = "status"
    betting_status: Any = None
    previous_betting_status: Any = None
    in_play: bool | None = None
    fetched_at: str | None = None
