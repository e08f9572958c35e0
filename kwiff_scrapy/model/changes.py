"""What changed between two successful answers about an event (pure).

A watch keeps one :class:`EventSnapshot` per event: the latest price and status of
each outcome, nothing that grows with the number of polls. :func:`diff_event`
compares the last snapshot with a new one and returns the changes as items.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from math import fsum
from typing import TYPE_CHECKING, Any, NamedTuple

from .items import EventChange, KwiffEvent, OddsChange
from .odds import DEFAULT_METHOD, MULTIPLICATIVE, fair_odds, market_overround, price_probability
from .values import OPEN_STATUSES as OPEN_STATUSES  # its home is .values; imported from here too
from .values import is_open

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# Kinds of OddsChange.
NEW = "new"
MOVED = "moved"
SUSPENDED = "suspended"
RESUMED = "resumed"
REMOVED = "removed"
ODDS_CHANGE_KINDS = (NEW, MOVED, SUSPENDED, RESUMED, REMOVED)
# Kinds of EventChange (besides NEW and REMOVED).
STATUS = "status"
EVENT_CHANGE_KINDS = (NEW, REMOVED, STATUS)

#: An outcome's identity within its event: its id, else market and outcome names.
OutcomeKey = int | tuple[int | str | None, str | None]
Change = OddsChange | EventChange


class PricePoint(NamedTuple):
    """The last-seen price and state of one outcome (a tuple: a watch keeps thousands)."""

    market_id: int | None
    market_name: str | None
    outcome_id: int | None
    outcome_name: str | None
    odds: float | None
    fractional: str | None
    open: bool
    #: The market's, as OddsChange's fields of these names (None unless a book).
    fair_odds: float | None = None
    market_overround: float | None = None


_new_tuple = tuple.__new__


@dataclass(frozen=True, slots=True)
class EventSnapshot:
    """One event as an answer showed it: header fields and every outcome's price."""

    event_id: int
    sport_name: str | None = None
    competition_name: str | None = None
    home_team: str | None = None
    away_team: str | None = None
    start_time: str | None = None
    betting_status: Any = None
    in_play: bool | None = None
    fetched_at: str | None = None
    outcomes: dict[OutcomeKey, PricePoint] = field(default_factory=dict)

    @classmethod
    def of(cls, event: KwiffEvent, *, priced: bool = False) -> EventSnapshot:
        """The snapshot of *event*. *priced*: its markets' ``overround`` and outcomes'
        ``implied_probability`` are filled in (parsing does it, ``add_probabilities``),
        so they are taken rather than worked out again: the same snapshot, sooner."""
        outcomes: dict[OutcomeKey, PricePoint] = {}
        for market in event.markets:
            market_open = is_open(market.status)
            overround = market.overround if priced else market_overround(market)
            if overround is None:
                fair = None
            elif priced and DEFAULT_METHOD == MULTIPLICATIVE:
                # fair_odds's arithmetic, step for step, on the probabilities at hand.
                implied: list[float] = [o.implied_probability for o in market.outcomes]  # type: ignore[misc]
                total = fsum(implied)
                fair = [1.0 / (probability / total) for probability in implied]
            else:
                fair = fair_odds([outcome.odds for outcome in market.outcomes])  # type: ignore[misc]
            for index, outcome in enumerate(market.outcomes):
                key: OutcomeKey = (
                    outcome.id
                    if outcome.id is not None
                    else (market.id if market.id is not None else market.name, outcome.name)
                )
                status = outcome.status
                # tuple.__new__ skips the NamedTuple's Python-level __new__ (thousands a poll).
                outcomes[key] = _new_tuple(
                    PricePoint,
                    (
                        market.id,
                        market.name,
                        outcome.id,
                        outcome.name,
                        outcome.odds,
                        outcome.fractional,
                        market_open and (status is None or is_open(status)),
                        fair[index] if fair is not None else None,
                        overround,
                    ),
                )
        return cls(
            event_id=event.event_id,
            sport_name=event.sport_name,
            competition_name=event.competition_name,
            home_team=event.home_team,
            away_team=event.away_team,
            start_time=event.start_time,
            betting_status=event.betting_status,
            in_play=event.in_play,
            fetched_at=event.fetched_at,
            outcomes=outcomes,
        )


#: The header fields of an event's snapshot (all but its id and its outcomes), in order.
SNAPSHOT_HEADER: tuple[str, ...] = tuple(
    item.name for item in fields(EventSnapshot) if item.name not in {"event_id", "outcomes"}
)


def diff_event(
    previous: EventSnapshot | None, current: EventSnapshot | None, *, seen_at: str | None = None
) -> list[Change]:
    """The changes from *previous* to *current* (None: the event is not known / is gone).

    An event that appears gives an ``EventChange`` ``new`` and one ``OddsChange``
    ``new`` per outcome; one that disappears, ``removed`` for it and each outcome.
    *seen_at* is the time of the answer that showed the change when *current* is
    None (its own ``fetched_at`` otherwise).
    """
    fetched_at = current.fetched_at if current is not None else seen_at
    if previous is None and current is None:
        return []
    changes: list[Change] = []
    event_kind = _event_change_kind(previous, current)
    if event_kind is not None:
        changes.append(_event_change(event_kind, previous, current, fetched_at))
    before = previous.outcomes if previous is not None else {}
    after = current.outcomes if current is not None else {}
    header = current if current is not None else previous
    assert header is not None
    for key, now in after.items():
        was = before.get(key)
        if was == now:  # most outcomes, most polls: no change (a tuple comparison, in C)
            continue
        kind = _odds_change_kind(was, now)
        if kind is not None:
            changes.append(_odds_change(kind, header, previous, fetched_at, was, now))
    for key, was in before.items():
        if key not in after:
            changes.append(_odds_change(REMOVED, header, previous, fetched_at, was, None))
    return changes


