"""What the history stores of an item, as plain records (pure: no database here).

:func:`observe` turns any item that carries prices into one :class:`Observation`:
the event's header fields it knows, the markets it names and one :class:`PriceRecord`
per outcome (or bet-builder group). The pipeline calls it in ``process_item``, on the
event loop, so it is quick and never touches the database.

Keys. An outcome is known within its event by its Kwiff id (``"107441600101"``); one
without an id by its market and name (``"m:1074416001/Draw"``); a bet-builder group by
its sorted outcome ids (``"bb:107441600101+107441600301"``). A market by its id, else
``"name:<its name>"``; the groups of an event share the market ``"betbuilder"``.

Status. A price's status is the outcome's status, else its market's, as in
:class:`~kwiff_scrapy.model.items.OutcomeRow`, stored normalised: None for open
(:func:`~kwiff_scrapy.model.changes.is_open`), otherwise lower case (``"suspended"``).
The watch's items say less: an ``OddsChange`` ``suspended`` is stored as
``"suspended"``, ``removed`` as ``"removed"`` (with no odds: the outcome went away),
``new`` and ``resumed`` as open, and ``moved`` keeps the status stored before it
(:data:`KEEP_STATUS`). A ``PricedGroup`` the service could not price is stored with
no odds and the status ``"unpriced"``.

Signals and event states. An :class:`~kwiff_scrapy.model.signals.OddsSignal` becomes one
:class:`SignalRecord`, keyed by its rule, event, ``fetched_at`` and *subject*
(:func:`signal_subject`): a signal is stored once, however often it is sent. An
``EventChange`` also becomes an :class:`EventStateRecord` (its kind and ``in_play`` at
its time), so that a replay of the history knows when an event was in play.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

from ..model.changes import MOVED, REMOVED, SUSPENDED, is_open
from ..model.items import (
    EventChange,
    EventHeaderFields,
    KwiffEvent,
    OddsChange,
    OutcomeRow,
    PricedGroup,
)
from ..model.signals import DRIFT, DROP, MARGIN, STEAM, OddsSignal

#: The market key shared by an event's bet-builder groups, and its name.
BET_BUILDER_MARKET: Final = "betbuilder"
BET_BUILDER_NAME: Final = "Bet builder"
GROUP_KEY_PREFIX: Final = "bb:"
#: Status of a price row for an outcome that went away, and a group with no price.
REMOVED_STATUS: Final = "removed"
UNPRICED_STATUS: Final = "unpriced"
#: A price's status when it is whatever was stored before it (an ``OddsChange`` ``moved``).
KEEP_STATUS: Final = "\x00keep"


@dataclass(frozen=True, slots=True)
class EventHeader:
    """An event's fields as one item shows them; None: the item does not say."""

    event_id: int
    sport_id: int | None = None
    sport_name: str | None = None
    competition_id: int | None = None
    competition_name: str | None = None
    home_team: str | None = None
    away_team: str | None = None
    start_ms: int | None = None
    betting_status: str | None = None
    in_play: bool | None = None

    def merged(self, older: EventHeader | None) -> EventHeader:
        """These fields, each one this item does not say taken from *older*."""
        if older is None:
            return self
        return EventHeader(
            self.event_id,
            *(
                new if new is not None else old
                for new, old in zip(_fields(self)[1:], _fields(older)[1:], strict=True)
            ),
        )


def _fields(header: EventHeader) -> tuple[Any, ...]:
    return (
        header.event_id,
        header.sport_id,
        header.sport_name,
        header.competition_id,
        header.competition_name,
        header.home_team,
        header.away_team,
        header.start_ms,
        header.betting_status,
        header.in_play,
    )


@dataclass(frozen=True, slots=True)
class MarketRecord:
    event_id: int
    key: str
    market_id: int | None
    name: str | None


@dataclass(frozen=True, slots=True)
class PriceRecord:
    """One outcome's price at one moment."""

    event_id: int
    market_key: str
    outcome_key: str
    outcome_id: int | None
    outcome_name: str | None
    fetched_ms: int
    odds: float | None
    fractional: str | None
    status: str | None
    """Normalised (None: open), or :data:`KEEP_STATUS`."""
    reported_change: bool = False
    """A watch reported it as a change (an ``OddsChange``), not part of a snapshot."""


@dataclass(frozen=True, slots=True)
class SignalRecord:
    """An :class:`~kwiff_scrapy.model.signals.OddsSignal` as a row of ``kwiff_signals``."""

    rule: str
    kind: str
    event_id: int
    fetched_ms: int
    subject: str
    """What fired: ``outcome:<outcome key>``, ``market:<market key>`` or ``event``."""
    home_team: str | None
    away_team: str | None
    competition_name: str | None
    start_ms: int | None
    market_id: int | None
    market_name: str | None
    outcome_id: int | None
    outcome_name: str | None
    outcomes: str
    """The signal's ``outcomes`` list as JSON."""
    markets: str
    """The signal's ``markets`` list as JSON."""
    window: float
    from_odds: float | None
    to_odds: float | None
    change: float | None
    probability_change: float | None
    strength: float
    first_seen_ms: int | None
    in_play: bool | None


