"""Reading the signals stored in the odds history (the ``kwiff_signals`` table).

The history pipeline stores every ``OddsSignal`` item that flows through it
(:mod:`kwiff_scrapy.history.store`); these functions read them back, for the dashboard
or any other reader, as :class:`StoredSignal` rows:

- :func:`recent_signals`: the latest signals first, optionally since a time, of one
  event, of some rules, or after a row id (for a page that polls for new ones);
- :func:`signal_counts`: how many signals each rule fired.

They take an SQLAlchemy ``Engine`` or ``Connection`` (e.g. one opened by
:func:`kwiff_scrapy.history.schema.open_engine`) and never write. A database without
the table (written before signals were stored) has no signals: empty answers.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, inspect, select

from ..model.signals import OddsSignal
from ..model.values import iso_utc
from .records import from_ms
from .schema import signals

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import datetime

    from sqlalchemy.engine import Connection, Row
    from sqlalchemy.sql import Select

#: The most rows :func:`recent_signals` returns unless asked for fewer.
DEFAULT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class StoredSignal:
    """One stored signal: the ``OddsSignal``'s fields, its times in milliseconds since
    1970-01-01 UTC (as every time in the history), and its row ``id`` (ascending in
    the order the signals were stored)."""

    id: int
    rule: str
    kind: str
    event_id: int
    fetched_ms: int
    subject: str
    home_team: str | None = None
    away_team: str | None = None
    competition_name: str | None = None
    start_ms: int | None = None
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
    first_seen_ms: int | None = None
    in_play: bool | None = None

    @property
    def fetched_at(self) -> datetime:
        """When it fired, on the service's clock (UTC)."""
        return from_ms(self.fetched_ms)

    @property
    def teams(self) -> str:
        if self.home_team or self.away_team:
            return f"{self.home_team or '?'} v {self.away_team or '?'}"
        return f"event {self.event_id}"

    def to_item(self) -> OddsSignal:
        """The ``OddsSignal`` item again (its times as the service writes them)."""
        return OddsSignal(
            **{name: getattr(self, name) for name in _SAME_FIELDS},
            start_time=iso_utc(self.start_ms) if self.start_ms is not None else None,
            outcomes=list(self.outcomes),
            markets=list(self.markets),
            window=self.window,
            first_seen_at=iso_utc(self.first_seen_ms) if self.first_seen_ms is not None else None,
            fetched_at=iso_utc(self.fetched_ms),
        )


#: The fields of the same name and value in the item, a stored signal and its row.
_SAME_FIELDS: tuple[str, ...] = (
    "rule", "kind", "event_id", "home_team", "away_team", "competition_name", "market_id",
    "market_name", "outcome_id", "outcome_name", "from_odds", "to_odds", "change",
    "probability_change", "strength", "in_play",
)  # fmt: skip


def has_signals_table(connection: Connection) -> bool:
    """Whether the database has the ``kwiff_signals`` table (one written before signals
    were stored has not)."""
    return inspect(connection).has_table(signals.name)


def recent_signals(
    bind: Engine | Connection,
    *,
    since_ms: int | None = None,
    event_id: int | None = None,
    rules: Iterable[str] | None = None,
    after_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[StoredSignal]:
    """The latest stored signals first (by ``fetched_at``, then row id), at most *limit*.

    *since_ms*: only those fired at or after it; *event_id*: of that event only;
    *rules*: of those rule names only; *after_id*: only rows stored after that id (a page
    that polls passes the highest id it has seen).
    """
    query = _filtered(select(signals), since_ms, event_id, rules, after_id)
    query = query.order_by(signals.c.fetched_at.desc(), signals.c.id.desc()).limit(limit)
    with _connection(bind) as connection:
        if not has_signals_table(connection):
            return []
        return [_stored(row) for row in connection.execute(query)]


def signal_counts(
    bind: Engine | Connection,
    *,
    since_ms: int | None = None,
    event_id: int | None = None,
) -> dict[str, int]:
    """How many signals each rule fired (with *since_ms* / *event_id* as in
    :func:`recent_signals`), the rules by name."""
    query = _filtered(
        select(signals.c.rule, func.count().label("fired")), since_ms, event_id, None, None
    ).group_by(signals.c.rule)
    with _connection(bind) as connection:
        if not has_signals_table(connection):
            return {}
        return {row.rule: row.fired for row in sorted(connection.execute(query))}


def _filtered(
    query: Select[Any],
    since_ms: int | None,
    event_id: int | None,
    rules: Iterable[str] | None,
    after_id: int | None,
) -> Select[Any]:
    if since_ms is not None:
        query = query.where(signals.c.fetched_at >= since_ms)
    if event_id is not None:
        query = query.where(signals.c.event_id == event_id)
    if rules is not None:
        query = query.where(signals.c.rule.in_(list(rules)))
    if after_id is not None:
        query = query.where(signals.c.id > after_id)
    return query


@contextmanager
def _connection(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            yield connection
    else:
        yield bind


def _stored(row: Row[Any]) -> StoredSignal:
    return StoredSignal(
        **{name: getattr(row, name) for name in _SAME_FIELDS},
        id=row.id,
        fetched_ms=row.fetched_at,
        subject=row.subject,
        start_ms=row.start_time,
        outcomes=_names(row.outcomes),
        markets=_names(row.markets),
        window=row.window_seconds,
        first_seen_ms=row.first_seen_at,
    )


def _names(text: str | None) -> list[str]:
    try:
        value = json.loads(text) if text else []
    except json.JSONDecodeError:
        return []
    return [str(name) for name in value] if isinstance(value, list) else []
