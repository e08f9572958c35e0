"""Which events and markets a crawl keeps: applied while an answer is read, before items.

A :class:`Selection` is given to the parsers (:mod:`.parsing`, :mod:`.event_list`):
an event outside its time window is not built at all, and a market not named is not
built into its event. Pure: the window is reckoned from the answer's own time (the
service's clock), falling back to the caller's clock only for an answer without one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .values import parse_service_time

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

#: How many close names an unknown market name is shown with.
CLOSE_MATCHES = 3


@dataclass(frozen=True)
class TimeWindow:
    """Events starting within :attr:`within` of now (those under way included), or on
    :attr:`day` (``None``: today) in the time zone :attr:`zone`: exactly one is set."""

    within: timedelta | None = None
    day: date | None = None
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def bounds(self, now: datetime) -> tuple[datetime | None, datetime]:
        """``(earliest, latest)`` start, UTC; the earliest is None for ``within``."""
        if self.within is not None:
            return None, now + self.within
        day = self.day if self.day is not None else now.astimezone(self.zone).date()
        first = datetime.combine(day, time(), self.zone)
        after = datetime.combine(day + timedelta(days=1), time(), self.zone)
        return first.astimezone(UTC), after.astimezone(UTC)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Selection:
    """What to keep: markets by name (any case), events by start time; None keeps all.

    It remembers the market names it was shown, so that a wanted name matching none of
    them can be reported with the closest ones (:meth:`unmatched_markets`).
    """

    markets: dict[str, str] | None = None
    """The market names wanted, case-folded → as given."""
    window: TimeWindow | None = None
    clock: Callable[[], datetime] = _wall_clock
    """The time of an answer that carries none."""
    seen_markets: dict[str, str] = field(default_factory=dict, repr=False)
    """Every market name shown, case-folded → as the service spells it."""
    _bounds: tuple[str | None, tuple[datetime | None, datetime]] | None = field(
        default=None, repr=False
    )

    @classmethod
    def of(
        cls, markets: Iterable[str] | None = None, window: TimeWindow | None = None
    ) -> Selection:
        names = None if markets is None else {name.strip().casefold(): name for name in markets}
        return cls(names, window)

    @property
    def keeps_everything(self) -> bool:
        return self.markets is None and self.window is None

    def markets_only(self) -> Selection:
        """The same markets, any start time; names seen by either are seen by both."""
        return Selection(self.markets, None, self.clock, self.seen_markets)

    def keeps_market(self, name: str | None) -> bool:
        if self.markets is None:
            return True
        if name is None:
            return False
        folded = name.casefold()
        self.seen_markets.setdefault(folded, name)
        return folded in self.markets

    def keeps_start(self, start_time: object, fetched_at: str | None) -> bool:
        """Whether an event starting at *start_time* (the service's text) is in the
        window, reckoned from *fetched_at*; an event without a readable start is not."""
        if self.window is None:
            return True
        start = parse_service_time(start_time)
        if start is None:
            return False
        earliest, latest = self._window_bounds(fetched_at)
        return start < latest and (earliest is None or start >= earliest)

    def _window_bounds(self, fetched_at: str | None) -> tuple[datetime | None, datetime]:
        assert self.window is not None
        if self._bounds is None or self._bounds[0] != fetched_at or fetched_at is None:
            now = parse_service_time(fetched_at) or self.clock()
            self._bounds = (fetched_at, self.window.bounds(now))
        return self._bounds[1]

    def unmatched_markets(self) -> dict[str, list[str]]:
        """Each wanted market name no shown market had, with the closest names shown."""
        if self.markets is None:
            return {}
        shown = list(self.seen_markets)
        return {
            self.markets[wanted]: [
                self.seen_markets[close]
                for close in difflib.get_close_matches(wanted, shown, n=CLOSE_MATCHES)
            ]
            for wanted in sorted(self.markets)
            if wanted not in self.seen_markets
        }
