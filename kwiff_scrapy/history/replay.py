"""The odds history read back as the watch's changes, in time order, for a replay.

:func:`stream_changes` reads the stored prices and event states in ``(fetched_at,
event)`` order and turns them into the ``OddsChange`` and ``EventChange`` items the
watch fed its detectors when it stored them (:mod:`kwiff_scrapy.model.detectors`), so
``scrapy kwiff signals`` runs the same detectors over the history as the watch ran live.

What a stored price row becomes (*before*: the outcome's previous row in the replay):

- status ``removed``: an ``OddsChange`` ``removed`` (none if the outcome was not seen);
- no *before*, or *before* ``removed``: ``new`` (an outcome the watch saw appear);
- open (status None) against a *before* that was not, ``resumed``; the other way round,
  ``suspended``; else a different price, ``moved``; else nothing (a status the watch
  does not tell apart: it compares open or not, and the odds).

An event state row (``kwiff_event_states``: what the watch's ``EventChange`` items said)
comes before the prices of its event at its time, as the watch yields it. Teams,
competition and kick-off are the event's as stored (its latest).

Memory: the rows are streamed (a server-side cursor on PostgreSQL, ``yield_per``
batches); what is held is one entry per outcome and event (their names and the
outcome's latest row), never the prices.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..model.changes import MOVED, NEW, REMOVED, RESUMED, SUSPENDED
from ..model.items import EventChange, OddsChange
from ..model.values import iso_utc
from .errors import HistoryError
from .records import REMOVED_STATUS
from .schema import describe, error_line, event_states, events, markets, outcomes, prices

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sqlalchemy.engine import Connection, Engine

    from ..model.changes import Change

#: Rows fetched from the database at a time.
BATCH_ROWS = 5000


@dataclass(frozen=True, slots=True)
class _EventHeader:
    sport_name: str | None
    competition_name: str | None
    home_team: str | None
    away_team: str | None
    start_time: str | None


@dataclass(frozen=True, slots=True)
class _OutcomeInfo:
    event_id: int
    market_id: int | None
    market_name: str | None
    outcome_id: int | None
    outcome_name: str | None


def stream_changes(
    engine: Engine,
    *,
    since_ms: int | None = None,
    event_id: int | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[Change]:
    """The stored history as the watch's changes, in ``(fetched_at, event)`` order.

    *since_ms*: from that time on (milliseconds since the epoch; an outcome's first
    price then is ``new``); *event_id*: that event only. ``HistoryError`` (one line) if
    the database fails. The connection is held until the iterator is exhausted or closed.
    """
    try:
        with engine.connect() as connection:
            headers = _headers(connection, event_id)
            infos = _outcomes(connection, event_id)
            streaming = connection.execution_options(stream_results=True, yield_per=batch_rows)
            price_rows = streaming.execute(price_rows_query(since_ms, event_id))
            state_rows = streaming.execute(state_rows_query(since_ms, event_id))
            try:
                yield from changes_of(
                    heapq.merge(
                        ((r[0], r[1], 0, r) for r in state_rows),
                        ((r[0], r[1], 1, r) for r in price_rows),
                        key=_order,
                    ),
                    headers,
                    infos,
                )
            finally:
                price_rows.close()
                state_rows.close()
    except SQLAlchemyError as exc:
        raise HistoryError(f"{describe(engine.url)}: {error_line(exc)}") from exc


def _order(entry: tuple[int, int, int, Any]) -> tuple[int, int, int]:
    return entry[0], entry[1], entry[2]


def changes_of(
    rows: Iterable[tuple[int, int, int, Any]],
    headers: dict[int, _EventHeader],
    infos: dict[int, _OutcomeInfo],
) -> Iterator[Change]:
    """Changes from merged rows: ``(fetched_at, event_id, 0, state row)`` and
    ``(fetched_at, event_id, 1, price row)`` (see the module's docstring)."""
    latest: dict[int, tuple[float | None, str | None, str | None, str | None]] = {}
    no_header = _EventHeader(None, None, None, None, None)
    times: dict[int, str | None] = {}
    for fetched_ms, event_id, source, row in rows:
        fetched_at = times.get(fetched_ms)
        if fetched_at is None:
            if len(times) > 64:
                times.clear()
            fetched_at = times[fetched_ms] = iso_utc(fetched_ms)
        header = headers.get(event_id, no_header)
        if source == 0:
            kind = row[2]
            yield EventChange(
                event_id=event_id,
                home_team=header.home_team,
                away_team=header.away_team,
                competition_name=header.competition_name,
                start_time=header.start_time,
                kind=kind,
                betting_status=row[4],
                in_play=row[3],
                fetched_at=fetched_at,
            )
            continue
        outcome, odds, fractional, status = row[2], row[3], row[4], row[5]
        before = latest.get(outcome)
        if status == REMOVED_STATUS:
            if before is None or before[2] == REMOVED_STATUS:
                continue
            kind = REMOVED
            del latest[outcome]
        else:
            if before is None:
                kind = NEW
            elif (status is None) != (before[2] is None):
                kind = RESUMED if status is None else SUSPENDED
            elif odds != before[0]:
                kind = MOVED
            else:
                latest[outcome] = (odds, fractional, status, fetched_at)
                continue
            latest[outcome] = (odds, fractional, status, fetched_at)
        info = infos.get(outcome)
        if info is None:
            continue
        yield OddsChange(
            event_id=event_id,
            sport_name=header.sport_name,
            competition_name=header.competition_name,
            home_team=header.home_team,
            away_team=header.away_team,
            start_time=header.start_time,
            market_id=info.market_id,
            market_name=info.market_name,
            outcome_id=info.outcome_id,
            outcome_name=info.outcome_name,
            kind=kind,
            odds=odds,
            previous_odds=before[0] if before is not None else None,
            fractional=fractional,
            previous_fractional=before[1] if before is not None else None,
            fetched_at=fetched_at,
            previous_fetched_at=before[3] if before is not None else None,
        )


def price_rows_query(since_ms: int | None, event_id: int | None) -> Any:
    """The stored prices as :func:`stream_changes` reads them: ``(fetched_at, event_id,
    outcome row id, odds, fractional, status)`` in that order."""
    query = select(
        prices.c.fetched_at,
        outcomes.c.event_id,
        prices.c.outcome,
        prices.c.odds,
        prices.c.fractional,
        prices.c.status,
    ).join(outcomes, outcomes.c.id == prices.c.outcome)
    if since_ms is not None:
        query = query.where(prices.c.fetched_at >= since_ms)
    if event_id is not None:
        query = query.where(outcomes.c.event_id == event_id)
    return query.order_by(prices.c.fetched_at, outcomes.c.event_id, prices.c.outcome)


def state_rows_query(since_ms: int | None, event_id: int | None) -> Any:
    """The stored event states: ``(fetched_at, event_id, kind, in_play, betting_status)``."""
    query = select(
        event_states.c.fetched_at,
        event_states.c.event_id,
        event_states.c.kind,
        event_states.c.in_play,
        event_states.c.betting_status,
    )
    if since_ms is not None:
        query = query.where(event_states.c.fetched_at >= since_ms)
    if event_id is not None:
        query = query.where(event_states.c.event_id == event_id)
    return query.order_by(event_states.c.fetched_at, event_states.c.event_id)


def _headers(connection: Connection, event_id: int | None) -> dict[int, _EventHeader]:
    query = select(
        events.c.event_id,
        events.c.sport_name,
        events.c.competition_name,
        events.c.home_team,
        events.c.away_team,
        events.c.start_time,
    )
    if event_id is not None:
        query = query.where(events.c.event_id == event_id)
    return {
        row.event_id: _EventHeader(
            row.sport_name,
            row.competition_name,
            row.home_team,
            row.away_team,
            iso_utc(row.start_time) if row.start_time is not None else None,
        )
        for row in connection.execute(query)
    }


def _outcomes(connection: Connection, event_id: int | None) -> dict[int, _OutcomeInfo]:
    query = select(
        outcomes.c.id,
        outcomes.c.event_id,
        markets.c.market_id,
        markets.c.name.label("market_name"),
        outcomes.c.outcome_id,
        outcomes.c.name,
    ).outerjoin(
        markets,
        (markets.c.event_id == outcomes.c.event_id)
        & (markets.c.market_key == outcomes.c.market_key),
    )
    if event_id is not None:
        query = query.where(outcomes.c.event_id == event_id)
    return {
        row.id: _OutcomeInfo(row.event_id, row.market_id, row.market_name, row.outcome_id, row.name)
        for row in connection.execute(query)
    }
