"""Reading the odds history, for ``scrapy kwiff history`` (and any other reader).

:class:`HistoryReader` opens a history database without writing to it (an SQLite
file that does not exist is not created) and answers in plain dataclasses:

- :meth:`~HistoryReader.events`: the events stored, with their counts;
- :meth:`~HistoryReader.event_prices`: every price of an event (optionally some markets)
  in columns, from which :func:`~.event_prices.event_moves` finds the moves;
  :meth:`~HistoryReader.outcome_histories`: the same as price points per outcome, from
  which :func:`plot_data` draws (and :func:`moves` makes a :class:`Move` per price);
- :meth:`~HistoryReader.top_movers`: the outcomes whose price moved most, relative to
  the price in force at the start of a window;
- :meth:`~HistoryReader.opening_closing`: each outcome's opening and closing prices
  (:mod:`kwiff_scrapy.history.report`).

Every problem is a :class:`~kwiff_scrapy.history.errors.HistoryError` of one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..model.changes import relative_change
from ..model.odds import price_probability
from . import summaries
from .errors import HistoryError
from .event_prices import EventMoves, EventPrices, event_moves, outcome_name, read_event_prices
from .movers import movers_query
from .records import from_ms, to_ms
from .replay import stream_changes
from .report import OpeningClosing, stream_opening_closing
from .schema import (
    EVENT_FIELDS,
    check_version,
    database_url,
    describe,
    error_line,
    events,
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
            *EVENT_FIELDS, grouped.c.outcomes, grouped.c.prices, grouped.c.first, grouped.c.last
        ).join(grouped, grouped.c.event_id == events.c.event_id)
        query = query.order_by(events.c.start_time, events.c.event_id)
        with self._connect() as connection:
            return [_event_info(row) for row in self._run(connection, query)]

    def event(self, event_id: int) -> EventInfo:
        """The event; ``HistoryError`` if the history has no price of it."""
        found = self.events([event_id])
        if not found:
            raise self._no_event(event_id)
        return found[0]

    def event_header(self, event_id: int) -> EventInfo:
        """The event's own fields, without its counts (no price is read: :meth:`event`
        counts them); ``HistoryError`` if the history has no such event."""
        with self._connect() as connection:
            rows = self._run(connection, select(*EVENT_FIELDS).where(events.c.event_id == event_id))
        if not rows:
            raise self._no_event(event_id)
        row = rows[0]
        return EventInfo(
            event_id=row.event_id,
            sport_name=row.sport_name,
            competition_name=row.competition_name,
            home_team=row.home_team,
            away_team=row.away_team,
            start=from_ms(row.start_time) if row.start_time is not None else None,
            betting_status=row.betting_status,
            in_play=row.in_play,
        )

    def _no_event(self, event_id: int) -> HistoryError:
        return HistoryError(f"event {event_id} is not in the odds history at {self.description}")

    # -- one event's prices ----------------------------------------------------------------

    def market_names(self, event_id: int) -> list[str]:
        """The names of the event's markets, in the order they were first stored."""
        return self.event_prices(event_id).markets()

    def event_prices(self, event_id: int, market_names: Sequence[str] | None = None) -> EventPrices:
        """Every stored price of the event's outcomes, in columns (no object per price),
        outcome by outcome in the order they were first stored (markets together); only
        *market_names* if given (any case). ``HistoryError`` for a market name the event
        does not have."""
        with self._connect() as connection:
            try:
                found, names = read_event_prices(connection, event_id, market_names)
            except SQLAlchemyError as exc:
                raise HistoryError(f"{self.description}: {error_line(exc)}") from exc
        if not found.lines and not names:
            raise self._no_event(event_id)
        if market_names:
            known = {name.casefold() for name in names}
            unknown = [name for name in market_names if name.casefold() not in known]
            if unknown:
                raise HistoryError(
                    f"event {event_id} has no market {unknown[0]!r} in the odds history; "
                    f"its markets: {', '.join(names)}"
                )
        return found

    def outcome_histories(
        self, event_id: int, market_names: Sequence[str] | None = None
    ) -> list[OutcomeHistory]:
        """:meth:`event_prices` as one :class:`OutcomeHistory` per outcome (a
        :class:`PricePoint` per price: for the plot, which draws one market)."""
        return outcome_histories(self.event_prices(event_id, market_names))

    # -- the biggest movers --------------------------------------------------------------

    def top_movers(
        self, limit: int, since: datetime | None = None, event_id: int | None = None
    ) -> list[Mover]:
        """The *limit* outcomes whose price moved most (relatively, either way) since
        *since* (None: ever), from the price in force at *since* to the latest one."""
        with self._connect() as connection:
            try:
                version = stored_version(connection) or 0
            except SQLAlchemyError as exc:
                raise HistoryError(f"{self.description}: {error_line(exc)}") from exc
            kept = version >= 3
            query = movers_query(
                limit,
                to_ms(since) if since is not None else None,
                event_id,
                summaries=kept,
                lateral=connection.dialect.name == "postgresql",
                by_events=version >= 5,
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


def outcome_histories(found: EventPrices) -> list[OutcomeHistory]:
    """*found* as one :class:`OutcomeHistory` per outcome, in the same order."""
    times, odds, fractional, status = found.times, found.odds, found.fractional, found.status
    return [
        OutcomeHistory(
            found.event_id,
            line.market,
            line.outcome,
            line.outcome_id,
            [
                PricePoint(from_ms(times[r]), odds[r], fractional[r], status[r])
                for r in range(line.start, line.end)
            ],
        )
        for line in found.lines
    ]


def event_prices_of(histories: Sequence[OutcomeHistory]) -> EventPrices:
    """*histories* in columns (their times to the millisecond, as the history stores them)."""
    found = EventPrices(histories[0].event_id if histories else 0)
    for history in histories:
        found.append_line(
            history.market,
            history.outcome,
            history.outcome_id,
            (
                [to_ms(p.time) for p in history.points],
                [p.odds for p in history.points],
                [p.fractional for p in history.points],
                [p.status for p in history.points],
            ),
        )
    return found


def moves(histories: Sequence[OutcomeHistory], since: datetime | None = None) -> list[Move]:
    """Every stored price with the one before it, by time; the openings (no price
    before) included, each with its market's overround then. With *since*, only those
    from *since* on. (:func:`~.event_prices.event_moves` without a :class:`Move` per
    price is what the command and the dashboard use.)"""
    found = event_moves(event_prices_of(histories), since_ms(since) if since is not None else None)
    return move_objects(found, found.rows)


def move_objects(found: EventMoves, rows: Iterable[int]) -> list[Move]:
    """The :class:`Move` of each of *rows* of *found*."""
    data = found.prices
    lines, line_of, times = data.lines, data.line, data.times
    odds, fractional, status = data.odds, data.fractional, data.status
    made = []
    for r in rows:
        line = lines[line_of[r]]
        before = (
            None
            if found.opening[r]
            else PricePoint(from_ms(times[r - 1]), odds[r - 1], fractional[r - 1], status[r - 1])
        )
        made.append(
            Move(
                from_ms(times[r]),
                data.event_id,
                line.market,
                line.outcome,
                line.outcome_id,
                before,
                PricePoint(from_ms(times[r]), odds[r], fractional[r], status[r]),
                found.overround[r],
            )
        )
    return made


def since_ms(since: datetime) -> int:
    """The first millisecond at or after *since* (a price from *since* on is at or after it)."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return -(-((since - _EPOCH) // timedelta(microseconds=1)) // 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def market_overrounds(
    histories: Sequence[OutcomeHistory],
) -> dict[tuple[str, datetime], float | None]:
    """Each market's overround from each time one of its prices was stored on, keyed by
    (market, time): the market as it stood then, each outcome seen so far at its price in
    force, judged by :func:`kwiff_scrapy.model.odds.market_overround` like a live market."""
    found = event_moves(event_prices_of(histories))
    data = found.prices
    points = [point for history in histories for point in history.points]
    return {
        (data.lines[data.line[r]].market, points[r].time): found.overround[r] for r in found.rows
    }


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
    return outcome_name(
        row.market_key, row.outcome_key, row.outcome_id, row.outcome_name, leg_names
    )


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
