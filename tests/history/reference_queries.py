"""The history's queries as they were before the database did their work: every price of
the window loaded into Python, then grouped there. The tests compare today's queries
with these on the same data; nothing else uses them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from kwiff_scrapy.history.queries import (
    EventInfo,
    HistoryReader,
    Mover,
    PricePoint,
    _event_info,
    _outcome_name,
    _prices_with_names,
)
from kwiff_scrapy.history.records import from_ms, to_ms
from kwiff_scrapy.history.schema import events, outcomes, prices
from kwiff_scrapy.model.changes import relative_change


def old_events(reader: HistoryReader, event_ids: set[int] | None = None) -> list[EventInfo]:
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
        .subquery()
    )
    query = select(events, counts.c.outcomes, counts.c.prices, counts.c.first, counts.c.last).join(
        counts, counts.c.event_id == events.c.event_id
    )
    if event_ids is not None:
        query = query.where(events.c.event_id.in_(list(event_ids)))
    query = query.order_by(events.c.start_time, events.c.event_id)
    with reader._engine.connect() as connection:
        return [_event_info(row) for row in connection.execute(query)]


def _point(row: Any) -> PricePoint:
    return PricePoint(from_ms(row.fetched_at), row.odds, row.fractional, row.status)


def old_top_movers(
    reader: HistoryReader, limit: int, since: datetime | None = None, event_id: int | None = None
) -> list[Mover]:
    since_ms = to_ms(since) if since is not None else None
    query = _prices_with_names()
    if event_id is not None:
        query = query.where(outcomes.c.event_id == event_id)
    if since_ms is not None:
        opening = (
            select(prices.c.outcome, func.max(prices.c.fetched_at).label("at"))
            .where(prices.c.fetched_at <= since_ms)
            .group_by(prices.c.outcome)
            .subquery()
        )
        query = query.outerjoin(opening, opening.c.outcome == outcomes.c.id).where(
            (prices.c.fetched_at > since_ms) | (prices.c.fetched_at == opening.c.at)
        )
    with reader._engine.connect() as connection:
        rows = list(connection.execute(query))
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.id, []).append(row)
    candidates: list[tuple[list[Any], PricePoint, PricePoint, int]] = []
    for series in grouped.values():
        priced = [row for row in series if row.odds is not None]
        if len(priced) < 2:
            continue
        first, last = _point(priced[0]), _point(priced[-1])
        if relative_change(first.odds, last.odds):
            candidates.append((series, first, last, len(series) - 1))
    candidates.sort(
        key=lambda c: (-abs(relative_change(c[1].odds, c[2].odds) or 0), -to_ms(c[2].time))
    )
    chosen = candidates[:limit]
    infos = {info.event_id: info for info in old_events(reader, {c[0][0].event_id for c in chosen})}
    return [
        Mover(
            infos.get(series[0].event_id) or EventInfo(series[0].event_id),
            series[0].market_name or series[0].market_key,
            _outcome_name(series[0], {}),
            series[0].outcome_id,
            first,
            last,
            moves,
        )
        for series, first, last, moves in chosen
    ]


def old_market_overrounds(histories: Any) -> dict[tuple[str, datetime], float | None]:
    """Each market's overround at each time, a whole Market built for each time."""
    from kwiff_scrapy.model.items import Market, Outcome
    from kwiff_scrapy.model.odds import market_overround

    by_market: dict[str, list[Any]] = {}
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
        in_force: dict[int, PricePoint] = {}
        for position, (time, index, point) in enumerate(changes):
            in_force[index] = point
            if position + 1 < len(changes) and changes[position + 1][0] == time:
                continue
            market = Market(
                name=name,
                outcomes=[Outcome(odds=p.odds, status=p.status) for p in in_force.values()],
            )
            found[name, time] = market_overround(market)
    return found
