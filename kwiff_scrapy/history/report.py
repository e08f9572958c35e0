"""Opening and closing prices: one query over the odds history, done in the database.

:func:`stream_opening_closing` (and :func:`opening_closing`, the same as a list) gives,
per event and outcome, an :class:`OpeningClosing`: the opening price, the closing
price, the high, the low and the last price, biggest closing moves first. It is what
``scrapy kwiff history --report`` prints, and what a board shows for one event.

The definitions (also in docs/history.md):

- an **open price** is a stored row with decimal odds above 1 and no status (the
  outcome could be backed at that price);
- the **opening** price is the outcome's first open price stored;
- the **closing** price is its last open price stored at or before kick-off
  (``fetched_at <= start_time``), with these cases:

  - an event that has not kicked off (kick-off later than *now*, or unknown) has no
    closing price yet;
  - an outcome **suspended at kick-off** (the row in force then has a status but still
    odds) closes at its last open price before the suspension; ``kickoff_status`` says
    ``"suspended"``;
  - an outcome **removed** by kick-off, or with no price then (the row in force then
    has no odds: ``"removed"``, ``"unpriced"``) has no closing price, and
    ``kickoff_status`` says why;
  - an outcome first stored after kick-off has no closing price;

- **high** and **low** are over every open price stored (before and after kick-off),
  **last** is the latest row stored, whatever its status;
- the **move** is opening → closing: relative (``(closing - opening) / opening``,
  :func:`~kwiff_scrapy.model.changes.relative_change`) and in probability points (the
  closing price's implied probability minus the opening's,
  :func:`~kwiff_scrapy.model.odds.price_probability`).

Order: the biggest closing moves (absolute relative move) first; then the outcomes with
no closing price, by their move opening → last; then by event and outcome.

Memory stays bounded whatever the history's size: one query in the database, streamed
row by row to the caller. On a history with the outcomes' summaries (schema version 3)
it starts from them: per outcome, two look-ups for kick-off and one per row shown, no
price aggregated. On an older one, read as it is, one ``GROUP BY`` of the outcomes'
prices (aggregates and ``CASE`` only: the same statement on SQLite and PostgreSQL),
then four primary-key look-ups per outcome.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from ..model.changes import relative_change
from ..model.odds import price_probability
from . import summaries
from .errors import HistoryError
from .records import BET_BUILDER_MARKET, from_ms, group_outcome_ids
from .schema import describe, error_line, events, markets, outcome_summaries, outcomes, prices

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine, Row


@dataclass(frozen=True, slots=True)
class OpeningClosing:
    """One outcome's opening, closing, high, low and last prices (odds: decimal)."""

    event_id: int
    home_team: str | None
    away_team: str | None
    competition_name: str | None
    start: datetime | None
    market: str
    outcome: str
    outcome_id: int | None
    #: Price rows stored for the outcome.
    prices: int
    opening: float | None
    opening_at: datetime | None
    #: None: no closing price (see the module's definitions).
    closing: float | None
    closing_at: datetime | None
    #: The status of the row in force at kick-off (None: open, or not kicked off yet).
    kickoff_status: str | None
    high: float | None
    low: float | None
    #: The latest row: its odds (None: no price) and status (None: open).
    last: float | None
    last_status: str | None
    last_at: datetime
    #: Whether the event had kicked off when the report was made.
    started: bool

    @property
    def teams(self) -> str:
        if self.home_team or self.away_team:
            return f"{self.home_team or '?'} v {self.away_team or '?'}"
        return f"event {self.event_id}"

    @property
    def move(self) -> float | None:
        """Opening → closing, relative (``0.05`` is +5 %); None without both."""
        return relative_change(self.opening, self.closing)

    @property
    def move_points(self) -> float | None:
        """Opening → closing in implied probability (``0.03`` is +3 points)."""
        return _points(self.opening, self.closing)

    @property
    def last_move(self) -> float | None:
        """Opening → last, relative; None without both (or if the last has no odds)."""
        return relative_change(self.opening, self.last if self.last_status is None else None)


def _points(before: float | None, after: float | None) -> float | None:
    start, end = price_probability(before), price_probability(after)
    return None if start is None or end is None else end - start


