"""Detectors: the watch's changes in, :class:`~.signals.OddsSignal` items out.

Pure: no I/O and no wall clock. :meth:`SignalDetectors.feed` takes ``OddsChange`` and
``EventChange`` items in the order the watch yields them; the time is each change's
``fetched_at`` (the service's clock), so replaying stored changes gives the signals the
live watch gave. The consecutive changes of one event with one ``fetched_at`` (what
one answer changed about it) form a *poll*; the rules look at a poll once it is
complete: when a change of another poll arrives, or at :meth:`~SignalDetectors.flush`.
So feeding changes in one batch or in many, then flushing, gives the same signals.

State is bounded by the windows: per outcome the prices inside the longest window of
the price rules (plus the price in effect at its start), per market its overrounds
inside the longest ``margin`` window, per event its suspensions inside the longest
``suspensions`` window, per rule the last signal of each outcome, market or event
inside its cooldown. A removed event (its cooldowns too) or outcome is forgotten. An
outcome and a market are records (tuples) the garbage collector untracks
(:mod:`.detector_state`).

Every rule looks at one event at a time, and all the state is kept per event, each with
its own clock (a poll's time is its ``fetched_at``, or the event's last poll time if that
is later: answers may come back out of order). So detectors given one event's state
(:meth:`SignalDetectors.event_state`, :meth:`~SignalDetectors.restore`) carry on as
those that kept it would: a shared watch keeps each event's state in Redis
(:mod:`.detector_records`).

What each rule counts (X: ``change``, P: ``points``, W: the window):

- ``drop``: an outcome's odds are now at least X below the highest price it had inside
  W (relative), or its implied probability at least P above that price's. Measured
  from the extreme, so a steady slide fires at the poll where it crosses the threshold.
- ``drift``: the same upwards, from the lowest price inside W.
- ``steam`` on one market: an outcome that moved in this poll is at least X below its
  highest price inside W, and every other open, priced outcome of its market is above
  its own lowest price inside W (money on one side). One signal per market and poll,
  for the outcome that shortened most.
- ``steam`` across an event (``outcomes`` N, 0 for off): at least N open outcomes of
  one event, in any of its markets, are each at least X below their highest price
  inside W, and one of them moved in this poll. Strength: outcomes counted over N.
- ``margin``: a market that has an overround (:func:`.odds.is_book`: a book by its name,
  every outcome open and priced, two at least) has one at least P above the lowest, or
  below the highest, it had inside W.
- ``suspensions``: at least N distinct markets of one event had an outcome suspended
  inside the last W seconds. Strength: markets counted over N.

Filters: ``markets`` (the outcome's market; the markets counted for steam across an
event and for suspensions), ``competitions``, ``in_play`` (the event's last known
state), ``min_odds`` / ``max_odds`` (the outcome's current odds; every price of the
market for ``margin``; the suspended outcome's last price for ``suspensions``).

Cooldown: once a rule fired for an outcome (``drop``, ``drift``), a market (``steam``
on one market, ``margin``) or an event (``steam`` across it, ``suspensions``), it
fires again for the same one within ``cooldown`` minutes only if its strength is at
least ``1 + growth`` times the last signal's (the default growth 1.0: doubled).
"""

from __future__ import annotations

import functools
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from .changes import NEW, REMOVED, RESUMED, SUSPENDED, relative_change
from .detector_legacy import MarketState, OutcomeState, Window  # noqa: F401 (main's pickles)
from .detector_state import (
    M_BOOK,
    M_HIGH,
    M_ID,
    M_KEYS,
    M_LOW,
    M_NAME,
    M_OVERROUNDS,
    O_HIGH,
    O_ID,
    O_LOW,
    O_NAME,
    O_ODDS,
    O_OPEN,
    O_PRICES,
    MarketRecord,
    OutcomeRecord,
    Points,
    add_point,
    bounds,
    flat,
    live_odds,
    new_market,
    new_outcome,
    since,
)
from .items import EventChange, OddsChange
from .odds import implied_probability, is_book_name
from .signals import DRIFT, DROP, MARGIN, STEAM, SUSPENSIONS, OddsSignal
from .values import iso_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from .changes import Change
    from .signal_rules import SignalRule

    #: A rule's filters of the outcomes: (markets, min odds, max odds).
    Filters = tuple[frozenset[str], float | None, float | None]
    #: What looks at a rule for a poll: (rule, event, poll, the outcomes priced in the poll
    #: that pass the rule's filters, whole, signals out).
    Fire = Callable[
        [SignalRule, "EventState", "Poll", list["Priced"], bool, list[OddsSignal]], None
    ]
    #: (rule, fire, whole, the number of its filters (-1: none, NO_PRICES: it does not look
    #: at prices), whether it filters the event).
    Plan = tuple[SignalRule, Fire, bool, int, bool]

#: The number of filters (see SignalDetectors._plan) of a rule that does not look at the
#: outcomes priced in a poll (``margin``, ``suspensions``).
NO_PRICES = -2
#: Slack on thresholds: a move of exactly 10 % in decimal (2.0 to 1.8) is 9.99...% in binary.
EPSILON = 1e-9
PRICE_KINDS = (DROP, DRIFT, STEAM)

