"""Reading the odds history, for ``scrapy kwiff history`` (and any other reader).

:class:`HistoryReader` opens a history database without writing to it (an SQLite
file that does not exist is not created) and answers in plain dataclasses:

- :meth:`~HistoryReader.events`: the events stored, with their counts;
- :meth:`~HistoryReader.outcome_histories`: each outcome's price points of an event
  (optionally some markets), from which :func:`moves` and :func:`plot_data` derive;
- :meth:`~HistoryReader.top_movers`: the outcomes whose price moved most, relative to
  the price in force at the start of a window;
- :meth:`~HistoryReader.opening_closing`: each outcome's opening and closing prices
  (:mod:`kwiff_scrapy.history.report`).

Every problem is a :class:`~kwiff_scrapy.history.errors.HistoryError` of one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.exc import SQLAlchemyError

from ..model.changes import relative_change
from ..model.odds import is_book_name, overround, price_probability
from ..model.values import is_open
from . import summaries
from .errors import HistoryError
from .movers import movers_query
from .records import BET_BUILDER_MARKET, from_ms, group_outcome_ids, to_ms
from .replay import stream_changes
from .report import OpeningClosing, stream_opening_closing
from .schema import (
    check_version,
    database_url,
    describe,
    error_line,
    events,
    markets,
    open_engine,
    outcomes,
    prices,
    stored_version,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from sqlalchemy.engine import Connection, Engine, Row

    from ..model.changes import Change


@dataclass(frozen=True, slots=True)
class EventInfo:
    """An event as the history knows it."""

    event_id: int
    sport_name: str | None = None
    competition_name: str | None = None
    home_team: str | None = None
    away_team: str | None = None
    start: datetime | None = None
    betting_status: str | None = None
    in_play: bool | None = None
    outcomes: int = 0
    prices: int = 0
    first: datetime | None = None
    last: datetime | None = None

    @property
    def teams(self) -> str:
        if self.home_team or self.away_team:
            return f"{self.home_team or '?'} v {self.away_team or '?'}"
        return f"event {self.event_id}"


@dataclass(frozen=True, slots=True)
class PricePoint:
    """An outcome's price from ``time`` on (odds None: no price; status None: open)."""

    time: datetime
    odds: float | None
    fractional: str | None = None
    status: str | None = None


@dataclass(slots=True)
class OutcomeHistory:
    """Every stored price of one outcome, oldest first."""

    event_id: int
    market: str
    outcome: str
    outcome_id: int | None
    points: list[PricePoint] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Move:
    """One stored price and the one before it (None for an outcome's opening price)."""

    time: datetime
    event_id: int
    market: str
    outcome: str
    outcome_id: int | None
    before: PricePoint | None
    after: PricePoint
    #: The market's overround from ``time`` on, every outcome at its price then (None unless
    #: the market is a book priced whole: :func:`kwiff_scrapy.model.odds.is_book`).
    market_overround: float | None = None

    @property
    def change(self) -> float | None:
        """``(after - before) / before`` of the decimal odds; None where either is missing."""
        if self.before is None:
            return None
        return relative_change(self.before.odds, self.after.odds)

    @property
    def implied_probability(self) -> float | None:
        return price_probability(self.after.odds)

    @property
    def previous_implied_probability(self) -> float | None:
        return price_probability(self.before.odds) if self.before is not None else None


@dataclass(frozen=True, slots=True)
class Mover:
    """An outcome whose price moved in a window: from ``first`` to ``last``."""

    event: EventInfo
    market: str
    outcome: str
    outcome_id: int | None
    first: PricePoint
    last: PricePoint
    moves: int

    @property
    def change(self) -> float:
        change = relative_change(self.first.odds, self.last.odds)
        return change if change is not None else 0.0


@dataclass(frozen=True, slots=True)
class Series:
    """One outcome's line on the plot: its odds from each time on (None: a gap), and
    whether it could be backed then (False: suspended, or any other status but open)."""

    outcome: str
    times: list[datetime]
    odds: list[float | None]
    open: list[bool]


@dataclass(frozen=True, slots=True)
class MarketSeries:
    market: str
    series: list[Series]


@dataclass(frozen=True, slots=True)
class PlotData:
    """What ``--plot`` draws: one panel per market, one step line per outcome."""

    event: EventInfo
    start: datetime
    end: datetime
    markets: list[MarketSeries]
    #: The series hold implied probabilities (``1 / odds``) instead of decimal odds.
    probability: bool = False

    @property
    def title(self) -> str:
        parts = [self.event.teams]
        if self.event.competition_name:
            parts.append(self.event.competition_name)
        if self.event.start is not None:
            parts.append(f"kick-off {self.event.start:%Y-%m-%d %H:%M} UTC")
        return " \N{EM DASH} ".join(parts)

    @property
    def kickoff_shown(self) -> bool:
        """Whether kick-off is within the plotted time, where it is marked with a line."""
        kickoff = self.event.start
        return kickoff is not None and self.start <= kickoff <= self.end


