"""The odds board and its live updates: reads of the history for the dashboard.

- :func:`board`: the events upcoming and in play, each with its result market's current
  prices (the market of :data:`kwiff_scrapy.model.match_rows.RESULT_MARKETS`), the
  price in force at each of some earlier times (for the move since 15 minutes, an hour),
  the opening price and the market's overround now;
- :func:`latest_time`: the latest time a price was stored (the history's "now" when its
  clock runs ahead of the wall clock, as the simulator's does);
- :func:`prices_after`: the prices stored after a time, for a page that polls, and
  :func:`outcome_infos`: what their outcomes are;
- :func:`market_now`: the current prices of some markets, with their overround.

Each is one statement whose per-outcome parts are look-ups of the prices' primary key
(outcome, time): the board's cost grows with the events shown, not with the history.
They take an ``Engine`` (or a ``Connection``) and never write; a database problem is a
one-line :class:`~kwiff_scrapy.history.errors.HistoryError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Engine, and_, func, inspect, or_, select
from sqlalchemy.exc import SQLAlchemyError

from ..model.items import Market, Outcome
from ..model.match_rows import RESULT_MARKETS
from ..model.odds import market_overround
from .errors import HistoryError
from .event_prices import driver_rows
from .records import from_ms
from .report import outcome_label
from .schema import describe, error_line, event_states, events, markets, outcomes, prices

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Row

#: An event is on the board until this long after its kick-off (unless removed).
BOARD_AFTER_KICKOFF_MS = 3 * 3600 * 1000
#: At most this many prices are read by one :func:`prices_after`.
UPDATE_LIMIT = 5000
#: Outcome ids per ``IN (...)`` of :func:`outcome_infos`.
_IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class BoardPrice:
    """One outcome of the board: its current price and the earlier ones to compare."""

    #: The outcome's row id in the history (``kwiff_outcomes.id``): the page's key.
    key: int
    name: str
    odds: float | None
    status: str | None
    at: datetime
    #: The odds in force at each of :func:`board`'s *times* (None: no price then).
    then: tuple[float | None, ...]
    #: The first open price stored (odds above 1, no status), as the report's opening.
    opening: float | None


@dataclass(frozen=True, slots=True)
class BoardEvent:
    event_id: int
    competition_name: str | None
    home_team: str | None
    away_team: str | None
    start: datetime | None
    in_play: bool | None
    betting_status: str | None
    market: str | None
    prices: list[BoardPrice] = field(default_factory=list)

    @property
    def teams(self) -> str:
        if self.home_team or self.away_team:
            return f"{self.home_team or '?'} v {self.away_team or '?'}"
        return f"event {self.event_id}"

    @property
    def overround(self) -> float | None:
        """The result market's overround now (None unless every outcome is open and priced)."""
        return overround_of(self.market, [(p.odds, p.status) for p in self.prices])


class StoredPrice(NamedTuple):
    """A price stored after a time: what a live page is sent."""

    key: int
    at_ms: int
    odds: float | None
    status: str | None


@dataclass(frozen=True, slots=True)
class OutcomeInfo:
    """What an outcome row is: its event, market and name (as the history shows it)."""

    key: int
    event_id: int
    market: str
    outcome: str
    outcome_id: int | None


def overround_of(
    market: str | None, priced: Sequence[tuple[float | None, str | None]]
) -> float | None:
    """The overround of a market whose outcomes stand at *priced* (odds, status), judged
    by :func:`kwiff_scrapy.model.odds.market_overround` as every other reader does."""
    return market_overround(
        Market(name=market, outcomes=[Outcome(odds=odds, status=status) for odds, status in priced])
    )


def latest_time(bind: Engine | Connection) -> datetime | None:
    """The latest time a price was stored (None: no price): one look-up of an index."""
    with _connection(bind) as connection:
        value = _scalar(connection, select(func.max(prices.c.fetched_at)))
    return from_ms(value) if value is not None else None


