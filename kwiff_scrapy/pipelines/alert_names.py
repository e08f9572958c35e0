"""Market and competition names in the alert settings that the service does not use (pure).

A misspelt name (``Full Time Reslt``, ``Premier Leage``) is a valid setting that can
never alert. The alerts pipeline shows :class:`FirstPollNames` every change of the
watch's first successful poll that yielded changes, then logs its
:meth:`~FirstPollNames.warnings`: one per configured name that no change matched, with
the closest names seen.

Only a fresh watch's first poll shows every market: it yields every outcome it sees as
``new``. A poll with any other kind of change continues an earlier watch (resumed with
``JOBDIR``, or shared with other workers, one of which saw the first poll) and shows
only what moved: its names are not checked (:attr:`FirstPollNames.continued`).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from ..model.items import EventChange, OddsChange

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Names suggested for one that matched nothing.
CLOSEST = 3
#: Names seen that are listed when none is close.
LISTED = 5


class UnmatchedNames:
    """Which of the *wanted* names (compared case-insensitively) the names seen miss."""

    def __init__(self, setting: str, what: str, wanted: tuple[str, ...] | list[str]) -> None:
        self.setting = setting
        #: What the names name, in the plural: ``markets``.
        self.what = what
        self.wanted = tuple(wanted)
        #: Each name seen, case-folded, to the name as the service wrote it.
        self._seen: dict[str, str] = {}

    @property
    def seen_any(self) -> bool:
        return bool(self._seen)

    def see(self, name: str | None) -> None:
        if name:
            self._seen.setdefault(name.casefold(), name)

    def warnings(self) -> list[str]:
        """One line per wanted name that matched no name seen (none if nothing was seen)."""
        if not self._seen:
            return []
        return [self._warning(name) for name in self.wanted if name.casefold() not in self._seen]

    def _warning(self, name: str) -> str:
        closest = difflib.get_close_matches(name.casefold(), self._seen, n=CLOSEST)
        count = len(self._seen)
        where = f"{self.setting}: {name!r} is none of the {count} {self.what} of the first poll"
        if closest:
            names = " or ".join(repr(self._seen[key]) for key in closest)
            return f"{where}: did you mean {names}? (names match whole, case aside)"
        listed = ", ".join(map(repr, sorted(self._seen.values())[:LISTED]))
        more = ", ..." if count > LISTED else ""
        return f"{where} ({listed}{more}); no name is close to it"


class FirstPollNames:
    """``KWIFF_ALERT_MARKETS`` and ``KWIFF_ALERT_COMPETITIONS`` (and the ``markets`` and
    ``competitions`` of each route of ``KWIFF_ALERT_ROUTES``) against the names of the
    changes seen. Each is checked once it has seen a name (until then it waits)."""

    def __init__(
        self,
        markets: tuple[str, ...],
        competitions: tuple[str, ...],
        routes: Sequence[tuple[str, tuple[str, ...], tuple[str, ...]]] = (),
    ) -> None:
        """*routes*: each route's label (``KWIFF_ALERT_ROUTES 'drops'``), markets and
        competitions, as written."""
        wanted = [("KWIFF_ALERT_MARKETS", markets, "KWIFF_ALERT_COMPETITIONS", competitions)]
        wanted += [
            (f"{label}: markets", route_markets, f"{label}: competitions", route_competitions)
            for label, route_markets, route_competitions in routes
        ]
        self._markets = [
            UnmatchedNames(setting, "markets", names) for setting, names, _, _ in wanted if names
        ]
        self._competitions = [
            UnmatchedNames(setting, "competitions", names)
            for _, _, setting, names in wanted
            if names
        ]
        #: True if the first poll had a change other than ``new``: nothing is checked.
        self.continued = False
        self._seen_any = False
        #: Set at the end of the first poll with changes: later ones do not count.
        self._first_poll_over = False

    @property
    def pending(self) -> bool:
        """True while some configured names are still to be checked."""
        return bool(self._markets or self._competitions)

    @property
    def settings(self) -> list[str]:
        """The settings still to be checked."""
        return [check.setting for check in (*self._markets, *self._competitions)]

    def poll_finished(self) -> None:
        """A successful poll's end: if it yielded changes, those to come belong to later
        polls, or are that poll's late ones (their names still count)."""
        self._first_poll_over = self._seen_any

    def stop(self) -> None:
        """Check nothing more."""
        self._markets = []
        self._competitions = []

    def see(self, change: OddsChange | EventChange) -> None:
        self._seen_any = True
        if change.kind != "new" and not self._first_poll_over:
            self.continued = True
        if isinstance(change, OddsChange):
            for check in self._markets:
                check.see(change.market_name)
        for check in self._competitions:
            check.see(change.competition_name)

    def warnings(self) -> list[str]:
        """The warnings of each check that has seen names; those are then done."""
        found: list[str] = []
        for checks in (self._markets, self._competitions):
            for check in [check for check in checks if check.seen_any]:
                found += check.warnings()
                checks.remove(check)
        return found