class HistoryReader:
    """Reads a history database; never creates or changes one."""

    def __init__(self, uri: str) -> None:
        try:
            self.url = database_url(uri)
        except ValueError as exc:
            raise HistoryError(str(exc)) from None
        self.description = describe(self.url)
        if self.url.get_backend_name() == "sqlite":
            path = Path(self.url.database or "")
            if not path.is_file():
                raise HistoryError(f"{self.description}: there is no database file {path}")
        self._engine: Engine = open_engine(self.url, writer=False)

    @property
    def engine(self) -> Engine:
        """The engine it reads through (for the reads of :mod:`.board` and :mod:`.signals`)."""
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> HistoryReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connect(self) -> Connection:
        try:
            connection = self._engine.connect()
        except SQLAlchemyError as exc:
            raise HistoryError(f"{self.description} cannot be opened: {error_line(exc)}") from exc
        return connection

    def ensure_present(self) -> None:
        """``HistoryError`` if an SQLite file went away since it was opened (a reader that
        stays open, as the dashboard's, would otherwise go on reading the removed file)."""
        if self.url.get_backend_name() == "sqlite":
            path = Path(self.url.database or "")
            if not path.is_file():
                raise HistoryError(f"{self.description}: there is no database file {path}")

    def check(self) -> None:
        """``HistoryError`` unless the database holds odds history this version can read
        and at least one price."""
        with self._connect() as connection:
            try:
                version = stored_version(connection)
                check_version(version, self.url)
                if version is None:
                    raise HistoryError(f"{self.description} holds no odds history")
                # One row is enough (a count would read every price of a big history).
                found = connection.execute(select(prices.c.outcome).limit(1)).first()
            except SQLAlchemyError as exc:
                raise HistoryError(f"{self.description}: {error_line(exc)}") from exc
        if found is None:
            raise HistoryError(f"{self.description} is empty: no prices stored yet")

    # -- opening and closing prices ----------------------------------------------------

    def opening_closing(
        self,
        *,
        event_id: int | None = None,
        since: datetime | None = None,
        market_names: Sequence[str] | None = None,
        limit: int | None = None,
        now: datetime | None = None,
    ) -> Iterator[OpeningClosing]:
        """Each outcome's opening and closing prices, biggest closing moves first, streamed
        (:func:`kwiff_scrapy.history.report.stream_opening_closing`)."""
        return stream_opening_closing(
            self._engine,
            event_id=event_id,
            since_ms=to_ms(since) if since is not None else None,
            market=market_names,
            limit=limit,
            now_ms=to_ms(now) if now is not None else None,
        )

    # -- the history as the watch's changes ------------------------------------------------

    def changes(
        self, *, since: datetime | None = None, event_id: int | None = None
    ) -> Iterator[Change]:
        """The stored prices and event states as the watch's changes, in time order,
        streamed (:func:`kwiff_scrapy.history.replay.stream_changes`): what a replay of
        the signals feeds the detectors."""
        return stream_changes(
            self._engine, since_ms=to_ms(since) if since is not None else None, event_id=event_id
        )

    # -- events --------------------------------------------------------------------------

    def events(self, event_ids: Iterable[int] | None = None) -> list[EventInfo]:
        """The events stored (or those of *event_ids*), by kick-off, with their counts."""
        counts = (
            select(
                outcomes.c.event_id,
                func.count(func.distinct(outcomes.c.id)).label("outcomes"),
                func.count().label("prices"),
                func.min(prices.c.fetched_at).label("first"),
                func.max(prices.c.fetched_at).label("last"),
            )
            .join(prices, prices.c.outcome == outcomes.c.id)
            .group_by(outcomes.c.event_id)
        )
        if event_ids is not None:
            # In the grouping itself: only these events' prices are read.
            counts = counts.where(outcomes.c.event_id.in_(sorted(set(event_ids))))
        grouped = counts.subquery()
        query = select(
            events, grouped.c.outcomes, grouped.c.prices, grouped.c.first, grouped.c.last
        ).join(grouped, grouped.c.event_id == events.c.event_id)
        query = query.order_by(events.c.start_time, events.c.event_id)
        with self._connect() as connection:
            return [_event_info(row) for row in self._run(connection, query)]

    def event(self, event_id: int) -> EventInfo:
        """The event; ``HistoryError`` if the history has no price of it."""
        found = self.events([event_id])
        if not found:
            raise HistoryError(f"event {event_id} is not in the odds history at {self.description}")
        return found[0]

    # -- one event's prices ----------------------------------------------------------------

    def market_names(self, event_id: int) -> list[str]:
        """The names of the event's markets, in the order they were first stored."""
        names: list[str] = []
        for history in self.outcome_histories(event_id):
            if history.market not in names:
                names.append(history.market)
        return names

    def outcome_histories(
        self, event_id: int, market_names: Sequence[str] | None = None
    ) -> list[OutcomeHistory]:
        """Every stored price of the event's outcomes, outcome by outcome in the order
        they were first stored (markets together); only *market_names* if given (any
        case). ``HistoryError`` for a market name the event does not have."""
        query = _prices_with_names().where(outcomes.c.event_id == event_id)
        with self._connect() as connection:
            rows = self._run(connection, query)
            leg_names = self._leg_names(connection, event_id, rows)
        by_outcome: dict[int, OutcomeHistory] = {}
        first_of_market: dict[str, int] = {}
        for row in rows:
            history = by_outcome.get(row.id)
            if history is None:
                market = row.market_name or row.market_key
                history = by_outcome[row.id] = OutcomeHistory(
                    event_id,
                    market,
                    _outcome_name(row, leg_names),
                    row.outcome_id,
                )
                first_of_market.setdefault(market, len(first_of_market))
            history.points.append(
                PricePoint(from_ms(row.fetched_at), row.odds, row.fractional, row.status)
            )
        histories = sorted(by_outcome.values(), key=lambda h: first_of_market[h.market])
        if market_names:
            wanted = {name.casefold(): name for name in market_names}
            known = {h.market.casefold() for h in histories}
            unknown = [name for folded, name in wanted.items() if folded not in known]
            if unknown:
                names = ", ".join(dict.fromkeys(h.market for h in histories))
                raise HistoryError(
                    f"event {event_id} has no market {unknown[0]!r} in the odds history; "
                    f"its markets: {names}"
                )
            histories = [h for h in histories if h.market.casefold() in wanted]
        return histories

    def _leg_names(
        self, connection: Connection, event_id: int, rows: list[Row[Any]]
    ) -> dict[int, str]:
        """Names of the outcomes that bet-builder groups of the event combine."""
        legs = {
            leg
            for row in rows
            if row.market_key == BET_BUILDER_MARKET
            for leg in group_outcome_ids(row.outcome_key) or []
        }
        if not legs:
            return {}
        query = select(outcomes.c.outcome_id, outcomes.c.name).where(
            outcomes.c.event_id == event_id, outcomes.c.outcome_id.in_(sorted(legs))
        )
        return {row.outcome_id: row.name for row in self._run(connection, query) if row.name}

    # -- the biggest movers --------------------------------------------------------------

    def top_movers(
        self, limit: int, since: datetime | None = None, event_id: int | None = None
    ) -> list[Mover]:
        """The *limit* outcomes whose price moved most (relatively, either way) since
        *since* (None: ever), from the price in force at *since* to the latest one."""
        with self._connect() as connection:
            try:
                kept = summaries.available(connection)
            except SQLAlchemyError as exc:
                raise HistoryError(f"{self.description}: {error_line(exc)}") from exc
            query = movers_query(
                limit, to_ms(since) if since is not None else None, event_id, summaries=kept
            )
            rows = self._run(connection, query)
            chosen = {row.event_id for row in rows}
            if kept:
                # Their events' counts from the summaries, not from every price of them.
                found = [
                    _event_info(row)
                    for row in self._run(connection, summaries.events_query(sorted(chosen)))
                ]
        if not kept:
            found = self.events(chosen)
        infos = {info.event_id: info for info in found}
        return [
            Mover(
                infos.get(row.event_id) or EventInfo(row.event_id),
                row.market_name or row.market_key,
                _outcome_name(row, {}),
                row.outcome_id,
                PricePoint(
                    from_ms(row.first_at), row.first_odds, row.first_fractional, row.first_status
                ),
                PricePoint(
                    from_ms(row.last_at), row.last_odds, row.last_fractional, row.last_status
                ),
                row.moves,
            )
            for row in rows
        ]

    def _run(self, connection: Connection, query: Any) -> list[Row[Any]]:
        try:
            return list(connection.execute(query))
        except SQLAlchemyError as exc:
            raise HistoryError(f"{self.description}: {error_line(exc)}") from exc