def board(
    bind: Engine | Connection,
    *,
    now_ms: int,
    times_ms: Sequence[int] = (),
    competition: str | None = None,
    in_play: bool | None = None,
    event_ids: Sequence[int] | None = None,
) -> list[BoardEvent]:
    """The events upcoming and in play at *now_ms* (kick-off unknown, later, or at most
    :data:`BOARD_AFTER_KICKOFF_MS` earlier; none whose latest state is ``removed``), by
    competition (the one with the earliest kick-off first) and kick-off, each with its
    result market's outcomes. *competition*: that competition only; *in_play*: only
    those in play (True) or not (False); *event_ids*: only those."""
    result_names = [name.casefold() for name in RESULT_MARKETS]
    market_name = func.coalesce(markets.c.name, markets.c.market_key)

    def latest(column: Any, *where: Any) -> Any:
        return (
            select(column)
            .where(prices.c.outcome == outcomes.c.id, *where)
            .order_by(prices.c.fetched_at.desc())
            .limit(1)
            .scalar_subquery()
        )

    is_open = and_(prices.c.odds > 1, prices.c.status.is_(None))
    opening = (
        select(prices.c.odds)
        .where(prices.c.outcome == outcomes.c.id, is_open)
        .order_by(prices.c.fetched_at)
        .limit(1)
        .scalar_subquery()
    )
    columns = [
        events.c.event_id,
        events.c.competition_name,
        events.c.home_team,
        events.c.away_team,
        events.c.start_time,
        events.c.in_play,
        events.c.betting_status,
        market_name.label("market_name"),
        outcomes.c.id.label("key"),
        outcomes.c.market_key,
        outcomes.c.outcome_key,
        outcomes.c.outcome_id,
        outcomes.c.name.label("outcome_name"),
        latest(prices.c.fetched_at).label("at"),
        latest(prices.c.odds).label("odds"),
        latest(prices.c.status).label("status"),
        opening.label("opening"),
        *(
            latest(prices.c.odds, prices.c.fetched_at <= moment).label(f"then_{number}")
            for number, moment in enumerate(times_ms)
        ),
    ]
    query = (
        select(*columns)
        .select_from(
            events.join(markets, markets.c.event_id == events.c.event_id).join(
                outcomes,
                and_(
                    outcomes.c.event_id == markets.c.event_id,
                    outcomes.c.market_key == markets.c.market_key,
                ),
            )
        )
        .where(
            func.lower(markets.c.name).in_(result_names),
            or_(
                events.c.start_time.is_(None),
                events.c.start_time >= now_ms - BOARD_AFTER_KICKOFF_MS,
                events.c.in_play.is_(True),
            ),
        )
        .order_by(events.c.start_time, events.c.event_id, outcomes.c.id)
    )
    if competition is not None:
        query = query.where(events.c.competition_name == competition)
    if event_ids is not None:
        query = query.where(events.c.event_id.in_(sorted(set(event_ids))))
    if in_play is not None:
        query = query.where(
            events.c.in_play.is_(True) if in_play else events.c.in_play.is_not(True)
        )
    with _connection(bind) as connection:
        if _has_table(connection, event_states.name):
            last_state = (
                select(event_states.c.kind)
                .where(event_states.c.event_id == events.c.event_id)
                .order_by(event_states.c.fetched_at.desc())
                .limit(1)
                .scalar_subquery()
            )
            query = query.where(func.coalesce(last_state, "") != "removed")
        rows = _rows(connection, query)
    return _board_events(rows, len(times_ms))


