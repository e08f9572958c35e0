"""The detectors' state as main kept it up to this release: classes, kept so that a
``JOBDIR`` pickle of that layout still loads; :meth:`.detectors.SignalDetectors.
__setstate__` turns it into the records of :mod:`.detector_state` (see there why).

Not used while detecting.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any

from .items import Market, Outcome
from .odds import is_book

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .detectors import OutcomeKey


class Window(deque[tuple[float, float]]):
    """A series of ``(time, value)`` kept for a while: the points inside it plus the one
    in effect at its start (a price set before the window still held inside it).

    The deque itself (one object per outcome, not two: the garbage collector goes
    through every one the detectors keep), with the highest and lowest value of the points
    it keeps (bounds of any window's: a rule turns an outcome away on them before it looks
    inside)."""

    __slots__ = ("high", "low")
    high: float
    low: float

    def __init__(self, points: Iterable[tuple[float, float]] = ()) -> None:
        super().__init__(points)
        self._bounds()

    @classmethod
    def of(cls, points: Iterable[tuple[float, float]]) -> Window:
        """A window holding *points* (oldest first), as restored from a record."""
        return cls(points)

    @property
    def points(self) -> Window:
        return self

    def __setstate__(self, state: Any) -> None:
        """Unpickled (``JOBDIR``) after its points: the bounds follow from them. A window
        pickled when it held its points in a deque of its own brings them in its state."""
        slots = state[1] if isinstance(state, tuple) and len(state) == 2 else None
        if isinstance(slots, dict) and isinstance(slots.get("points"), deque):
            self.extend(slots["points"])
        self._bounds()

    def add(self, at: float, value: float, keep: float) -> None:
        # Only a point that held a bound moves it when it goes.
        stale = False
        if self and self[-1][0] == at:
            gone = self.pop()[1]
            stale = gone == self.high or gone == self.low
        self.append((at, value))
        horizon = at - keep
        while len(self) > 1 and self[1][0] <= horizon:
            gone = self.popleft()[1]
            stale = stale or gone == self.high or gone == self.low
        if stale:
            self._bounds()
        else:
            if value > self.high:
                self.high = value
            if value < self.low:
                self.low = value

    def _replace(self, points: Iterable[tuple[float, float]]) -> None:
        """Hold *points* (oldest first) instead of those it held."""
        points = list(points)  # they may be its own
        self.clear()
        self.extend(points)
        self._bounds()

    def _bounds(self) -> None:
        values = [value for _, value in self]
        self.high = max(values, default=-math.inf)
        self.low = min(values, default=math.inf)

    def since(self, now: float, window: float) -> list[tuple[float, float]]:
        """The points inside the last *window* seconds before *now*, oldest first."""
        horizon = now - window
        recent = []
        for point in reversed(self):
            recent.append(point)
            if point[0] <= horizon:
                break
        recent.reverse()
        return recent


class OutcomeState(Window):
    """An outcome: its names, its odds now and whether it is open; itself the window of
    its prices kept (:attr:`prices`), so that it is one object for the garbage collector
    to go through, not two."""

    __slots__ = ("odds", "open", "outcome_id", "outcome_name")
    outcome_id: int | None
    outcome_name: str | None
    odds: float | None
    open: bool

    def __init__(
        self,
        outcome_id: int | None = None,
        outcome_name: str | None = None,
        odds: float | None = None,
        open: bool = True,
        prices: Iterable[tuple[float, float]] = (),
    ) -> None:
        super().__init__(prices)
        self.outcome_id = outcome_id
        self.outcome_name = outcome_name
        self.odds = odds
        self.open = open

    @property
    def prices(self) -> Window:
        """Its prices kept: ``(time, odds)`` (see :class:`Window`)."""
        return self

    @prices.setter
    def prices(self, points: Iterable[tuple[float, float]]) -> None:
        self._replace(points)

    @property
    def live_odds(self) -> float | None:
        """The price one can bet at now: None while suspended or without a valid price."""
        odds = self.odds
        return odds if self.open and odds is not None and odds > 1 else None

    def __setstate__(self, state: Any) -> None:
        """Unpickled (``JOBDIR``) after its prices; one pickled when its prices were a
        window of their own brings them in its state."""
        slots = _set_slots(self, OutcomeState.__slots__, state)
        if "prices" in slots:
            self.extend(slots["prices"])
        self._bounds()

    def __repr__(self) -> str:
        return (
            f"OutcomeState({self.outcome_id!r}, {self.outcome_name!r}, odds={self.odds!r}, "
            f"open={self.open!r}, prices={list(self)!r})"
        )


class MarketState(Window):
    """A market: its names, its outcomes, whether it is a book; itself the window of its
    overrounds kept (:attr:`overrounds`): one object for the garbage collector, not two."""

    __slots__ = ("book", "market_id", "market_name", "outcomes")
    market_id: int | None
    market_name: str | None
    outcomes: dict[OutcomeKey, OutcomeState]
    #: Whether its name makes it a book (:func:`.odds.is_book`), once known.
    book: bool | None

    def __init__(
        self,
        market_id: int | None = None,
        market_name: str | None = None,
        outcomes: dict[OutcomeKey, OutcomeState] | None = None,
        overrounds: Iterable[tuple[float, float]] = (),
        book: bool | None = None,
    ) -> None:
        super().__init__(overrounds)
        self.market_id = market_id
        self.market_name = market_name
        self.outcomes = {} if outcomes is None else outcomes
        self.book = book

    @property
    def overrounds(self) -> Window:
        """Its overrounds kept: ``(time, overround)`` (see :class:`Window`)."""
        return self

    @overrounds.setter
    def overrounds(self, points: Iterable[tuple[float, float]]) -> None:
        self._replace(points)

    def __setstate__(self, state: Any) -> None:
        """Unpickled (``JOBDIR``) after its overrounds; one pickled when they were a
        window of their own brings them in its state."""
        slots = _set_slots(self, MarketState.__slots__, state)
        if "overrounds" in slots:
            self.extend(slots["overrounds"])
        self._bounds()

    def __repr__(self) -> str:
        return (
            f"MarketState({self.market_id!r}, {self.market_name!r}, outcomes={self.outcomes!r}, "
            f"overrounds={list(self)!r}, book={self.book!r})"
        )

    def prices(self) -> list[float] | None:
        """Every outcome's price if the market has an overround now (:func:`.odds.is_book`)."""
        outcomes = self.outcomes.values()
        # Their live_odds, inlined (a book only if every one is live).
        live = [o.odds for o in outcomes if o.open and o.odds is not None and o.odds > 1]
        if len(live) < 2 or len(live) != len(outcomes):
            return None
        if self.book is None:
            # Every outcome open and priced: what is_book decides now holds for the name.
            market = Market(name=self.market_name, outcomes=[Outcome(odds=p) for p in live])
            self.book = is_book(market)
        return live if self.book else None


def _set_slots(state_object: Window, names: tuple[str, ...], state: Any) -> dict[str, Any]:
    """Set *names* from a pickled ``(None, slots)`` state of *state_object*; the slots."""
    slots = state[1] if isinstance(state, tuple) and len(state) == 2 else None
    if not isinstance(slots, dict):
        raise ValueError(f"not the pickled state of {type(state_object).__name__}")
    for name in names:
        setattr(state_object, name, slots[name])
    return slots