# -- derived views -----------------------------------------------------------------------


def moves(histories: Sequence[OutcomeHistory], since: datetime | None = None) -> list[Move]:
    """Every stored price with the one before it, by time; the openings (no price
    before) included, each with its market's overround then. With *since*, only those
    from *since* on."""
    overrounds = market_overrounds(histories)
    found = [
        Move(
            point.time,
            h.event_id,
            h.market,
            h.outcome,
            h.outcome_id,
            before,
            point,
            overrounds.get((h.market, point.time)),
        )
        for h in histories
        for before, point in zip([None, *h.points[:-1]], h.points, strict=True)
        if since is None or point.time >= since
    ]
    # A stable sort: moves at the same time stay in market and outcome order.
    return sorted(found, key=lambda move: move.time)


def market_overrounds(
    histories: Sequence[OutcomeHistory],
) -> dict[tuple[str, datetime], float | None]:
    """Each market's overround from each time one of its prices was stored on, keyed by
    (market, time): the market as it stood then, each outcome seen so far at its price in
    force, judged by :func:`kwiff_scrapy.model.odds.market_overround` like a live market."""
    by_market: dict[str, list[OutcomeHistory]] = {}
    for history in histories:
        by_market.setdefault(history.market, []).append(history)
    found: dict[tuple[str, datetime], float | None] = {}
    for name, members in by_market.items():
        changes = sorted(
            (
                (point.time, index, point)
                for index, history in enumerate(members)
                for point in history.points
            ),
            key=lambda change: change[:2],
        )
        # is_book's tests, kept up to date change by change instead of on a whole market
        # each time: the name, and which outcomes in force are not open and priced above 1.
        book = is_book_name(name)
        in_force: dict[int, PricePoint] = {}
        unpriced: set[int] = set()
        for position, (time, index, point) in enumerate(changes):
            in_force[index] = point
            if point.odds is None or not point.odds > 1.0 or not is_open(point.status):
                unpriced.add(index)
            else:
                unpriced.discard(index)
            if position + 1 < len(changes) and changes[position + 1][0] == time:
                continue  # the market is whole once every price of this time is in
            if not book or unpriced or len(in_force) < 2:
                found[name, time] = None
            else:
                found[name, time] = overround([p.odds for p in in_force.values()])  # type: ignore[misc]
    return found