def opening_closing(
    engine: Engine,
    *,
    event_id: int | None = None,
    since_ms: int | None = None,
    market: Sequence[str] | str | None = None,
    limit: int | None = None,
    now_ms: int | None = None,
) -> list[OpeningClosing]:
    """:func:`stream_opening_closing` as a list (for one event, or with a *limit*)."""
    return list(
        stream_opening_closing(
            engine,
            event_id=event_id,
            since_ms=since_ms,
            market=market,
            limit=limit,
            now_ms=now_ms,
        )
    )


def stream_opening_closing(
    engine: Engine,
    *,
    event_id: int | None = None,
    since_ms: int | None = None,
    market: Sequence[str] | str | None = None,
    limit: int | None = None,
    now_ms: int | None = None,
) -> Iterator[OpeningClosing]:
    """Each outcome's :class:`OpeningClosing`, biggest closing moves first, row by row.

    *event_id*: that event only. *since_ms*: the events that kicked off between it
    (milliseconds since the epoch) and *now_ms*. *market*: only
    the markets of these names (any case). *limit*: at most that many rows. *now_ms*:
    the time that decides whether an event has kicked off (default: now).
    ``HistoryError`` (one line) if the database fails. The connection is held until
    the iterator is exhausted or closed.
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    try:
        with engine.connect() as connection:
            build = _summary_query if summaries.available(connection) else _report_query
            query = build(
                event_id=event_id,
                since_ms=since_ms,
                markets_named=[market] if isinstance(market, str) else market,
                limit=limit,
                now_ms=now,
            )
            result = connection.execution_options(stream_results=True, yield_per=500).execute(query)
            try:
                for row in result:
                    yield _row(row, now)
            finally:
                result.close()
    except SQLAlchemyError as exc:
        raise HistoryError(f"{describe(engine.url)}: {error_line(exc)}") from exc


def _report_query(
    *,
    event_id: int | None,
    since_ms: int | None,
    markets_named: Sequence[str] | None,
    limit: int | None,
    now_ms: int,
) -> Any:
    kickoff = events.c.start_time
    started = and_(kickoff.is_not(None), kickoff <= now_ms)
    before_kickoff = and_(started, prices.c.fetched_at <= kickoff)
    is_open = and_(prices.c.odds > 1, prices.c.status.is_(None))
    market_name = func.coalesce(markets.c.name, markets.c.market_key)
    summary = (
        select(
            outcomes.c.id.label("outcome"),
            func.count().label("prices"),
            func.min(case((is_open, prices.c.fetched_at))).label("opening_at"),
            func.max(case((and_(is_open, before_kickoff), prices.c.fetched_at))).label(
                "closing_at"
            ),
            func.max(case((before_kickoff, prices.c.fetched_at))).label("kickoff_at"),
            func.max(prices.c.fetched_at).label("last_at"),
            func.max(case((is_open, prices.c.odds))).label("high"),
            func.min(case((is_open, prices.c.odds))).label("low"),
        )
        .select_from(
            events.join(outcomes, outcomes.c.event_id == events.c.event_id)
            .join(
                markets,
                and_(
                    markets.c.event_id == outcomes.c.event_id,
                    markets.c.market_key == outcomes.c.market_key,
                ),
            )
            .join(prices, prices.c.outcome == outcomes.c.id)
        )
        .group_by(outcomes.c.id)
    )
    if event_id is not None:
        summary = summary.where(events.c.event_id == event_id)
    if since_ms is not None:
        # The events first (kwiff_events_start), then their outcomes: never every outcome.
        kicked_off = select(events.c.event_id).where(
            events.c.start_time >= since_ms, events.c.start_time <= now_ms
        )
        summary = summary.where(
            kickoff >= since_ms, kickoff <= now_ms, outcomes.c.event_id.in_(kicked_off)
        )
    if markets_named:
        wanted = sorted({name.casefold() for name in markets_named})
        summary = summary.where(func.lower(market_name).in_(wanted))
    agg = summary.subquery("summary")

    opening = prices.alias("opening")
    closing = prices.alias("closing")
    at_kickoff = prices.alias("at_kickoff")
    last = prices.alias("last")
    closing_odds = case((at_kickoff.c.odds.is_(None), None), else_=closing.c.odds)
    closing_move = func.abs((closing_odds - opening.c.odds) / opening.c.odds)
    last_move = func.abs(
        (case((last.c.status.is_(None), last.c.odds)) - opening.c.odds) / opening.c.odds
    )

    def at(alias: Any, column: Any) -> Any:
        return and_(alias.c.outcome == agg.c.outcome, alias.c.fetched_at == column)

    query = (
        select(
            events.c.event_id,
            events.c.home_team,
            events.c.away_team,
            events.c.competition_name,
            events.c.start_time,
            markets.c.market_key,
            market_name.label("market_name"),
            outcomes.c.outcome_key,
            outcomes.c.outcome_id,
            outcomes.c.name.label("outcome_name"),
            agg.c.prices,
            opening.c.odds.label("opening"),
            agg.c.opening_at,
            closing_odds.label("closing"),
            agg.c.closing_at,
            at_kickoff.c.odds.label("kickoff_odds"),
            at_kickoff.c.status.label("kickoff_status"),
            agg.c.high,
            agg.c.low,
            last.c.odds.label("last"),
            last.c.status.label("last_status"),
            agg.c.last_at,
        )
        .select_from(
            agg.join(outcomes, outcomes.c.id == agg.c.outcome)
            .join(events, events.c.event_id == outcomes.c.event_id)
            .join(
                markets,
                and_(
                    markets.c.event_id == outcomes.c.event_id,
                    markets.c.market_key == outcomes.c.market_key,
                ),
            )
            .outerjoin(opening, at(opening, agg.c.opening_at))
            .outerjoin(closing, at(closing, agg.c.closing_at))
            .outerjoin(at_kickoff, at(at_kickoff, agg.c.kickoff_at))
            .join(last, at(last, agg.c.last_at))
        )
        .order_by(
            closing_move.desc().nulls_last(),
            last_move.desc().nulls_last(),
            events.c.event_id,
            outcomes.c.id,
        )
    )
    if limit is not None:
        query = query.limit(limit)
    return query


def _summary_query(
    *,
    event_id: int | None,
    since_ms: int | None,
    markets_named: Sequence[str] | None,
    limit: int | None,
    now_ms: int,
) -> Any:
    """:func:`_report_query`'s rows from the outcomes' summaries (schema version 3): per
    outcome, two look-ups by primary key for the rows at kick-off, then each row it shows
    by primary key; never a scan of an outcome's prices."""
    summary = outcome_summaries
    kickoff = events.c.start_time
    started = and_(kickoff.is_not(None), kickoff <= now_ms)
    market_name = func.coalesce(markets.c.name, markets.c.market_key)
    before = prices.alias("before")
    in_force = (
        select(func.max(before.c.fetched_at))
        .where(before.c.outcome == summary.c.outcome, before.c.fetched_at <= kickoff)
        .scalar_subquery()
    )
    open_before = prices.alias("open_before")
    # The latest open row at or before kick-off: a walk back through the primary key
    # that stops at the first open row (most often the row in force).
    last_open = (
        select(open_before.c.fetched_at)
        .where(
            open_before.c.outcome == summary.c.outcome,
            open_before.c.fetched_at <= kickoff,
            open_before.c.odds > 1,
            open_before.c.status.is_(None),
        )
        .order_by(open_before.c.fetched_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    chosen = select(
        summary.c.outcome,
        summary.c.prices,
        summary.c.opening_at,
        case((started, last_open)).label("closing_at"),
        case((started, in_force)).label("kickoff_at"),
        summary.c.high,
        summary.c.low,
        summary.c.last_at,
        summary.c.last_odds,
        summary.c.last_status,
    ).select_from(
        summary.join(events, events.c.event_id == summary.c.event_id)
        .join(outcomes, outcomes.c.id == summary.c.outcome)
        .join(
            markets,
            and_(
                markets.c.event_id == outcomes.c.event_id,
                markets.c.market_key == outcomes.c.market_key,
            ),
        )
    )
    if event_id is not None:
        chosen = chosen.where(summary.c.event_id == event_id)
    if since_ms is not None:
        # The events first (kwiff_events_start), then their outcomes' summaries.
        chosen = chosen.where(kickoff >= since_ms, kickoff <= now_ms)
    if markets_named:
        wanted = sorted({name.casefold() for name in markets_named})
        chosen = chosen.where(func.lower(market_name).in_(wanted))
    agg = chosen.cte("chosen").prefix_with("MATERIALIZED")

    opening = prices.alias("opening")
    closing = prices.alias("closing")
    at_kickoff = prices.alias("at_kickoff")
    closing_odds = case((at_kickoff.c.odds.is_(None), None), else_=closing.c.odds)
    closing_move = func.abs((closing_odds - opening.c.odds) / opening.c.odds)
    last_move = func.abs(
        (case((agg.c.last_status.is_(None), agg.c.last_odds)) - opening.c.odds) / opening.c.odds
    )

    def at(alias: Any, column: Any) -> Any:
        return and_(alias.c.outcome == agg.c.outcome, alias.c.fetched_at == column)

    query = (
        select(
            events.c.event_id,
            events.c.home_team,
            events.c.away_team,
            events.c.competition_name,
            events.c.start_time,
            markets.c.market_key,
            market_name.label("market_name"),
            outcomes.c.outcome_key,
            outcomes.c.outcome_id,
            outcomes.c.name.label("outcome_name"),
            agg.c.prices,
            opening.c.odds.label("opening"),
            agg.c.opening_at,
            closing_odds.label("closing"),
            agg.c.closing_at,
            at_kickoff.c.odds.label("kickoff_odds"),
            at_kickoff.c.status.label("kickoff_status"),
            agg.c.high,
            agg.c.low,
            agg.c.last_odds.label("last"),
            agg.c.last_status,
            agg.c.last_at,
        )
        .select_from(
            agg.join(outcomes, outcomes.c.id == agg.c.outcome)
            .join(events, events.c.event_id == outcomes.c.event_id)
            .join(
                markets,
                and_(
                    markets.c.event_id == outcomes.c.event_id,
                    markets.c.market_key == outcomes.c.market_key,
                ),
            )
            .outerjoin(opening, at(opening, agg.c.opening_at))
            .outerjoin(closing, at(closing, agg.c.closing_at))
            .outerjoin(at_kickoff, at(at_kickoff, agg.c.kickoff_at))
        )
        .order_by(
            closing_move.desc().nulls_last(),
            last_move.desc().nulls_last(),
            events.c.event_id,
            outcomes.c.id,
        )
    )
    if limit is not None:
        query = query.limit(limit)
    return query


def _row(row: Row[Any], now_ms: int) -> OpeningClosing:
    start = row.start_time
    started = start is not None and start <= now_ms
    closing = row.closing if started else None
    return OpeningClosing(
        event_id=row.event_id,
        home_team=row.home_team,
        away_team=row.away_team,
        competition_name=row.competition_name,
        start=from_ms(start) if start is not None else None,
        market=row.market_name,
        outcome=outcome_label(row.market_key, row.outcome_key, row.outcome_id, row.outcome_name),
        outcome_id=row.outcome_id,
        prices=row.prices,
        opening=row.opening,
        opening_at=from_ms(row.opening_at) if row.opening_at is not None else None,
        closing=closing,
        closing_at=from_ms(row.closing_at) if closing is not None else None,
        kickoff_status=row.kickoff_status if started else None,
        high=row.high,
        low=row.low,
        last=row.last,
        last_status=row.last_status,
        last_at=from_ms(row.last_at),
        started=started,
    )


def outcome_label(
    market_key: str, outcome_key: str, outcome_id: int | None, name: str | None
) -> str:
    """An outcome's name as the history shows it without looking anything else up: its
    name, else its id; a bet-builder group by its legs' ids."""
    legs = group_outcome_ids(outcome_key) if market_key == BET_BUILDER_MARKET else None
    if legs is not None:
        return " + ".join(str(leg) for leg in legs)
    if name:
        return str(name)
    return str(outcome_id if outcome_id is not None else outcome_key)
