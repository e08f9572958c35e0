"""The item a detector yields when a rule fires (see :mod:`.detectors`)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Kinds of rule (OddsSignal.kind).
DROP = "drop"
DRIFT = "drift"
STEAM = "steam"
MARGIN = "margin"
SUSPENSIONS = "suspensions"
SIGNAL_KINDS = (DROP, DRIFT, STEAM, MARGIN, SUSPENSIONS)


@dataclass
class OddsSignal:
    """A rule that fired: a move worth acting on, not just a change.

    ``rule`` is the rule's name (its kind unless configured otherwise), ``kind`` one
    of :data:`SIGNAL_KINDS`. The move runs from ``from_odds``, the extreme price inside
    the rule's ``window`` (seconds) first seen at ``first_seen_at``, to ``to_odds`` at
    ``fetched_at``; both times are the service's (the answers' ``fetched_at``).
    ``change`` is relative, ``(to_odds - from_odds) / from_odds``; ``probability_change``
    is the implied probability's change in points as a fraction (0.03: 3 points); for
    ``margin`` it is the market's overround change (positive: the margin widened) and
    the odds are None. ``strength`` is the move's size over the rule's threshold: 1.0
    just fired, 2.0 moved twice as far as needed (for ``suspensions``: markets counted
    over markets needed). ``outcomes`` names every outcome the signal covers
    (``"market / outcome"`` for a steam across markets), ``markets`` every market (the
    suspended ones for ``suspensions``).
    """

    rule: str
    kind: str
    event_id: int
    home_team: str | None = None
    away_team: str | None = None
    competition_name: str | None = None
    start_time: str | None = None
    market_id: int | None = None
    market_name: str | None = None
    outcome_id: int | None = None
    outcome_name: str | None = None
    outcomes: list[str] = field(default_factory=list)
    markets: list[str] = field(default_factory=list)
    window: float = 0.0
    from_odds: float | None = None
    to_odds: float | None = None
    change: float | None = None
    probability_change: float | None = None
    strength: float = 1.0
    first_seen_at: str | None = None
    fetched_at: str | None = None
    in_play: bool | None = None