def plot_data(
    event: EventInfo, histories: Sequence[OutcomeHistory], *, probability: bool = False
) -> PlotData:
    """The step lines of *histories*: each outcome's odds (with *probability*, its implied
    probability) from each stored time on, every line carried on to the latest time stored
    for the event (any market)."""
    times = [point.time for h in histories for point in h.points]
    if not times:
        raise HistoryError(f"event {event.event_id} has no prices to plot")
    start, end = min(times), max([*times, *([event.last] if event.last else [])])
    panels: dict[str, list[Series]] = {}
    for history in histories:
        line_times = [point.time for point in history.points]
        odds = [
            price_probability(point.odds) if probability else point.odds for point in history.points
        ]
        backable = [point.status is None for point in history.points]
        if line_times[-1] < end:
            line_times.append(end)
            odds.append(odds[-1])
            backable.append(backable[-1])
        panels.setdefault(history.market, []).append(
            Series(history.outcome, line_times, odds, backable)
        )
    return PlotData(
        event,
        start,
        end,
        [MarketSeries(name, series) for name, series in panels.items()],
        probability,
    )


def _outcome_name(row: Row[Any], leg_names: dict[int, str]) -> str:
    legs = group_outcome_ids(row.outcome_key) if row.market_key == BET_BUILDER_MARKET else None
    if legs is not None:
        return " + ".join(leg_names.get(leg) or str(leg) for leg in legs)
    if row.outcome_name:
        return str(row.outcome_name)
    return str(row.outcome_id if row.outcome_id is not None else row.outcome_key)


def _event_info(row: Row[Any]) -> EventInfo:
    return EventInfo(
        event_id=row.event_id,
        sport_name=row.sport_name,
        competition_name=row.competition_name,
        home_team=row.home_team,
        away_team=row.away_team,
        start=from_ms(row.start_time) if row.start_time is not None else None,
        betting_status=row.betting_status,
        in_play=row.in_play,
        outcomes=row.outcomes,
        prices=row.prices,
        first=from_ms(row.first) if row.first is not None else None,
        last=from_ms(row.last) if row.last is not None else None,
    )


def _prices_with_names() -> Select[Any]:
    """Every stored price with its outcome's and market's names, outcome by outcome, oldest
    first (the rows of the moves table, the CSV, the plot and the biggest movers)."""
    return (
        select(
            outcomes.c.id,
            outcomes.c.event_id,
            outcomes.c.market_key,
            outcomes.c.outcome_key,
            outcomes.c.outcome_id,
            outcomes.c.name.label("outcome_name"),
            markets.c.name.label("market_name"),
            prices.c.fetched_at,
            prices.c.odds,
            prices.c.fractional,
            prices.c.status,
        )
        .join(
            markets,
            and_(
                markets.c.event_id == outcomes.c.event_id,
                markets.c.market_key == outcomes.c.market_key,
            ),
        )
        .join(prices, prices.c.outcome == outcomes.c.id)
        .order_by(outcomes.c.id, prices.c.fetched_at)
    )