@dataclass(frozen=True, slots=True)
class EventStateRecord:
    """An ``EventChange``: the event appeared, changed status or went, at ``fetched_ms``."""

    event_id: int
    fetched_ms: int
    kind: str
    in_play: bool | None
    betting_status: str | None


@dataclass(slots=True)
class Observation:
    """Everything one item says that the history keeps."""

    header: EventHeader | None = None
    markets: list[MarketRecord] = field(default_factory=list)
    prices: list[PriceRecord] = field(default_factory=list)
    #: Outcomes the item carried that cannot be keyed (no id and no name).
    skipped: int = 0
    #: The event is gone (an ``EventChange`` ``removed``): its cached prices may be let go.
    event_removed: bool = False
    signals: list[SignalRecord] = field(default_factory=list)
    #: An ``EventChange``'s kind and state at its time.
    state: EventStateRecord | None = None

    @property
    def empty(self) -> bool:
        return self.header is None and not self.prices and not self.signals


def observe(item: Any, now: datetime | None = None) -> Observation | None:
    """The records of *item*; None for an item that carries no prices or event.

    *now* (default: the current time) stands in for an item without ``fetched_at``.
    """
    if isinstance(item, KwiffEvent):
        return _observe_event(item, now)
    if isinstance(item, OutcomeRow):
        return _observe_row(item, now)
    if isinstance(item, OddsChange):
        return _observe_change(item, now)
    if isinstance(item, EventChange):
        return _observe_event_change(item, now)
    if isinstance(item, PricedGroup):
        return _observe_group(item, now)
    if isinstance(item, OddsSignal):
        return Observation(signals=[signal_record(item, now)])
    return None


# -- one function per item type ----------------------------------------------------------


def _observe_event(event: KwiffEvent, now: datetime | None) -> Observation:
    fetched = fetched_ms(event.fetched_at, now)
    seen = Observation(
        header=EventHeader(
            event.event_id,
            event.sport_id,
            event.sport_name,
            event.competition_id,
            event.competition_name,
            event.home_team,
            event.away_team,
            start_ms(event.start_time),
            _betting_status(event.betting_status),
            event.in_play,
        )
    )
    for market in event.markets:
        market_key = _market_key(market.id, market.name)
        seen.markets.append(MarketRecord(event.event_id, market_key, market.id, market.name))
        market_status = market.status
        for outcome in market.outcomes:
            outcome_key = _outcome_key(market_key, outcome.id, outcome.name)
            if outcome_key is None:
                seen.skipped += 1
                continue
            status = outcome.status if outcome.status is not None else market_status
            seen.prices.append(
                PriceRecord(
                    event.event_id,
                    market_key,
                    outcome_key,
                    outcome.id,
                    outcome.name,
                    fetched,
                    outcome.odds,
                    outcome.fractional,
                    normal_status(status),
                )
            )
    return seen


def _observe_row(row: OutcomeRow, now: datetime | None) -> Observation:
    seen = Observation(header=_partial_header(row))
    market_key = _market_key(row.market_id, row.market_name)
    seen.markets.append(MarketRecord(row.event_id, market_key, row.market_id, row.market_name))
    outcome_key = _outcome_key(market_key, row.outcome_id, row.outcome_name)
    if outcome_key is None:
        seen.skipped += 1
        return seen
    seen.prices.append(
        PriceRecord(
            row.event_id,
            market_key,
            outcome_key,
            row.outcome_id,
            row.outcome_name,
            fetched_ms(row.fetched_at, now),
            row.odds,
            row.fractional,
            normal_status(row.status),
        )
    )
    return seen


def _observe_change(change: OddsChange, now: datetime | None) -> Observation:
    seen = Observation(header=_partial_header(change))
    market_key = _market_key(change.market_id, change.market_name)
    seen.markets.append(
        MarketRecord(change.event_id, market_key, change.market_id, change.market_name)
    )
    outcome_key = _outcome_key(market_key, change.outcome_id, change.outcome_name)
    if outcome_key is None:
        seen.skipped += 1
        return seen
    status: str | None
    if change.kind == REMOVED:
        odds, fractional, status = None, None, REMOVED_STATUS
    else:
        odds, fractional = change.odds, change.fractional
        status = {SUSPENDED: SUSPENDED, MOVED: KEEP_STATUS}.get(change.kind)
    seen.prices.append(
        PriceRecord(
            change.event_id,
            market_key,
            outcome_key,
            change.outcome_id,
            change.outcome_name,
            fetched_ms(change.fetched_at, now),
            odds,
            fractional,
            status,
            reported_change=True,
        )
    )
    return seen


def _observe_event_change(change: EventChange, now: datetime | None) -> Observation:
    header = EventHeader(
        change.event_id,
        competition_name=change.competition_name,
        home_team=change.home_team,
        away_team=change.away_team,
        start_ms=start_ms(change.start_time),
        betting_status=_betting_status(change.betting_status),
        in_play=change.in_play,
    )
    state = EventStateRecord(
        change.event_id,
        fetched_ms(change.fetched_at, now),
        change.kind,
        change.in_play,
        header.betting_status,
    )
    return Observation(header=header, event_removed=change.kind == REMOVED, state=state)