def _board_events(rows: list[Row[Any]], times: int) -> list[BoardEvent]:
    by_event: dict[int, BoardEvent] = {}
    chosen: dict[int, str] = {}
    preference = {name.casefold(): rank for rank, name in enumerate(RESULT_MARKETS)}
    for row in rows:
        if row.at is None:
            continue  # an outcome with no price stored
        event = by_event.get(row.event_id)
        market = str(row.market_name)
        if event is None:
            event = by_event[row.event_id] = BoardEvent(
                row.event_id,
                row.competition_name,
                row.home_team,
                row.away_team,
                from_ms(row.start_time) if row.start_time is not None else None,
                row.in_play,
                row.betting_status,
                market,
            )
            chosen[row.event_id] = market
        elif market != chosen[row.event_id]:
            # Two result markets: keep the one RESULT_MARKETS prefers.
            if preference[market.casefold()] >= preference[chosen[row.event_id].casefold()]:
                continue
            event.prices.clear()
            event = by_event[row.event_id] = BoardEvent(
                event.event_id,
                event.competition_name,
                event.home_team,
                event.away_team,
                event.start,
                event.in_play,
                event.betting_status,
                market,
            )
            chosen[row.event_id] = market
        event.prices.append(
            BoardPrice(
                key=row.key,
                name=outcome_label(
                    row.market_key, row.outcome_key, row.outcome_id, row.outcome_name
                ),
                odds=row.odds,
                status=row.status,
                at=from_ms(row.at),
                then=tuple(getattr(row, f"then_{number}") for number in range(times)),
                opening=row.opening,
            )
        )
    found = list(by_event.values())
    first_kickoff: dict[str | None, float] = {}
    for event in found:
        moment = event.start.timestamp() if event.start is not None else float("inf")
        name = event.competition_name
        first_kickoff[name] = min(first_kickoff.get(name, float("inf")), moment)

    def order(event: BoardEvent) -> tuple[float, str, float, int]:
        moment = event.start.timestamp() if event.start is not None else float("inf")
        name = event.competition_name
        return (first_kickoff[name], name or "", moment, event.event_id)

    return sorted(found, key=order)


def event_exists(bind: Engine | Connection, event_id: int) -> bool:
    """Whether the history knows the event (one look-up of the events' primary key)."""
    query = select(events.c.event_id).where(events.c.event_id == event_id)
    with _connection(bind) as connection:
        return _scalar(connection, query) is not None


def competitions(bind: Engine | Connection) -> list[str]:
    """The names of the competitions of the events stored, by name."""
    query = (
        select(events.c.competition_name)
        .where(events.c.competition_name.is_not(None))
        .distinct()
        .order_by(events.c.competition_name)
    )
    with _connection(bind) as connection:
        return [str(row.competition_name) for row in _rows(connection, query)]


def prices_after(
    bind: Engine | Connection,
    after_ms: int,
    *,
    after_key: int | None = None,
    limit: int = UPDATE_LIMIT,
) -> list[StoredPrice]:
    """The prices stored at or after *after_ms* (with *after_key*: after the price of
    outcome row *after_key* at *after_ms*, to page through a time that has more than
    *limit*), by time then outcome, at most *limit*: a range of the index of the
    prices' time, no join (:func:`outcome_infos` names the outcomes, once each)."""
    columns = f"SELECT outcome, fetched_at, odds, status FROM {prices.name}"
    found: list[StoredPrice] = []
    # Thousands of rows a look: read as the driver's plain tuples (no SQLAlchemy row each).
    with _connection(bind) as connection:
        if after_key is not None:
            # Two ranges of the time index, not one OR (which no index serves): the rest
            # of that time, then what is later.
            same_time = f"{columns} WHERE fetched_at = {{}} AND outcome > {{}} ORDER BY outcome"
            found = _stored(connection, f"{same_time} LIMIT {{}}", after_ms, after_key, limit)
        if len(found) < limit:
            later = ">" if after_key is not None else ">="
            query = f"{columns} WHERE fetched_at {later} {{}} ORDER BY fetched_at, outcome"
            found += _stored(connection, f"{query} LIMIT {{}}", after_ms, limit - len(found))
    return found


def _stored(connection: Connection, sql: str, *parameters: int) -> list[StoredPrice]:
    try:
        return [StoredPrice._make(row) for row in driver_rows(connection, sql, *parameters)]
    except SQLAlchemyError as exc:
        raise HistoryError(f"{describe(connection.engine.url)}: {error_line(exc)}") from exc


