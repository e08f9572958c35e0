"""Market names in ``KWIFF_ALERT_MARKETS`` that the service does not use (pure).

A misspelt market (``Full Time Reslt``) is a valid setting that can never alert. The
alerts pipeline shows :class:`UnmatchedNames` the market name of every change of the
watch's first successful poll (which yields every outcome it sees as ``new``), then
logs :meth:`UnmatchedNames.warnings`: one per configured name that none of them
matched, with the closest names seen.
"""

from __future__ import annotations

import difflib

#: Names suggested for one that matched nothing.
CLOSEST = 3
#: Names seen that are listed when none is close.
LISTED = 5


class UnmatchedNames:
    """Which of the *wanted* names (compared case-insensitively) the names seen miss."""

    def __init__(self, setting: str, wanted: tuple[str, ...] | list[str]) -> None:
        self.setting = setting
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
        where = f"{self.setting}: {name!r} is none of the {count} markets of the first poll"
        if closest:
            names = " or ".join(repr(self._seen[key]) for key in closest)
            return f"{where}: did you mean {names}? (names match whole, case aside)"
        listed = ", ".join(map(repr, sorted(self._seen.values())[:LISTED]))
        more = ", ..." if count > LISTED else ""
        return f"{where} ({listed}{more}); no name is close to it"