def _observe_group(group: PricedGroup, now: datetime | None) -> Observation | None:
    if group.event_id is None or not group.outcome_ids:
        return Observation(skipped=1)
    event_id = group.event_id
    key = GROUP_KEY_PREFIX + "+".join(str(i) for i in sorted(group.outcome_ids))
    return Observation(
        header=EventHeader(event_id),
        markets=[MarketRecord(event_id, BET_BUILDER_MARKET, None, BET_BUILDER_NAME)],
        prices=[
            PriceRecord(
                event_id,
                BET_BUILDER_MARKET,
                key,
                None,
                None,
                fetched_ms(group.fetched_at, now),
                group.odds,
                group.fractional,
                None if group.odds is not None else UNPRICED_STATUS,
            )
        ],
    )


def signal_record(signal: OddsSignal, now: datetime | None = None) -> SignalRecord:
    """The row of *signal* (*now* stands in for a missing ``fetched_at``)."""
    return SignalRecord(
        rule=signal.rule,
        kind=signal.kind,
        event_id=signal.event_id,
        fetched_ms=fetched_ms(signal.fetched_at, now),
        subject=signal_subject(signal),
        home_team=signal.home_team,
        away_team=signal.away_team,
        competition_name=signal.competition_name,
        start_ms=start_ms(signal.start_time),
        market_id=signal.market_id,
        market_name=signal.market_name,
        outcome_id=signal.outcome_id,
        outcome_name=signal.outcome_name,
        outcomes=json.dumps(list(signal.outcomes), ensure_ascii=False),
        markets=json.dumps(list(signal.markets), ensure_ascii=False),
        window=signal.window,
        from_odds=signal.from_odds,
        to_odds=signal.to_odds,
        change=signal.change,
        probability_change=signal.probability_change,
        strength=signal.strength,
        first_seen_ms=start_ms(signal.first_seen_at),
        in_play=signal.in_play,
    )


def signal_subject(signal: OddsSignal) -> str:
    """What *signal* is about, the last part of its key in the history.

    A rule fires at most once per poll (an event at one ``fetched_at``) for each outcome
    (``drop``, ``drift``: ``outcome:<outcome key>``), each market (``margin`` and ``steam``
    on one market: ``market:<market key>``) or the event (``steam`` across an event,
    ``suspensions``: ``event``). A steam on one market lists the outcome that shortened
    first in ``outcomes``; one across an event lists ``"market / outcome"`` entries.
    """
    market_key = _market_key(signal.market_id, signal.market_name)
    if signal.kind in (DROP, DRIFT):
        outcome_key = _outcome_key(market_key, signal.outcome_id, signal.outcome_name)
        return f"outcome:{outcome_key or ''}"
    if signal.kind == MARGIN or (
        signal.kind == STEAM
        and signal.outcomes
        and signal.outcomes[0] == (signal.outcome_name or "")
    ):
        return f"market:{market_key}"
    return "event"


def _partial_header(item: EventHeaderFields) -> EventHeader:
    return EventHeader(
        item.event_id,
        sport_name=item.sport_name,
        competition_name=item.competition_name,
        home_team=item.home_team,
        away_team=item.away_team,
        start_ms=start_ms(item.start_time),
    )


# -- keys and values ---------------------------------------------------------------------


def _market_key(market_id: int | None, name: str | None) -> str:
    if market_id is not None:
        return str(market_id)
    return f"name:{name or ''}"


def _outcome_key(market_key: str, outcome_id: int | None, name: str | None) -> str | None:
    if outcome_id is not None:
        return str(outcome_id)
    if name is None:
        return None
    return f"m:{market_key}/{name}"


def group_outcome_ids(outcome_key: str) -> list[int] | None:
    """The outcome ids of a bet-builder group's key; None for any other key."""
    if not outcome_key.startswith(GROUP_KEY_PREFIX):
        return None
    try:
        return [int(part) for part in outcome_key.removeprefix(GROUP_KEY_PREFIX).split("+")]
    except ValueError:
        return None


def normal_status(status: str | None) -> str | None:
    """None for an open status (or none sent), else the status in lower case."""
    if is_open(status):
        return None
    assert status is not None
    return status.strip().lower()


def _betting_status(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def fetched_ms(value: str | None, now: datetime | None = None) -> int:
    """Milliseconds since the epoch of an answer's ``fetched_at``; *now* (else the
    current time) when it is missing or unreadable."""
    ms = parse_time_ms(value) if value is not None else None
    if ms is None:
        ms = to_ms(now or datetime.now(UTC))
    return ms


def start_ms(value: str | None) -> int | None:
    return parse_time_ms(value) if value is not None else None


@lru_cache(maxsize=4096)
def parse_time_ms(value: str) -> int | None:
    """``2026-01-20T15:12:06.610Z`` as milliseconds since the epoch (UTC when no zone)."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return to_ms(moment)


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