def relative_change(previous: float | None, current: float | None) -> float | None:
    """How far a price moved, relative to where it was: ``(current - previous) / previous``.

    The earlier price comes first: ``relative_change(2.0, 2.5)`` is ``0.25``. None where
    either price is missing, or the earlier one is 0. Every relative change of the odds in
    the package (change items, alerts, the history's movers) is this one.
    """
    if previous is None or current is None or previous == 0:
        return None
    return (current - previous) / previous


def _event_change_kind(previous: EventSnapshot | None, current: EventSnapshot | None) -> str | None:
    if previous is None:
        return NEW
    if current is None:
        return REMOVED
    if (previous.betting_status, previous.in_play) != (current.betting_status, current.in_play):
        return STATUS
    return None


def _odds_change_kind(was: PricePoint | None, now: PricePoint) -> str | None:
    if was is None:
        return NEW
    if was.open != now.open:
        return RESUMED if now.open else SUSPENDED
    if was.odds != now.odds:
        return MOVED
    return None


def _event_change(
    kind: str,
    previous: EventSnapshot | None,
    current: EventSnapshot | None,
    fetched_at: str | None,
) -> EventChange:
    header = current if current is not None else previous
    assert header is not None
    return EventChange(
        event_id=header.event_id,
        home_team=header.home_team,
        away_team=header.away_team,
        competition_name=header.competition_name,
        start_time=header.start_time,
        kind=kind,
        betting_status=current.betting_status if current is not None else None,
        previous_betting_status=previous.betting_status if previous is not None else None,
        in_play=header.in_play,
        fetched_at=fetched_at,
    )


def _odds_change(
    kind: str,
    header: EventSnapshot,
    previous: EventSnapshot | None,
    fetched_at: str | None,
    was: PricePoint | None,
    now: PricePoint | None,
) -> OddsChange:
    point = now if now is not None else was
    assert point is not None
    odds = now.odds if now is not None else None
    previous_odds = was.odds if was is not None else None
    return OddsChange(
        event_id=header.event_id,
        sport_name=header.sport_name,
        competition_name=header.competition_name,
        home_team=header.home_team,
        away_team=header.away_team,
        start_time=header.start_time,
        market_id=point.market_id,
        market_name=point.market_name,
        outcome_id=point.outcome_id,
        outcome_name=point.outcome_name,
        kind=kind,
        odds=odds,
        previous_odds=previous_odds,
        fractional=now.fractional if now is not None else None,
        previous_fractional=was.fractional if was is not None else None,
        change=relative_change(previous_odds, odds),
        fetched_at=fetched_at,
        previous_fetched_at=previous.fetched_at if previous is not None else None,
        implied_probability=price_probability(odds),
        previous_implied_probability=price_probability(previous_odds),
        fair_odds=now.fair_odds if now is not None else None,
        market_overround=now.market_overround if now is not None else None,
    )


@dataclass
class Comparison:
    """The changes an answer shows, and the snapshots to keep for the next comparison."""

    changes: list[Change] = field(default_factory=list)
    writes: dict[int, EventSnapshot] = field(default_factory=dict)
    deletes: list[int] = field(default_factory=list)


def compare_list(
    previous: Mapping[int, EventSnapshot],
    known: Iterable[int],
    listed: Mapping[int, EventSnapshot],
    *,
    compare_listed: bool,
    complete: bool,
    seen_at: str | None,
) -> Comparison:
    """An ``event:list`` answer against the snapshots of the events *known* so far.

    *compare_listed*: compare every listed event (without ``details``; with it, the
    events' own ``event:get`` answers are compared). *complete*: every entry of the
    list could be read, so a known event missing from it is gone (``removed``).
    *previous* needs the snapshots of the listed events (if compared) and of the gone.
    """
    comparison = Comparison()
    if compare_listed:
        for event_id, snapshot in listed.items():
            comparison.changes += diff_event(previous.get(event_id), snapshot)
            comparison.writes[event_id] = snapshot
    if complete:
        for event_id in sorted(set(known) - listed.keys()):
            comparison.changes += diff_event(previous.get(event_id), None, seen_at=seen_at)
            comparison.deletes.append(event_id)
    return comparison


def compare_event(
    event_id: int,
    previous: EventSnapshot | None,
    current: EventSnapshot | None,
    *,
    seen_at: str | None,
) -> Comparison:
    """An ``event:get`` answer (``current`` None: the service has no such event any more)."""
    changes = diff_event(previous, current, seen_at=seen_at)
    if current is None:
        return Comparison(changes, deletes=[event_id])
    return Comparison(changes, writes={event_id: current})