MarketKey = int | str | None
OutcomeKey = int | tuple[MarketKey, str | None]
#: An outcome priced now: its keys, its market's and its own state, and its odds.
Priced = tuple[MarketKey, OutcomeKey, MarketRecord, OutcomeRecord, float]
#: ``(rule name, scope, subject)``: scope ``outcome``, ``market`` or ``event``.
CooldownKey = tuple[str, str, Any]


def clock_of(fetched_at: str | None) -> float | None:
    """Seconds since the epoch of an ISO 8601 time (naive means UTC); None if unreadable."""
    if not fetched_at:
        return None
    try:
        moment = datetime.fromisoformat(fetched_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@functools.lru_cache(maxsize=4096)  # signals of one poll, and of polls near, share times
def iso_of(clock: float) -> str | None:
    return iso_utc(round(clock * 1000))


@dataclass(slots=True)
class EventState:
    event_id: int
    home_team: str | None = None
    away_team: str | None = None
    competition_name: str | None = None
    start_time: str | None = None
    in_play: bool | None = None
    #: Its markets, in the order first seen (:data:`.detector_state.MarketRecord`).
    markets: dict[MarketKey, MarketRecord] = field(default_factory=dict)
    #: ``(time, market key, market name, the suspended outcome's last price)``.
    suspensions: deque[tuple[float, MarketKey, str | None, float | None]] = field(
        default_factory=deque
    )
    #: Its outcomes with two prices or more kept: the only ones that can have moved.
    moving: dict[tuple[MarketKey, OutcomeKey], None] = field(default_factory=dict)
    #: The time of its last poll: its clock never runs back.
    clock: float | None = None
    #: Each rule's last signal about it, its markets or outcomes: ``(time, strength)``.
    cooldowns: dict[CooldownKey, tuple[float, float]] = field(default_factory=dict)
    #: Those of :attr:`moving` whose price, when it was last kept, was far enough below
    #: the highest price kept for the smallest ``change`` of the steam rules across an
    #: event: the only ones that can count for them. Derived (:meth:`SignalDetectors.
    #: restore`), so records and pickles made without it carry on.
    steaming: dict[tuple[MarketKey, OutcomeKey], None] = field(default_factory=dict)
    #: Its outcomes by ``(market key, outcome key)`` (:data:`.detector_state.
    #: OutcomeRecord`). The last field: a pickle of the earlier layout (its markets held
    #: their outcomes, and it had no such field) still loads (see
    #: :meth:`SignalDetectors.__setstate__`).
    outcomes: dict[tuple[MarketKey, OutcomeKey], OutcomeRecord] = field(default_factory=dict)

    def header(self, change: OddsChange | EventChange) -> None:
        for name in ("home_team", "away_team", "competition_name", "start_time"):
            value = getattr(change, name)
            if value is not None:
                setattr(self, name, value)

    def book_prices(self, market_key: MarketKey) -> list[float] | None:
        """Every outcome's price of a market if it has an overround now
        (:func:`.odds.is_book`); learns whether its name makes it a book."""
        market = self.markets[market_key]
        outcomes = self.outcomes
        keys = market[M_KEYS]
        live = []
        for keys_of in keys:
            outcome = outcomes[keys_of]
            odds = outcome[O_ODDS]
            if outcome[O_OPEN] and odds is not None and odds > 1:
                live.append(odds)
        if len(live) < 2 or len(live) != len(keys):
            return None
        book = market[M_BOOK]
        if book is None:
            # Every outcome open and priced: what is_book decides now holds for the name.
            book = is_book_name(market[M_NAME])
            self.markets[market_key] = (*market[:M_BOOK], book, *market[M_BOOK + 1 :])
        return live if book else None


def _from_legacy(event: EventState) -> None:
    """Turn *event*, unpickled from the layout of classes (:mod:`.detector_legacy`),
    into records, in place."""
    markets: dict[MarketKey, MarketRecord] = {}
    outcomes: dict[tuple[MarketKey, OutcomeKey], OutcomeRecord] = {}
    for market_key, market in event.markets.items():
        if not isinstance(market, MarketState):
            return  # records already
        keys = []
        for outcome_key, outcome in market.outcomes.items():
            keys.append((market_key, outcome_key))
            prices = flat(outcome)
            high, low = bounds(prices)
            outcomes[(market_key, outcome_key)] = (
                outcome.outcome_id,
                outcome.outcome_name,
                outcome.odds,
                outcome.open,
                high,
                low,
                prices,
            )
        overrounds = flat(market)
        high, low = bounds(overrounds)
        markets[market_key] = (
            market.market_id,
            market.market_name,
            market.book,
            tuple(keys),
            high,
            low,
            overrounds,
        )
    event.markets = markets
    event.outcomes = outcomes


@dataclass(slots=True)
class Poll:
    """The changes of one event from one answer, as the rules will look at them."""

    event_id: int
    fetched_at: str
    at: float
    #: ``(market key, outcome key)`` of every outcome priced in this poll, in order.
    outcomes: dict[tuple[MarketKey, OutcomeKey], None] = field(default_factory=dict)
    markets: dict[MarketKey, None] = field(default_factory=dict)
    suspended: bool = False
    #: Its event's state, once a change of this poll has looked it up.
    event: EventState | None = None
    #: Caches of an earlier version, no longer filled: fields still, so that a poll it
    #: pickled (JOBDIR) still loads.
    priced: list[Priced] | None = None
    passing: dict[tuple[frozenset[str], float | None, float | None], list[Priced]] | None = None


class Move(NamedTuple):
    """An outcome's move from the extreme inside a window to its price now."""

    from_odds: float
    first_seen: float
    to_odds: float
    change: float
    probability_change: float
    strength: float


class SignalDetectors:
    """Every configured rule over one stream of changes (see the module's docstring)."""

    def __init__(self, rules: Sequence[SignalRule]) -> None:
        self.rules = tuple(rules)
        self._price_keep = _longest(self.rules, PRICE_KINDS)
        self._margin_keep = _longest(self.rules, (MARGIN,))
        self._suspension_keep = _longest(self.rules, (SUSPENSIONS,))
        #: The smallest change of the steam rules across an event (None: no such rule).
        self._steam_change = min(
            (
                rule.change
                for rule in self.rules
                if rule.kind == STEAM and rule.outcomes and rule.change is not None
            ),
            default=None,
        )
        #: How many distinct filters of the outcomes the rules have (see _plan).
        self._filter_count: int = 0
        self._plans = self._plan()
        #: _mark_steaming's factor (inf: no steam rule across an event) and the seconds of
        #: prices kept: read for every change.
        self._steam_gate = (
            self._steam_change - 2 * EPSILON if self._steam_change is not None else math.inf
        )
        self._keep_prices = self._price_keep or 0.0
        self._cooldown_of = {rule.name: rule.cooldown for rule in self.rules}
        self._longest_cooldown = max(self._cooldown_of.values(), default=0.0)
        self._events: dict[int, EventState] = {}
        self._poll: Poll | None = None
        self._purged_at = -math.inf

    def feed(self, changes: Iterable[Change]) -> list[OddsSignal]:
        """Take *changes* in order; return the signals of every poll they completed.

        A change without a readable ``fetched_at`` has no place on the clock: skipped.
        """
        signals: list[OddsSignal] = []
        # One answer's changes share one time: read it once.
        read_time: str | None = None
        read_at: float | None = None
        events = self._events
        apply_odds = self._apply_odds
        close = self._close
        poll = self._poll
        for change in changes:
            fetched_at = change.fetched_at
            if fetched_at != read_time:
                read_time, read_at = fetched_at, clock_of(fetched_at)
            at = read_at
            if at is None or fetched_at is None:
                continue
            event_id = change.event_id
            if poll is not None and (poll.event_id != event_id or poll.fetched_at != fetched_at):
                self._poll = None
                close(poll, signals)
                poll = None
            if poll is None:
                # Each event's clock never runs back (answers may come out of order).
                event = events.get(event_id)
                if event is not None and event.clock is not None and event.clock > at:
                    at = event.clock
                poll = self._poll = Poll(event_id, fetched_at, at)
            if isinstance(change, OddsChange):
                apply_odds(change, poll)
            else:
                self._apply_event(change, poll)
        return signals

    def flush(self) -> list[OddsSignal]:
        """Close the poll under way (the watch calls this when an answer is done)."""
        poll, self._poll = self._poll, None
        signals: list[OddsSignal] = []
        if poll is not None:
            self._close(poll, signals)
        return signals

    def _close(self, poll: Poll, signals: list[OddsSignal]) -> None:
        """Append to *signals* those of *poll*, complete."""
        event = self._events.get(poll.event_id)
        if event is None:
            return
        at = event.clock = poll.at
        if self._margin_keep is not None and poll.markets:
            self._record_overrounds(event, poll)
        priced = (
            _priced(event, poll.outcomes) if poll.outcomes and self._price_keep is not None else []
        )
        # Rules of several kinds often share their filters (the defaults do): by the
        # number of their filters, those of priced that pass them.
        passing: list[list[Priced] | None] = [None] * self._filter_count
        for rule, fire, whole, filters, event_filter in self._plans:
            if event_filter and not rule.event_matches(event.competition_name, event.in_play):
                continue
            if not priced:
                if filters != NO_PRICES:
                    continue  # a price rule, and no outcome of this poll can have moved
                touched = priced
            elif filters < 0:
                touched = priced
            else:
                touched = passing[filters]  # type: ignore[assignment]
                if touched is None:
                    # SignalRule.market_matches and odds_in_range (the odds are a price).
                    low, high = rule.min_odds, rule.max_odds
                    touched = passing[filters] = [
                        found
                        for found in priced
                        if (not rule.markets or rule.market_matches(found[2][M_NAME]))
                        and (low is None or found[4] >= low)
                        and (high is None or found[4] <= high)
                    ]
            fire(rule, event, poll, touched, whole, signals)
        if at - self._purged_at >= self._longest_cooldown:
            self._purge(at)

    def event_state(self, event_id: int) -> EventState | None:
        """What is kept about one event (None: nothing), its cooldowns over dropped.

        Every rule looks at one event at a time, so detectors with the same rules given
        this state (:meth:`restore`) carry on as these would for that event: a shared
        watch keeps each event's state in Redis (:mod:`.detector_records`).
        """
        event = self._events.get(event_id)
        if event is not None and event.cooldowns:
            event.cooldowns = self._running_cooldowns(event)
        return event

    def restore(self, event: EventState) -> None:
        """Carry on from *event*'s state (from :meth:`event_state`, under the same rules)."""
        self._steaming(event)
        self._events[event.event_id] = event

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled (``JOBDIR``): what follows from the rules and the events' prices is
        derived again, so detectors pickled by an earlier version carry on."""
        fresh = SignalDetectors(state["rules"])
        self.__dict__.update({**fresh.__dict__, **state})
        self._steam_change = fresh._steam_change
        self._plans = fresh._plans
        self._steam_gate = fresh._steam_gate
        self._keep_prices = fresh._keep_prices
        self._filter_count = fresh._filter_count
        for event in self._events.values():
            _from_legacy(event)
            self._steaming(event)
        if self._poll is not None:  # caches an earlier version filled: dropped
            self._poll.passing = None
            self._poll.priced = None
            if self._poll.event is not None:
                _from_legacy(self._poll.event)

    def _steaming(self, event: EventState) -> None:
        """Derive *event*'s :attr:`~EventState.steaming` from its kept prices."""
        event.steaming = {}
        outcomes = event.outcomes
        for keys in event.moving:
            outcome = outcomes.get(keys)
            if outcome is not None and outcome[O_ODDS] is not None:
                self._mark_steaming(event, keys, outcome[O_HIGH], outcome[O_ODDS])

    def _mark_steaming(
        self, event: EventState, keys: tuple[MarketKey, OutcomeKey], high: float, odds: float
    ) -> None:
        change = self._steam_change
        # _far_enough's test of the change: as loose as the loosest rule's.
        if change is not None and high - odds >= (change - 2 * EPSILON) * high:
            event.steaming[keys] = None
        else:
            event.steaming.pop(keys, None)

    @property
    def tracked(self) -> dict[str, int]:
        """How much state is held (for tests and benchmarks): a bounded count of each."""
        events = self._events.values()
        outcomes = [outcome for event in events for outcome in event.outcomes.values()]
        return {
            "events": len(self._events),
            "outcomes": len(outcomes),
            "prices": sum(len(outcome[O_PRICES]) // 2 for outcome in outcomes),
            "overrounds": sum(
                len(market[M_OVERROUNDS]) // 2
                for event in events
                for market in event.markets.values()
            ),
            "suspensions": sum(len(event.suspensions) for event in events),
            "cooldowns": sum(len(event.cooldowns) for event in events),
        }

    # -- state --------------------------------------------------------------------------

    def _apply_event(self, change: EventChange, poll: Poll) -> None:
        if change.kind == REMOVED:
            self._events.pop(change.event_id, None)
            poll.event = None
            return
        event = self._event(change, poll)
        event.in_play = change.in_play

    def _event(self, change: OddsChange | EventChange, poll: Poll) -> EventState:
        """The event of *poll*, made if new; its header taken once a poll (one answer's
        changes of an event carry the same header)."""
        event = poll.event
        if event is None:
            event = self._events.get(change.event_id)
            if event is None:
                event = self._events[change.event_id] = EventState(change.event_id)
            # EventState.header in line.
            if (value := change.home_team) is not None:
                event.home_team = value
            if (value := change.away_team) is not None:
                event.away_team = value
            if (value := change.competition_name) is not None:
                event.competition_name = value
            if (value := change.start_time) is not None:
                event.start_time = value
            poll.event = event
        return event

    def _apply_odds(self, change: OddsChange, poll: Poll) -> None:
        # The cost of every change: add_point, _event and _mark_steaming written out here.
        kind = change.kind
        event = poll.event
        if event is None:
            if kind == REMOVED and change.event_id not in self._events:
                return  # its event went first
            event = self._event(change, poll)
        market_id = change.market_id
        market_key: MarketKey = market_id if market_id is not None else change.market_name
        outcome_id = change.outcome_id
        outcome_key: OutcomeKey = (
            outcome_id if outcome_id is not None else (market_key, change.outcome_name)
        )
        keys = (market_key, outcome_key)
        markets = event.markets
        market = markets.get(market_key)
        outcomes = event.outcomes
        if kind == REMOVED:
            if market is not None:
                outcomes.pop(keys, None)
                event.moving.pop(keys, None)
                event.steaming.pop(keys, None)
                kept = tuple(other for other in market[M_KEYS] if other != keys)
                if kept:
                    markets[market_key] = (*market[:M_KEYS], kept, *market[M_KEYS + 1 :])
                else:
                    del markets[market_key]
            return
        if market is None:
            market = markets[market_key] = new_market(market_id, change.market_name)
        # The record replaced, not changed (see detector_state).
        outcome = outcomes.get(keys)
        if outcome is None:
            outcome = new_outcome(outcome_id, change.outcome_name)
            markets[market_key] = (*market[:M_KEYS], (*market[M_KEYS], keys), *market[M_KEYS + 1 :])
        the_id, name, _, is_open, high, low, prices = outcome
        odds = change.odds
        if kind == SUSPENDED:
            is_open = False
            if self._suspension_keep is not None:
                self._record_suspension(
                    event, poll, market_key, market[M_NAME], change.previous_odds
                )
        elif kind in (NEW, RESUMED):
            is_open = True
        if is_open and odds is not None and odds > 1:  # its live odds
            at = poll.at
            if prices and prices[-2] == at:
                prices, high, low = add_point(prices, high, low, at, odds, self._keep_prices)
            else:
                # add_point's common case: a point of a new time, old points dropped only
                # when the one after them is in effect at the window's start.
                prices = (*prices, at, odds)
                horizon = at - self._keep_prices
                if len(prices) > 2 and prices[2] <= horizon:
                    start, last, stale = 0, len(prices) - 2, False
                    while start < last and prices[start + 2] <= horizon:
                        gone = prices[start + 1]
                        stale = stale or gone in (high, low)
                        start += 2
                    prices = prices[start:]
                    if stale:
                        high, low = bounds(prices)
                if odds > high:
                    high = odds
                if odds < low:
                    low = odds
            outcomes[keys] = (the_id, name, odds, is_open, high, low, prices)
            if len(prices) > 2:
                event.moving[keys] = None
                # _mark_steaming in line.
                if high - odds >= self._steam_gate * high:
                    event.steaming[keys] = None
                else:
                    event.steaming.pop(keys, None)
            else:
                event.moving.pop(keys, None)
                event.steaming.pop(keys, None)
            poll.outcomes[keys] = None
        else:
            outcomes[keys] = (the_id, name, odds, is_open, high, low, prices)
        poll.markets[market_key] = None

    def _record_suspension(
        self,
        event: EventState,
        poll: Poll,
        market_key: MarketKey,
        market_name: str | None,
        last_odds: float | None,
    ) -> None:
        assert self._suspension_keep is not None
        suspensions = event.suspensions
        suspensions.append((poll.at, market_key, market_name, last_odds))
        horizon = poll.at - self._suspension_keep
        while suspensions and suspensions[0][0] <= horizon:
            suspensions.popleft()
        poll.suspended = True

    def _record_overrounds(self, event: EventState, poll: Poll) -> None:
        keep = self._margin_keep
        assert keep is not None
        markets = event.markets
        outcomes = event.outcomes
        at = poll.at
        for market_key in poll.markets:
            market = markets.get(market_key)
            if market is None or market[M_BOOK] is False:  # not a book by its name
                continue
            keys = market[M_KEYS]
            if len(keys) < 2:
                continue
            # EventState.book_prices in line (with the terms of odds.overround's sum).
            inverses = []
            for keys_of in keys:
                outcome = outcomes[keys_of]
                odds = outcome[O_ODDS]
                if not outcome[O_OPEN] or odds is None or not odds > 1:
                    break
                inverses.append(1.0 / odds)
            else:
                if market[M_BOOK] is None:
                    # Every outcome open and priced: is_book's answer now holds for the name.
                    book = is_book_name(market[M_NAME])
                    market = markets[market_key] = (*market[:M_BOOK], book, *market[M_BOOK + 1 :])
                    if not book:
                        continue
                # odds.overround's sum, in the same order: the same float.
                overround = sum(inverses) - 1.0
                overrounds, high, low = add_point(
                    market[M_OVERROUNDS], market[M_HIGH], market[M_LOW], at, overround, keep
                )
                markets[market_key] = (*market[:M_HIGH], high, low, overrounds)

    def _purge(self, now: float) -> None:
        """Forget cooldowns over (they block nothing any more): at most once a cooldown."""
        if now - self._purged_at < self._longest_cooldown:
            return
        self._purged_at = now
        for event in self._events.values():
            if event.cooldowns:
                event.cooldowns = self._running_cooldowns(event)

    def _running_cooldowns(
        self, event: EventState, now: float | None = None
    ) -> dict[CooldownKey, tuple[float, float]]:
        """*event*'s cooldowns still running at *now* (its clock by default)."""
        if now is None:
            now = event.clock if event.clock is not None else -math.inf
        cooldown_of = self._cooldown_of
        return {
            key: last
            for key, last in event.cooldowns.items()
            if now - last[0] < cooldown_of.get(key[0], 0.0)
        }

    # -- rules --------------------------------------------------------------------------

    def _plan(self) -> list[Plan]:
        """Each rule with what looks at it for a poll, decided once.

        A rule of a window as long as the prices (overrounds) are kept holds every price
        kept of an outcome priced in a poll: its extreme is the kept prices' own (whole).
        """
        plans: list[Plan] = []
        numbers: dict[Filters, int] = {}
        for rule in self.rules:
            whole = self._price_keep is not None and rule.window >= self._price_keep
            fire: Fire
            if rule.kind in (DROP, DRIFT):
                fire = _price_moves
            elif rule.kind == STEAM:
                fire = _steam
            elif rule.kind == MARGIN:
                fire = _margin
                whole = self._margin_keep is not None and rule.window >= self._margin_keep
            elif rule.kind == SUSPENSIONS:
                fire = _suspensions
            else:
                continue
            filters = -1  # none
            if fire is _margin or fire is _suspensions:
                filters = NO_PRICES
            elif rule.markets or rule.min_odds is not None or rule.max_odds is not None:
                key = (rule.markets, rule.min_odds, rule.max_odds)
                filters = numbers.setdefault(key, len(numbers))
            event_filter = bool(rule.competitions) or rule.in_play != "any"
            plans.append((rule, fire, whole, filters, event_filter))
        self._filter_count = len(numbers)
        return plans


def _outside_cooldown(
    rule: SignalRule,
    event: EventState,
    scope: str,
    subject: Any,
    at: float,
    strength: float,
) -> bool:
    """True (and remembered) if *rule* may fire for *subject* (of *scope*) of *event* now:
    asked before its signal is made (most candidates are inside a cooldown)."""
    full_key = (rule.name, scope, subject)
    last = event.cooldowns.get(full_key)
    if (
        last is not None
        and at - last[0] < rule.cooldown
        and strength < last[1] * (1 + rule.growth) - EPSILON
    ):
        return False
    event.cooldowns[full_key] = (at, strength)
    return True


def _longest(rules: Sequence[SignalRule], kinds: tuple[str, ...]) -> float | None:
    return max((rule.window for rule in rules if rule.kind in kinds), default=None)


def _move(
    rule: SignalRule,
    outcome: OutcomeRecord,
    now: float,
    odds: float,
    shortening: bool,
    whole: bool = False,
) -> Move | None:
    """The move of an *outcome* priced *odds* now from the extreme of its prices inside
    *rule*'s window (None: none past the thresholds). *whole*: the window holds every
    price kept (the outcome was priced at *now* and the window is as long as they are kept)."""
    prices: Points = outcome[O_PRICES]
    if len(prices) < 4:  # one price, no move
        return None
    # The extreme of every price kept bounds the window's: if even it is not far enough
    # from the price now, no move is.
    bound = outcome[O_HIGH] if shortening else outcome[O_LOW]
    if not _far_enough(rule, bound, odds):
        return None
    return _move_inside(rule, prices, bound, now, odds, shortening, whole)


def _move_inside(
    rule: SignalRule,
    prices: Points,
    bound: float,
    now: float,
    odds: float,
    shortening: bool,
    whole: bool,
) -> Move | None:
    """:func:`_move` once the bound of every price kept (*bound*) is far enough."""
    if whole:
        recent, extreme = prices, bound
    else:
        horizon = now - rule.window  # since() written out
        start = len(prices) - 2
        while start > 0 and prices[start] > horizon:
            start -= 2
        recent = prices[start:] if start else prices
        extreme = max(recent[1::2]) if shortening else min(recent[1::2])
    if (odds >= extreme) if shortening else (odds <= extreme):
        return None
    change = relative_change(extreme, odds)
    assert change is not None
    probability_change = implied_probability(odds) - implied_probability(extreme)
    ratios = []
    if rule.change is not None and abs(change) >= rule.change - EPSILON:
        ratios.append(abs(change) / rule.change)
    if rule.points is not None and abs(probability_change) >= rule.points - EPSILON:
        ratios.append(abs(probability_change) / rule.points)
    if not ratios:
        return None
    first_seen = recent[2 * recent[1::2].index(extreme)]
    return Move(extreme, first_seen, odds, change, probability_change, max(1.0, *ratios))


def _far_enough(rule: SignalRule, extreme: float, odds: float) -> bool:
    """Whether a move from *extreme* to *odds* could pass *rule*'s thresholds (both grow
    with the distance, so a bound on the extreme gives a bound on them)."""
    if math.isinf(extreme):
        return False
    change = rule.change
    # Twice the slack of the thresholds: rounding here never turns a move away.
    if change is not None and abs(odds - extreme) >= (change - 2 * EPSILON) * extreme:
        return True
    points = rule.points
    return points is not None and abs(1 / odds - 1 / extreme) >= points - 2 * EPSILON


def _gate(rule: SignalRule) -> float:
    """The factor of :func:`_far_enough`'s test of the change (inf: no change): the
    callers test it in line, on a bound that is finite (two prices kept at least)."""
    return rule.change - 2 * EPSILON if rule.change is not None else math.inf


def _lengthened(outcome: OutcomeRecord, now: float, window: float) -> bool:
    odds = live_odds(outcome)
    if odds is None or odds <= outcome[O_LOW] * (1 + EPSILON):
        return False
    prices = outcome[O_PRICES]
    horizon = now - window  # since() written out
    start = len(prices) - 2
    while start > 0 and prices[start] > horizon:
        start -= 2
    lowest = min(prices[start + 1 :: 2])
    return odds > lowest * (1 + EPSILON)


def _signal(
    rule: SignalRule, event: EventState, poll: Poll, market: MarketRecord | None, **fields: Any
) -> OddsSignal:
    return OddsSignal(
        rule=rule.name,
        kind=rule.kind,
        event_id=event.event_id,
        home_team=event.home_team,
        away_team=event.away_team,
        competition_name=event.competition_name,
        start_time=event.start_time,
        market_id=market[M_ID] if market is not None else None,
        market_name=market[M_NAME] if market is not None else None,
        window=rule.window,
        fetched_at=poll.fetched_at,
        in_play=event.in_play,
        **fields,
    )


def _move_fields(outcome: OutcomeRecord, move: Move) -> dict[str, Any]:
    return {
        "outcome_id": outcome[O_ID],
        "outcome_name": outcome[O_NAME],
        "from_odds": move.from_odds,
        "to_odds": move.to_odds,
        "change": move.change,
        "probability_change": move.probability_change,
        "first_seen_at": iso_of(move.first_seen),
    }


def _priced(event: EventState, keys: Iterable[tuple[MarketKey, OutcomeKey]]) -> list[Priced]:
    """The outcomes of *event* named by *keys* that are priced now and can have moved."""
    markets = event.markets
    outcomes = event.outcomes
    found = []
    for keys_of in keys:
        outcome = outcomes.get(keys_of)
        if outcome is None:
            continue
        odds = outcome[O_ODDS]
        # Its live odds, and two prices kept at least: every rule that looks at these
        # needs a move (see _move).
        if outcome[O_OPEN] and odds is not None and odds > 1 and len(outcome[O_PRICES]) > 2:
            market_key, outcome_key = keys_of
            found.append((market_key, outcome_key, markets[market_key], outcome, odds))
    return found


def _price_moves(
    rule: SignalRule,
    event: EventState,
    poll: Poll,
    touched: list[Priced],
    whole: bool,
    signals: list[OddsSignal],
) -> None:
    shortening = rule.kind == DROP
    gate = _gate(rule)
    points = rule.points
    at = poll.at
    for _, outcome_key, market, outcome, odds in touched:
        bound = outcome[O_HIGH] if shortening else outcome[O_LOW]
        # Most outcomes, most polls, end here (_move's test of the bound, in line).
        if abs(odds - bound) < gate * bound and (
            points is None or not _far_enough(rule, bound, odds)
        ):
            continue
        move = _move_inside(rule, outcome[O_PRICES], bound, at, odds, shortening, whole)
        if move is None or not _outside_cooldown(
            rule, event, "outcome", outcome_key, at, move.strength
        ):
            continue
        signals.append(
            _signal(
                rule,
                event,
                poll,
                market,
                outcomes=[outcome[O_NAME] or ""],
                markets=[market[M_NAME] or ""],
                strength=move.strength,
                **_move_fields(outcome, move),
            )
        )


def _others(
    event: EventState, market: MarketRecord, keys: tuple[MarketKey, OutcomeKey]
) -> list[OutcomeRecord]:
    """The other outcomes of *market* than *keys*' that are priced now, in order."""
    outcomes = event.outcomes
    return [
        other
        for other_keys in market[M_KEYS]
        if other_keys != keys and live_odds(other := outcomes[other_keys]) is not None
    ]


def _one_side(
    event: EventState,
    market: MarketRecord,
    keys: tuple[MarketKey, OutcomeKey],
    now: float,
    window: float,
) -> bool:
    """Whether *market* has another outcome than *keys*' priced now, and every one of them
    lengthened inside *window* (the first that did not ends the look)."""
    outcomes = event.outcomes
    other_priced = False
    for other_keys in market[M_KEYS]:
        if other_keys == keys:
            continue
        other = outcomes[other_keys]
        odds = other[O_ODDS]
        if not other[O_OPEN] or odds is None or odds <= 1:  # not priced now
            continue
        if not _lengthened(other, now, window):
            return False
        other_priced = True
    return other_priced


def _steam(
    rule: SignalRule,
    event: EventState,
    poll: Poll,
    touched: list[Priced],
    whole: bool,
    signals: list[OddsSignal],
) -> None:
    """A steam rule: on one market, then (with a count) across the event."""
    moves = _market_steam(rule, event, poll, touched, whole, signals)
    if rule.outcomes is not None:
        _event_steam(rule, event, poll, moves, whole, signals)


def _market_steam(
    rule: SignalRule,
    event: EventState,
    poll: Poll,
    touched: list[Priced],
    whole: bool,
    signals: list[OddsSignal],
) -> dict[tuple[MarketKey, OutcomeKey], Move]:
    """Fire *rule*'s steam on one market; the moves of *touched* (for the steam across
    the event, which needs the same)."""
    best: dict[MarketKey, tuple[tuple[MarketKey, OutcomeKey], OutcomeRecord, Move]] = {}
    moves: dict[tuple[MarketKey, OutcomeKey], Move] = {}
    gate = _gate(rule)
    points = rule.points
    at = poll.at
    for market_key, outcome_key, market, outcome, odds in touched:
        high = outcome[O_HIGH]
        if abs(odds - high) < gate * high and (points is None or not _far_enough(rule, high, odds)):
            continue
        move = _move_inside(rule, outcome[O_PRICES], high, at, odds, True, whole)
        if move is None:
            continue
        keys = (market_key, outcome_key)
        moves[keys] = move
        if market_key in best and best[market_key][2].strength >= move.strength:
            continue
        if _one_side(event, market, keys, at, rule.window):
            best[market_key] = (keys, outcome, move)
    for market_key, (keys, outcome, move) in best.items():
        if not _outside_cooldown(rule, event, "market", market_key, at, move.strength):
            continue
        market = event.markets[market_key]
        names = [outcome[O_NAME] or ""] + [
            other[O_NAME] or "" for other in _others(event, market, keys)
        ]
        signals.append(
            _signal(
                rule,
                event,
                poll,
                market,
                outcomes=names,
                markets=[market[M_NAME] or ""],
                strength=move.strength,
                **_move_fields(outcome, move),
            )
        )
    return moves


def _event_steam(
    rule: SignalRule,
    event: EventState,
    poll: Poll,
    moves: dict[tuple[MarketKey, OutcomeKey], Move],
    whole: bool,
    signals: list[OddsSignal],
) -> None:
    """*moves*: those of the outcomes priced in *poll* (see _market_steam)."""
    count = rule.outcomes
    assert count is not None
    steaming = event.steaming  # every outcome that can count is there (see EventState)
    if not moves or len(steaming) < count:
        return  # none moved now (most polls), or too few can count
    at = poll.at
    last = event.cooldowns.get((rule.name, "event", None))
    # Inside its cooldown, the strength a signal needs to fire again.
    enough = (
        last[1] * (1 + rule.growth) - EPSILON
        if last is not None and at - last[0] < rule.cooldown
        else -math.inf
    )
    if len(steaming) / count < enough:
        return  # even every one counting would not be enough
    for keys in moves:  # one of them moved now?
        if keys in steaming:
            break
    else:
        return
    gate = _gate(rule)
    points = rule.points
    found: dict[tuple[MarketKey, OutcomeKey], tuple[MarketRecord, OutcomeRecord, Move]] = {}
    markets = event.markets
    outcomes = event.outcomes
    any_market = not rule.markets
    any_odds = rule.min_odds is None and rule.max_odds is None
    # Given up once even every one left counting would not be enough (nothing fires then).
    left = len(steaming)
    for keys in steaming:
        left -= 1
        # Whether it counts (most do not): open, priced, far enough below its highest
        # price kept, passing the filters, and moved inside the window.
        steamed = None
        if not whole and keys in moves:  # the same move, in the same window
            steamed = found[keys] = (markets[keys[0]], outcomes[keys], moves[keys])
        elif (outcome := outcomes.get(keys)) is not None and outcome[O_OPEN]:
            odds = outcome[O_ODDS]
            high = outcome[O_HIGH]
            if (
                odds is not None
                and odds > 1
                and len(outcome[O_PRICES]) > 2
                and (
                    abs(odds - high) >= gate * high
                    or (points is not None and _far_enough(rule, high, odds))
                )
            ):
                market = markets.get(keys[0])
                if (
                    market is not None
                    and (any_market or rule.market_matches(market[M_NAME]))
                    and (any_odds or rule.odds_in_range(odds))
                ):
                    move = _move_inside(rule, outcome[O_PRICES], high, at, odds, True, False)
                    if move is not None:
                        steamed = found[keys] = (market, outcome, move)
        if steamed is None and (len(found) + left < count or (len(found) + left) / count < enough):
            return
    if len(found) < count:
        return
    strength = len(found) / count
    if not _outside_cooldown(rule, event, "event", None, at, strength):
        return
    # Listed in the order the outcomes first moved, as they are kept.
    shortened = [found[keys] for keys in event.moving if keys in found]
    market, outcome, move = max(shortened, key=lambda item: item[2].strength)
    signals.append(
        _signal(
            rule,
            event,
            poll,
            market,
            outcomes=[f"{m[M_NAME]} / {o[O_NAME]}" for m, o, _ in shortened],
            markets=list(dict.fromkeys(m[M_NAME] or "" for m, _, _ in shortened)),
            strength=strength,
            **_move_fields(outcome, move),
        )
    )


def _margin(
    rule: SignalRule,
    event: EventState,
    poll: Poll,
    touched: list[Priced],
    whole: bool,
    signals: list[OddsSignal],
) -> None:
    assert rule.points is not None
    threshold = rule.points - EPSILON
    for market_key in poll.markets:
        market = event.markets.get(market_key)
        if market is None:
            continue
        overrounds: Points = market[M_OVERROUNDS]
        if not overrounds or overrounds[-2] != poll.at:
            continue  # no overround this poll: not a book now
        now = overrounds[-1]
        # The bounds of every overround kept bound the window's: most markets, most
        # polls, are not that far from either.
        if now - market[M_LOW] < threshold and market[M_HIGH] - now < threshold:
            continue
        if not rule.market_matches(market[M_NAME]):
            continue
        if rule.min_odds is not None or rule.max_odds is not None:
            prices = event.book_prices(market_key)
            if prices is None or not all(rule.odds_in_range(price) for price in prices):
                continue
        if whole:  # every overround kept: their bounds are the window's (see SignalDetectors._plan)
            recent = overrounds
            lowest, highest = market[M_LOW], market[M_HIGH]
        else:
            recent = since(overrounds, poll.at, rule.window)
            lowest, highest = min(recent[1::2]), max(recent[1::2])
        extreme = lowest if now - lowest >= highest - now else highest
        delta = now - extreme
        if abs(delta) < threshold:
            continue
        strength = max(1.0, abs(delta) / rule.points)
        if not _outside_cooldown(rule, event, "market", market_key, poll.at, strength):
            continue
        first_seen = recent[2 * recent[1::2].index(extreme)]  # the extreme's first point
        names = [event.outcomes[keys][O_NAME] or "" for keys in market[M_KEYS]]
        signals.append(
            _signal(
                rule,
                event,
                poll,
                market,
                outcomes=names,
                markets=[market[M_NAME] or ""],
                probability_change=delta,
                strength=strength,
                first_seen_at=iso_of(first_seen),
            )
        )


def _suspensions(
    rule: SignalRule,
    event: EventState,
    poll: Poll,
    touched: list[Priced],
    whole: bool,
    signals: list[OddsSignal],
) -> None:
    assert rule.count is not None
    if not poll.suspended:
        return
    horizon = poll.at - rule.window
    counted: dict[MarketKey, tuple[float, str | None]] = {}
    for at, market_key, market_name, last_odds in event.suspensions:
        if (
            at > horizon
            and market_key not in counted
            and rule.market_matches(market_name)
            and rule.odds_in_range(last_odds)
        ):
            counted[market_key] = (at, market_name)
    if len(counted) < rule.count:
        return
    strength = len(counted) / rule.count
    if not _outside_cooldown(rule, event, "event", None, poll.at, strength):
        return
    first = min(at for at, _ in counted.values())
    signals.append(
        _signal(
            rule,
            event,
            poll,
            None,
            markets=[name or "" for _, name in counted.values()],
            strength=strength,
            first_seen_at=iso_of(first),
        )
    )
