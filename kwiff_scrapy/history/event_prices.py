"""One event's stored prices in columns, and its moves found in one pass over them.

An event's history is ~10,000 prices on a busy month; ``history --event``, its CSV and
the dashboard's event page read every one. So there is no object per price here:
:class:`EventPrices` holds the prices as parallel lists (row ``r`` is ``times[r]``,
``odds[r]``, ...; each outcome's rows together, oldest first), read with the driver's
own cursor (plain tuples), and :func:`event_moves` sorts the rows once by time and
walks them once, keeping each market's prices in force to give its overround at each
time (:func:`kwiff_scrapy.model.odds.market_overround`'s test, change by change).
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, text

from ..model.odds import is_book_name
from ..model.values import is_open
from .records import BET_BUILDER_MARKET, group_outcome_ids
from .schema import markets, outcomes, prices

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Connection

#: The driver's placeholder for a positional parameter, by DB-API ``paramstyle``.
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


@dataclass(frozen=True, slots=True)
class OutcomeLine:
    """One outcome of an event and where its prices are: rows ``start`` to ``end - 1``."""

    market: str
    outcome: str
    outcome_id: int | None
    start: int
    end: int


@dataclass(slots=True)
class EventPrices:
    """Every stored price of an event's outcomes, in columns.

    ``lines`` are the outcomes in the order the history shows them (markets in the order
    first stored, the outcomes of a market together by row id); ``line[r]`` is the index
    in ``lines`` of row ``r``'s outcome; ``times`` are milliseconds since the epoch.
    """

    event_id: int
    lines: list[OutcomeLine] = field(default_factory=list)
    line: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    odds: list[float | None] = field(default_factory=list)
    fractional: list[str | None] = field(default_factory=list)
    status: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.times)

    def append_line(
        self,
        market: str,
        outcome: str,
        outcome_id: int | None,
        columns: tuple[
            Sequence[int], Sequence[float | None], Sequence[str | None], Sequence[str | None]
        ],
    ) -> None:
        """An outcome's times, odds, fractionals and statuses, oldest first, shown after
        the outcomes appended before it."""
        times, odds, fractional, status = columns
        position, start = len(self.lines), len(self.times)
        self.times.extend(times)
        self.odds.extend(odds)
        self.fractional.extend(fractional)
        self.status.extend(status)
        self.line.extend([position] * len(times))
        self.lines.append(OutcomeLine(market, outcome, outcome_id, start, len(self.times)))

    def markets(self) -> list[str]:
        """The market names, in the order shown."""
        return list(dict.fromkeys(line.market for line in self.lines))


@dataclass(frozen=True, slots=True)
class EventMoves:
    """An event's prices by time, each with the price before it and its market's
    overround then.

    ``rows``: the rows of :attr:`prices` by time (ties in the order of ``lines``), only
    those from the *since* of :func:`event_moves` on; ``overround[r]``: row ``r``'s
    market's overround from its time on (None unless the market is a book priced whole);
    ``opening[r]``: row ``r`` is its outcome's first price (no price before it: row
    ``r - 1`` is the one before otherwise).
    """

    prices: EventPrices
    rows: list[int]
    overround: list[float | None]
    opening: list[bool]


def event_moves(found: EventPrices, since_ms: int | None = None) -> EventMoves:
    """:class:`EventMoves` of *found*: one sort of the rows by (time, outcome line), then
    one pass, a market's prices at one time taken together (the market is whole once
    every price of that time is in)."""
    times, line_of, odds, status = found.times, found.line, found.odds, found.status
    count = len(times)
    width = len(found.lines) or 1
    # (time, line) is unique (the prices' primary key), so one int sorts them, the row
    # riding along in its low digits.
    keys = sorted([(times[r] * width + line_of[r]) * count + r for r in range(count)])
    order = [key % count for key in keys]
    market_index: dict[str, int] = {}
    market_of = [market_index.setdefault(line.market, len(market_index)) for line in found.lines]
    book = [is_book_name(name) for name in market_index]
    # Only a book has an overround: the rows of the others (scorers, double chance: half
    # of a football card) are left None without a look.
    book_rows = [row for row in order if book[market_of[line_of[row]]]]
    in_force: list[dict[int, float | None]] = [{} for _ in market_index]
    unpriced: list[set[int]] = [set() for _ in market_index]
    overround: list[float | None] = [None] * count
    last = len(book_rows) - 1
    group_start = 0
    for position, row in enumerate(book_rows):
        line = line_of[row]
        market = market_of[line]
        price = odds[row]
        market_prices = in_force[market]
        market_prices[line] = price
        row_status = status[row]
        if price is None or not price > 1.0 or not (row_status is None or is_open(row_status)):
            unpriced[market].add(line)
        else:
            unpriced[market].discard(line)
        if position < last:
            following = book_rows[position + 1]
            if times[following] == times[row] and market_of[line_of[following]] == market:
                continue  # the market is whole once every price of this time is in
        if not unpriced[market] and len(market_prices) >= 2:
            # As model.odds.overround sums them: in the order the outcomes were first priced.
            inverses = [1.0 / p for p in market_prices.values()]  # type: ignore[operator]
            value = sum(inverses) - 1.0
            for done in book_rows[group_start : position + 1]:
                overround[done] = value
        group_start = position + 1
    opening = [False] * count
    for outcome_line in found.lines:
        if outcome_line.end > outcome_line.start:
            opening[outcome_line.start] = True
    if since_ms is not None:
        order = [row for row in order if times[row] >= since_ms]
    return EventMoves(found, order, overround, opening)


def read_event_prices(
    connection: Connection, event_id: int, market_names: Sequence[str] | None = None
) -> tuple[EventPrices, list[str]]:
    """The event's prices (only those of *market_names*, any case, if given) and the
    names of all its markets with prices, in the order shown. Two reads: the event's
    outcomes (with their market's name), then its prices through the driver's cursor."""
    outcome_rows = list(
        connection.execute(
            select(
                outcomes.c.id,
                outcomes.c.market_key,
                outcomes.c.outcome_key,
                outcomes.c.outcome_id,
                outcomes.c.name,
                markets.c.name.label("market_name"),
            )
            .join(
                markets,
                and_(
                    markets.c.event_id == outcomes.c.event_id,
                    markets.c.market_key == outcomes.c.market_key,
                ),
            )
            .where(outcomes.c.event_id == event_id)
            .order_by(outcomes.c.id)
        )
    )
    rows = driver_rows(
        connection,
        f"SELECT p.outcome, p.fetched_at, p.odds, p.fractional, p.status "
        f"FROM {prices.name} p JOIN {outcomes.name} o ON o.id = p.outcome "
        f"WHERE o.event_id = {{}}",
        event_id,
    )
    # Sorted here, not by the database (PostgreSQL sorted all of them: a fifth of the
    # query): each outcome's rows come in time order from the primary key anyway, so this
    # sort only puts the outcomes' runs in order.
    rows.sort()
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) or [()] * 5
    outcome_of = columns[0]
    starts = [0, *(r for r in range(1, len(rows)) if outcome_of[r] != outcome_of[r - 1])]
    by_outcome = {
        outcome_of[start]: (start, end)
        for start, end in itertools.pairwise([*starts, len(rows)])
        if end > start
    }
    leg_names = {row.outcome_id: row.name for row in outcome_rows if row.name}
    priced = [row for row in outcome_rows if row.id in by_outcome]
    # Markets in the order first stored: that of their first outcome with a price.
    ranks: dict[str, int] = {}
    for row in priced:
        ranks.setdefault(_market_name(row), len(ranks))
    all_markets = list(ranks)
    wanted = {name.casefold() for name in market_names} if market_names else None
    shown = sorted(priced, key=lambda row: ranks[_market_name(row)])
    if wanted is not None:
        shown = [row for row in shown if _market_name(row).casefold() in wanted]
    found = EventPrices(event_id)
    for row in shown:
        found.append_line(
            _market_name(row),
            outcome_name(row.market_key, row.outcome_key, row.outcome_id, row.name, leg_names),
            row.outcome_id,
            _slices(columns[1:], *by_outcome[row.id]),
        )
    return found, all_markets


def outcome_name(
    market_key: str,
    outcome_key: str,
    outcome_id: int | None,
    name: str | None,
    leg_names: dict[int, str],
) -> str:
    """An outcome's name as the history shows it: a bet-builder group by its legs' names
    (else ids), another outcome by its name, else its id, else its key."""
    legs = group_outcome_ids(outcome_key) if market_key == BET_BUILDER_MARKET else None
    if legs is not None:
        return " + ".join(leg_names.get(leg) or str(leg) for leg in legs)
    if name:
        return str(name)
    return str(outcome_id if outcome_id is not None else outcome_key)


def _slices(columns: Sequence[tuple[Any, ...]], start: int, end: int) -> Any:
    return tuple(column[start:end] for column in columns)


def _market_name(row: Any) -> str:
    return str(row.market_name or row.market_key)


def driver_rows(connection: Connection, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
    """*sql* (``{}`` for each parameter) run on the driver's own cursor: plain tuples, not
    SQLAlchemy rows (a tenth of the time on ten thousand rows)."""
    placeholder = _PLACEHOLDERS.get(connection.dialect.paramstyle)
    if placeholder is None:  # a driver of another style: through SQLAlchemy
        names = [f":p{number}" for number in range(len(parameters))]
        values = {name[1:]: value for name, value in zip(names, parameters, strict=True)}
        result = connection.execute(text(sql.format(*names)), values)
        return [tuple(row) for row in result]
    # The transaction SQLAlchemy began (SQLite: BEGIN) covers this cursor too.
    cursor = connection.connection.cursor()
    with contextlib.closing(cursor):
        cursor.execute(sql.format(*[placeholder] * len(parameters)), parameters)
        return list(cursor.fetchall())