def outcome_infos(bind: Engine | Connection, keys: Iterable[int]) -> dict[int, OutcomeInfo]:
    """The event, market and name of each outcome row of *keys*."""
    wanted = sorted(set(keys))
    found: dict[int, OutcomeInfo] = {}
    with _connection(bind) as connection:
        for start in range(0, len(wanted), _IN_CHUNK):
            query = (
                select(
                    outcomes.c.id,
                    outcomes.c.event_id,
                    outcomes.c.market_key,
                    outcomes.c.outcome_key,
                    outcomes.c.outcome_id,
                    outcomes.c.name,
                    func.coalesce(markets.c.name, markets.c.market_key).label("market_name"),
                )
                .select_from(
                    outcomes.join(
                        markets,
                        and_(
                            markets.c.event_id == outcomes.c.event_id,
                            markets.c.market_key == outcomes.c.market_key,
                        ),
                    )
                )
                .where(outcomes.c.id.in_(wanted[start : start + _IN_CHUNK]))
            )
            for row in _rows(connection, query):
                found[row.id] = OutcomeInfo(
                    key=row.id,
                    event_id=row.event_id,
                    market=str(row.market_name),
                    outcome=outcome_label(
                        row.market_key, row.outcome_key, row.outcome_id, row.name
                    ),
                    outcome_id=row.outcome_id,
                )
    return found


def market_now(
    bind: Engine | Connection, markets_of: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], float | None]:
    """The overround now of each (event id, market name) of *markets_of*: its outcomes'
    latest prices, one primary-key look-up each."""
    if not markets_of:
        return {}
    wanted = sorted(set(markets_of))
    latest_at = (
        select(func.max(prices.c.fetched_at))
        .where(prices.c.outcome == outcomes.c.id)
        .scalar_subquery()
    )
    market_name = func.coalesce(markets.c.name, markets.c.market_key)
    query = (
        select(
            outcomes.c.event_id,
            market_name.label("market_name"),
            prices.c.odds,
            prices.c.status,
        )
        .select_from(
            outcomes.join(
                markets,
                and_(
                    markets.c.event_id == outcomes.c.event_id,
                    markets.c.market_key == outcomes.c.market_key,
                ),
            ).join(
                prices,
                and_(prices.c.outcome == outcomes.c.id, prices.c.fetched_at == latest_at),
            )
        )
        .where(
            outcomes.c.event_id.in_(sorted({event_id for event_id, _ in wanted})),
            market_name.in_(sorted({name for _, name in wanted})),
        )
    )
    with _connection(bind) as connection:
        rows = _rows(connection, query)
    priced: dict[tuple[int, str], list[tuple[float | None, str | None]]] = {}
    for row in rows:
        priced.setdefault((row.event_id, str(row.market_name)), []).append((row.odds, row.status))
    return {key: overround_of(key[1], priced.get(key, [])) for key in wanted}


@contextmanager
def _connection(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        try:
            connection = bind.connect()
        except SQLAlchemyError as exc:
            raise HistoryError(f"{describe(bind.url)} cannot be opened: {error_line(exc)}") from exc
        with connection:
            yield connection
    else:
        yield bind


def _rows(connection: Connection, query: Any) -> list[Row[Any]]:
    try:
        return list(connection.execute(query))
    except SQLAlchemyError as exc:
        raise HistoryError(f"{describe(connection.engine.url)}: {error_line(exc)}") from exc


def _has_table(connection: Connection, name: str) -> bool:
    try:
        return inspect(connection).has_table(name)
    except SQLAlchemyError as exc:
        raise HistoryError(f"{describe(connection.engine.url)}: {error_line(exc)}") from exc


def _scalar(connection: Connection, query: Any) -> Any:
    try:
        return connection.execute(query).scalar()
    except SQLAlchemyError as exc:
        raise HistoryError(f"{describe(connection.engine.url)}: {error_line(exc)}") from exc
