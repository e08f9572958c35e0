"""The biggest movers: one query, done in the database, whatever the history's size.

:func:`movers_query` selects at most *limit* outcomes whose price moved most
(relatively, either way) in a window, with what
:meth:`~kwiff_scrapy.history.queries.HistoryReader.top_movers` shows of each. The
definitions:

- an outcome's **series** in the window is its price rows stored after *since*, and
  the row in force at *since* (its latest row at or before it); without *since*, every
  row of the outcome;
- **first** and **last** are the first and the last row of the series with odds (a
  row without odds: removed or unpriced); the outcome moved if it has two such rows
  and ``relative_change(first, last)`` is neither 0 nor None;
- **moves** is the number of rows of the series, less one;
- order: the biggest absolute relative change first, then the latest last price,
  then the outcome's id (the order it was first stored).

The database does the work: the outcomes with a row in the window found in the
``kwiff_prices_time`` index, one ``GROUP BY`` of their window's rows read through the
primary key (outcome, ``fetched_at``) (aggregates and ``CASE`` only, the same statement
on SQLite and PostgreSQL), the row in force at *since* looked up once per outcome, then
primary-key look-ups of the first and last prices. Only the *limit* rows chosen leave
the database, so memory is bounded whatever the history's size; the time grows with
the window's rows (without *since*: with the whole history's).

That is the query of a database without the outcomes' summaries (schema version 2, read
as it is). With them (version 3), the candidates are the summaries whose latest row is
after *since*, and each outcome's rows are looked up, never scanned: the time grows with
the outcomes that moved in the window (:func:`_from_summaries`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Double, and_, case, cast, func, literal, null, select, true

from .schema import events, markets, outcome_summaries, outcomes, prices


def movers_query(
    limit: int,
    since_ms: int | None = None,
    event_id: int | None = None,
    *,
    summaries: bool = False,
    lateral: bool = False,
    by_events: bool = False,
) -> Any:
    """The statement of the *limit* biggest movers since *since_ms* (None: ever), of the
    event *event_id* only if given. Its rows: ``id``, ``event_id``, ``market_key``,
    ``outcome_key``, ``outcome_id``, ``outcome_name``, ``market_name``, ``moves`` and
    the first and last prices (``first_at``, ``first_odds``, ``first_fractional``,
    ``first_status``, and the same for ``last_``).

    *summaries*: the database keeps the outcomes' summaries (schema version 3): the
    candidates come from them, and each outcome's prices are looked up, never scanned.
    *lateral* (PostgreSQL; SQLite has no ``LATERAL``): with them, the row in force at
    *since* is found by one walk for its time and odds, not one each. *by_events*
    (schema version 5, where the summaries' ``last_at`` has no index): the candidates
    are the summaries of the events updated since *since*."""
    if summaries:
        return _from_summaries(limit, since_ms, event_id, lateral=lateral, by_events=by_events)
    has_odds = prices.c.odds.is_not(None)
    window = select(
        prices.c.outcome,
        func.count().label("rows"),
        func.count(prices.c.odds).label("priced"),
        func.min(case((has_odds, prices.c.fetched_at))).label("first_at"),
        func.max(case((has_odds, prices.c.fetched_at))).label("last_at"),
    ).group_by(prices.c.outcome)
    if since_ms is not None:
        # The outcomes with a row in the window, from the time index alone (it holds the
        # outcome too), then each one's rows through the primary key: the work grows with
        # the window's rows, never with the history's.
        moved = prices.alias("moved")
        window = window.where(
            prices.c.fetched_at > since_ms,
            prices.c.outcome.in_(select(moved.c.outcome).where(moved.c.fetched_at > since_ms)),
        )
    if event_id is not None:
        window = window.where(
            prices.c.outcome.in_(select(outcomes.c.id).where(outcomes.c.event_id == event_id))
        )
    grouped = window.subquery("grouped")

    if since_ms is None:
        series = select(
            grouped.c.outcome,
            (grouped.c.rows - 1).label("moves"),
            grouped.c.first_at,
            grouped.c.last_at,
        ).where(grouped.c.priced >= 2)
    else:
        # The row in force at since: found by the primary key, for these outcomes only
        # (materialized: the time is looked up once per outcome, not once per use).
        before = prices.alias("before")
        opening_at = (
            select(func.max(before.c.fetched_at))
            .where(before.c.outcome == grouped.c.outcome, before.c.fetched_at <= since_ms)
            .scalar_subquery()
        )
        with_opening = (
            select(grouped, opening_at.label("opening_at"))
            .cte("with_opening")
            .prefix_with("MATERIALIZED")
        )
        opening = prices.alias("opening")
        opening_priced = and_(with_opening.c.opening_at.is_not(None), opening.c.odds.is_not(None))
        series = (
            select(
                with_opening.c.outcome,
                (
                    with_opening.c.rows
                    - 1
                    + case((with_opening.c.opening_at.is_not(None), 1), else_=0)
                ).label("moves"),
                case(
                    (opening_priced, with_opening.c.opening_at), else_=with_opening.c.first_at
                ).label("first_at"),
                with_opening.c.last_at,
            )
            .select_from(
                with_opening.outerjoin(
                    opening,
                    and_(
                        opening.c.outcome == with_opening.c.outcome,
                        opening.c.fetched_at == with_opening.c.opening_at,
                    ),
                )
            )
            .where(with_opening.c.priced + case((opening_priced, 1), else_=literal(0)) >= 2)
        )
    chosen = series.subquery("series")

    first = prices.alias("first")
    last = prices.alias("last")
    change = (last.c.odds - first.c.odds) / first.c.odds
    # The biggest moves first, chosen before the names are joined: the outcome and market
    # rows are read for the chosen rows only.
    ranked = (
        select(
            chosen.c.outcome,
            chosen.c.moves,
            func.abs(change).label("size"),
            first.c.fetched_at.label("first_at"),
            first.c.odds.label("first_odds"),
            first.c.fractional.label("first_fractional"),
            first.c.status.label("first_status"),
            last.c.fetched_at.label("last_at"),
            last.c.odds.label("last_odds"),
            last.c.fractional.label("last_fractional"),
            last.c.status.label("last_status"),
        )
        .select_from(
            chosen.join(
                first,
                and_(first.c.outcome == chosen.c.outcome, first.c.fetched_at == chosen.c.first_at),
            ).join(
                last,
                and_(last.c.outcome == chosen.c.outcome, last.c.fetched_at == chosen.c.last_at),
            )
        )
        # relative_change: None where the first odds are 0, and 0 is no move.
        .where(first.c.odds != 0, last.c.odds != first.c.odds)
        .order_by(func.abs(change).desc(), last.c.fetched_at.desc(), chosen.c.outcome)
        .limit(limit)
        .subquery("ranked")
    )
    return _named(ranked)


def _named(ranked: Any) -> Any:
    """The *ranked* rows with their outcome's and market's names, in their order."""
    return (
        select(
            outcomes.c.id,
            outcomes.c.event_id,
            outcomes.c.market_key,
            outcomes.c.outcome_key,
            outcomes.c.outcome_id,
            outcomes.c.name.label("outcome_name"),
            markets.c.name.label("market_name"),
            ranked.c.moves,
            ranked.c.first_at,
            ranked.c.first_odds,
            ranked.c.first_fractional,
            ranked.c.first_status,
            ranked.c.last_at,
            ranked.c.last_odds,
            ranked.c.last_fractional,
            ranked.c.last_status,
        )
        .select_from(
            ranked.join(outcomes, outcomes.c.id == ranked.c.outcome).join(
                markets,
                and_(
                    markets.c.event_id == outcomes.c.event_id,
                    markets.c.market_key == outcomes.c.market_key,
                ),
            )
        )
        .order_by(ranked.c.size.desc(), ranked.c.last_at.desc(), ranked.c.outcome)
    )


def _from_summaries(
    limit: int,
    since_ms: int | None,
    event_id: int | None,
    *,
    lateral: bool = False,
    by_events: bool = False,
) -> Any:
    """The same rows as :func:`movers_query`'s, from the outcomes' summaries.

    The candidates are the outcomes whose latest row is after *since*: *by_events*, those
    of the events updated after it (``kwiff_events_updated``, then each event's summaries
    by ``kwiff_outcome_summaries_event``), else by the summaries' ``last_at`` index (a
    database of schema version 3 or 4 not migrated yet); for each, the row in force at
    *since*, the first and the last row with odds in the window are found by walks
    through the primary key that stop at their first row; only the *limit* chosen
    outcomes have their window's rows counted.
    """
    summary = outcome_summaries.c
    candidates = select(summary.outcome, summary.last_at, summary.last_odds, summary.prices)
    if since_ms is not None:
        candidates = candidates.where(summary.last_at > since_ms)
        if by_events:
            updated = select(events.c.event_id).where(events.c.updated_at > since_ms)
            candidates = candidates.where(summary.event_id.in_(updated))
    if event_id is not None:
        candidates = candidates.where(summary.event_id == event_id)
    listed = candidates.subquery("candidates")

    def walk(column: str, outcome: Any, *, newest: bool, at_since: bool = False) -> Any:
        """*column* of the first (or, *newest*, the last) row with odds in the window; with
        *at_since*, of the row in force at since. A walk through the primary key that
        stops at its first row (a correlated ``ORDER BY ... LIMIT 1``: both databases
        take the primary key for it, where a join on the time could take the time index)."""
        row = prices.alias(f"{column}_{'since' if at_since else 'last' if newest else 'first'}")
        query = select(row.c[column]).where(row.c.outcome == outcome)
        if at_since:
            assert since_ms is not None
            query = query.where(row.c.fetched_at <= since_ms)
        else:
            query = query.where(row.c.odds.is_not(None))
            if since_ms is not None:
                query = query.where(row.c.fetched_at > since_ms)
        order = row.c.fetched_at.desc() if newest or at_since else row.c.fetched_at
        return query.order_by(order).limit(1).scalar_subquery()

    opening_at: Any = cast(null(), BigInteger)
    opening_odds: Any = cast(null(), Double)
    source: Any = listed
    if since_ms is not None and lateral:
        # One walk back from since for both the time and the odds (half the look-ups).
        found = prices.alias("in_force")
        in_force = (
            select(found.c.fetched_at, found.c.odds)
            .where(found.c.outcome == listed.c.outcome, found.c.fetched_at <= since_ms)
            .order_by(found.c.fetched_at.desc())
            .limit(1)
            .lateral("in_force_at_since")
        )
        opening_at, opening_odds = in_force.c.fetched_at, in_force.c.odds
        source = listed.outerjoin(in_force, true())
    elif since_ms is not None:
        opening_at = walk("fetched_at", listed.c.outcome, newest=True, at_since=True)
        opening_odds = walk("odds", listed.c.outcome, newest=True, at_since=True)
    has_last = listed.c.last_odds.is_not(None)
    # Materialized, each step: every walk is made once per outcome.
    located = (
        select(
            listed.c.outcome,
            opening_at.label("opening_at"),
            opening_odds.label("opening_odds"),
            case((has_last, listed.c.last_at),
                 else_=walk("fetched_at", listed.c.outcome, newest=True)).label("last_at"),
            case((has_last, listed.c.last_odds),
                 else_=walk("odds", listed.c.outcome, newest=True)).label("last_odds"),
        )
        .select_from(source)
        .cte("located")
        .prefix_with("MATERIALIZED")
    )  # fmt: skip
    # The row in force at since if it has odds, else the window's first with odds.
    opened = located.c.opening_odds.is_not(None)
    series = (
        select(
            located.c.outcome,
            located.c.opening_at,
            case((opened, located.c.opening_at),
                 else_=walk("fetched_at", located.c.outcome, newest=False)).label("first_at"),
            case((opened, located.c.opening_odds),
                 else_=walk("odds", located.c.outcome, newest=False)).label("first_odds"),
            located.c.last_at,
            located.c.last_odds,
        )
        .where(located.c.last_at.is_not(None))
        .cte("series")
        .prefix_with("MATERIALIZED")
    )  # fmt: skip
    change = (series.c.last_odds - series.c.first_odds) / series.c.first_odds
    # Two rows with odds, different (relative_change is None where the first odds are
    # 0, and 0 is no move): one row alone is never a move. Then only the chosen rows
    # are read whole.
    chosen = (
        select(series, func.abs(change).label("size"))
        .where(series.c.first_odds != 0, series.c.last_odds != series.c.first_odds)
        .order_by(func.abs(change).desc(), series.c.last_at.desc(), series.c.outcome)
        .limit(limit)
        .subquery("chosen")
    )
    first = prices.alias("first")
    last = prices.alias("last")
    # The series' rows, less one: the window's rows and the row in force at since.
    counted = prices.alias("counted")
    window_rows = select(func.count()).where(counted.c.outcome == chosen.c.outcome)
    if since_ms is not None:
        window_rows = window_rows.where(counted.c.fetched_at > since_ms)
    moves = window_rows.scalar_subquery() - 1 + case((chosen.c.opening_at.is_not(None), 1), else_=0)
    ranked = (
        select(
            chosen.c.outcome,
            moves.label("moves"),
            chosen.c.size,
            chosen.c.first_at,
            chosen.c.first_odds,
            first.c.fractional.label("first_fractional"),
            first.c.status.label("first_status"),
            chosen.c.last_at,
            chosen.c.last_odds,
            last.c.fractional.label("last_fractional"),
            last.c.status.label("last_status"),
        )
        .select_from(
            chosen.join(
                first,
                and_(first.c.outcome == chosen.c.outcome, first.c.fetched_at == chosen.c.first_at),
            ).join(
                last,
                and_(last.c.outcome == chosen.c.outcome, last.c.fetched_at == chosen.c.last_at),
            )
        )
        .subquery("ranked")
    )
    return _named(ranked)
