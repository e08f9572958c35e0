"""The history's queries as they were before the database did their work: every price of
the window loaded into Python, then grouped there. The tests compare today's queries
with these on the same data; nothing else uses them."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select

from kwiff_scrapy.commands.history import MOVE_HEADERS
from kwiff_scrapy.commands.preview import display_width
from kwiff_scrapy.history.export import CSV_FIELDS
from kwiff_scrapy.history.queries import (
    EventInfo,
    HistoryReader,
    Move,
    Mover,
    OutcomeHistory,
    PricePoint,
    _event_info,
    _outcome_name,
)
from kwiff_scrapy.history.records import (
    BET_BUILDER_MARKET,
    from_ms,
    group_outcome_ids,
    to_ms,
)
from kwiff_scrapy.history.schema import events, markets, outcomes, prices
from kwiff_scrapy.model.changes import relative_change
from kwiff_scrapy.model.values import iso_utc_datetime


def _prices_with_names() -> Select[Any]:
    """Every stored price with its outcome's and market's names, outcome by outcome, oldest
    first (what the old queries read)."""
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


# -- one event: as history --event, its CSV and the dashboard's event page did it -----------


def old_outcome_histories(reader: HistoryReader, event_id: int) -> list[OutcomeHistory]:
    """Every price of the event as a PricePoint, grouped outcome by outcome (markets in the
    order first stored), the bet-builder groups named by their legs."""
    with reader._engine.connect() as connection:
        rows = list(connection.execute(_prices_with_names().where(outcomes.c.event_id == event_id)))
        legs = {
            leg
            for row in rows
            if row.market_key == BET_BUILDER_MARKET
            for leg in group_outcome_ids(row.outcome_key) or []
        }
        leg_names = {}
        if legs:
            query = select(outcomes.c.outcome_id, outcomes.c.name).where(
                outcomes.c.event_id == event_id, outcomes.c.outcome_id.in_(sorted(legs))
            )
            leg_names = {r.outcome_id: r.name for r in connection.execute(query) if r.name}
    by_outcome: dict[int, OutcomeHistory] = {}
    first_of_market: dict[str, int] = {}
    for row in rows:
        history = by_outcome.get(row.id)
        if history is None:
            market = row.market_name or row.market_key
            history = by_outcome[row.id] = OutcomeHistory(
                event_id, market, _outcome_name(row, leg_names), row.outcome_id
            )
            first_of_market.setdefault(market, len(first_of_market))
        history.points.append(_point(row))
    return sorted(by_outcome.values(), key=lambda h: first_of_market[h.market])


def old_moves(histories: list[OutcomeHistory], since: datetime | None = None) -> list[Move]:
    """A Move per price, each with its market's overround then (a whole Market each time)."""
    overrounds = old_market_overrounds(histories)
    found = [
        Move(
            point.time, h.event_id, h.market, h.outcome, h.outcome_id, before, point,
            overrounds.get((h.market, point.time)),
        )
        for h in histories
        for before, point in zip([None, *h.points[:-1]], h.points, strict=True)
        if since is None or point.time >= since
    ]  # fmt: skip
    return sorted(found, key=lambda move: move.time)


def old_moves_csv(found: list[Move]) -> str:
    """The CSV as write_moves_csv wrote it, a Move a row."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(CSV_FIELDS)
    for move in found:
        change = move.change
        writer.writerow(
            (
                iso_utc_datetime(move.time), move.event_id, move.market, move.outcome,
                "" if move.outcome_id is None else move.outcome_id,
                _number(move.before.odds if move.before is not None else None),
                _number(move.after.odds), "" if change is None else f"{change:.6f}",
                move.after.fractional or "", move.after.status or "",
                _number(move.previous_implied_probability), _number(move.implied_probability),
                _number(move.market_overround),
            )
        )  # fmt: skip
    return text.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def old_move_table(found: list[Move]) -> str:
    """The table of moves of history --event: cells a Move at a time, each padded to its
    column's display width, each line stripped."""
    arrow = "\N{RIGHTWARDS ARROW}"

    def price(odds: float | None, status: str | None) -> str:
        text = f"{odds:.2f}" if odds is not None else ""
        if status:
            text = f"{text} ({status})" if text else status
        return text or "-"

    def percent(fraction: float | None) -> str:
        return f"{fraction * 100:.1f}%" if fraction is not None else "-"

    lines = [tuple(MOVE_HEADERS)]
    for move in found:
        if move.before is None:
            continue
        change = move.change
        lines.append(
            (
                move.time.strftime("%Y-%m-%d %H:%M:%S"), move.market, move.outcome,
                f"{price(move.before.odds, move.before.status)} {arrow} "
                f"{price(move.after.odds, move.after.status)}",
                f"{change * 100:+.1f}%" if change is not None else "",
                f"{percent(move.previous_implied_probability)} {arrow} "
                f"{percent(move.implied_probability)}",
                percent(move.market_overround),
            )
        )  # fmt: skip
    widths = [max(display_width(line[i]) for line in lines) for i in range(len(MOVE_HEADERS))]
    rows = [lines[0], tuple("-" * width for width in widths), *lines[1:]]
    return "\n".join(
        "  ".join(
            cell + " " * (width - display_width(cell))
            for cell, width in zip(line, widths, strict=True)
        ).rstrip()
        for line in rows
    )
