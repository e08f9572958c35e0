"""The writer of the odds history: one transaction per batch, changes only (synchronous).

:class:`HistoryStore` is used from one thread at a time (the
:class:`~kwiff_scrapy.history.writer.HistoryWriter`'s): :meth:`~HistoryStore.open`,
then :meth:`~HistoryStore.write` per batch, then :meth:`~HistoryStore.close`.

Changes only. A price row is written when an outcome's odds or status differ from
the latest one stored for it. The store keeps that latest price of every outcome of
the events it has written or read (loaded per event, the first time the event has a
price to write, and kept in memory): a price of a snapshot (an event, an outcome row,
a group) equal to it is counted as unchanged without asking the database. Any other
price (an outcome not seen yet in this process, one that moved, or a change a watch
reported) is decided *in the batch's transaction*, against the database itself:

1. the event rows are upserted first, in event id order (PostgreSQL: this row lock
   puts two writers of the same event in turn, always in the same order, so they
   cannot deadlock each other; SQLite: ``BEGIN IMMEDIATE`` puts whole batches in turn);
2. the outcome rows are locked (``SELECT ... FOR UPDATE``: every outcome of an event
   the store meets for the first time, else only those with a price to decide), missing
   markets and outcomes inserted (``ON CONFLICT DO NOTHING``), and the latest stored
   price of each of those outcomes read from its summary
   (:mod:`~kwiff_scrapy.history.summaries`, one primary-key look-up each), except where
   the memory is known to hold it (below);
3. each new price is compared with the latest stored one (then with the price before
   it in the same batch) and written only if it differs; a price older than the
   latest stored one (a slower machine) is compared with the row before its own time;
4. the rows are inserted and what they add merged into the summaries
   (:mod:`~kwiff_scrapy.history.bulk`: SQLite, one ``executemany`` of the driver each;
   PostgreSQL, ``COPY`` into temporary tables and one ``INSERT ... SELECT`` each).

The event upsert of step 1 also counts the transaction on the event row
(``kwiff_events.writes``, schema version 5) and returns the count. A store that finds
it one above the count it left knows no other writer wrote the event since; the latest
prices it confirmed (read or wrote) since another writer last did are then the stored
ones, and are not read. Any other count (another writer came between) makes the store
read those of its outcomes again; a count lower than the one it left (the event
deleted by retention and stored again) makes it read the whole event afresh.

So several machines may write the same outcomes: a move seen by two of them is
stored once (the second finds the first's row when its turn comes), and a repeated
batch writes nothing. A watch's changes are never taken as unchanged before the
transaction: in a shared watch each change is reported by one worker, so a worker that
stored 1.91 may get the move back to 1.91 after another stored the move to 1.83; the
latest stored price decides it (read again, the write counts telling that another
worker came between). Snapshots do trust the memory before the transaction:
machines that crawl the same events in turn, each writing whole snapshots, can miss a
move back to the price one of them stored last when another stored the move between.
The primary key (outcome, ``fetched_at``) makes a row for the same answer impossible to
store twice.

Signals and event states are inserted in the same transaction, each at most once: a
signal by its key (rule, event, ``fetched_at``, subject: see
:func:`~kwiff_scrapy.history.records.signal_subject`), an event state by (event,
``fetched_at``). A resumed watch that sends a signal again, or two machines that both
send it, store it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .. import defaults
from . import bulk, summaries
from .crash_hook import PauseBeforeCommit
from .errors import HistoryError
from .records import (
    KEEP_STATUS,
    EventHeader,
    EventStateRecord,
    MarketRecord,
    Observation,
    PriceRecord,
    SignalRecord,
)
from .schema import (
    describe,
    error_line,
    event_states,
    markets,
    open_engine,
    outcomes,
    prepare,
    prices,
    signals,
    upsert,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

    from .retention import Deleted, RetentionPass

T = TypeVar("T")

#: Most values in one ``IN (...)`` list.
IN_CHUNK = 500


class Latest(NamedTuple):
    """The latest stored price of an outcome (a tuple: thousands are made per batch)."""

    outcome: int
    fetched_ms: int
    odds: float | None
    status: str | None
    confirmed: int = 0
    """The event's write count (``kwiff_events.writes``) at which this was stored."""

    def same_price(self, odds: float | None, status: str | None) -> bool:
        return self.odds == odds and self.status == status


@dataclass(slots=True)
class WriteResult:
    """What one batch did."""

    written: int = 0
    """Price rows inserted."""
    unchanged: int = 0
    """Prices equal to the latest stored one (not written)."""
    transaction: bool = False
    """Whether the batch needed (and committed) a transaction."""
    signals_written: int = 0
    """Signal rows inserted (a signal stored before is not inserted again)."""


@dataclass(slots=True)
class _Plan:
    """A batch, sorted out before its transaction."""

    headers: dict[int, EventHeader] = field(default_factory=dict)
    """Events to upsert: those with prices to decide, and those whose fields changed."""
    updated_ms: dict[int, int] = field(default_factory=dict)
    markets: dict[tuple[int, str], MarketRecord] = field(default_factory=dict)
    pending: dict[tuple[int, str], PriceRecord] = field(default_factory=dict)
    """Prices to decide against the database, by (event, outcome key): the first of each."""
    later: dict[tuple[int, str], list[PriceRecord]] = field(default_factory=dict)
    """The outcome's prices after its first, in order (few: one list per such outcome)."""
    unchanged: int = 0
    removed: set[int] = field(default_factory=set)
    signals: list[SignalRecord] = field(default_factory=list)
    states: list[EventStateRecord] = field(default_factory=list)
    markets_stored: set[tuple[int, str]] = field(default_factory=set)
    """The markets the transaction made sure are stored."""
    writes: dict[int, tuple[int, int]] = field(default_factory=dict)
    """The events the transaction upserted: their write count, and the count since which
    every write was this store's (see ``HistoryStore._writes``)."""
    reborn: set[int] = field(default_factory=set)
    """Events whose count went back: deleted and stored again since this store wrote them."""

    @property
    def needs_transaction(self) -> bool:
        return bool(self.headers or self.pending or self.signals or self.states)


class HistoryStore:
    """Writes batches of :class:`~kwiff_scrapy.history.records.Observation`."""

    def __init__(self, url: URL, *, timeout: float = defaults.HISTORY_DB_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self._engine: Engine | None = None
        #: Event id -> outcome key -> the latest stored price, for every outcome of the
        #: events loaded so far (a small tuple each: a big watch holds many).
        self._latest: dict[int, dict[str, Latest]] = {}
        #: Event id -> its write count (``kwiff_events.writes``) as this store left it, and
        #: the count since which every write of the event was this store's: a latest price
        #: confirmed at that count or later is still the stored one.
        self._writes: dict[int, tuple[int, int]] = {}
        #: The fields of each event as this store last wrote them.
        self._headers: dict[int, EventHeader] = {}
        #: The markets this store knows are stored (event id, market key).
        self._markets: set[tuple[int, str]] = set()
        #: Test only (``KWIFF_HISTORY_TEST_PAUSE``); None in a real crawl.
        self._pause = PauseBeforeCommit.from_environment()

    @property
    def engine(self) -> Engine | None:
        """The engine once open (None before :meth:`open` and after :meth:`close`)."""
        return self._engine

    @property
    def description(self) -> str:
        return describe(self.url)

    def open(self) -> int:
        """Connect, create the tables if needed, check the schema version; the version.

        ``HistoryError`` (one line) if the database cannot be used. The connection used
        here is closed: the thread that writes opens its own.
        """
        engine = open_engine(self.url, writer=True, timeout=self.timeout)
        try:
            version = prepare(engine)
        finally:
            engine.dispose()
        self._engine = engine
        return version

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def retain(self, retention: RetentionPass) -> Deleted | None:
        """One batch of *retention* in its own transaction; None once its pass is done.
        ``HistoryError`` if the database fails (nothing of the batch is deleted)."""
        if self._engine is None:
            raise HistoryError(f"{self.description} is not open")
        try:
            with self._engine.begin() as connection:
                return retention.step(connection)
        except SQLAlchemyError as exc:
            raise HistoryError(
                f"deleting old rows from {self.description} failed: {error_line(exc)}"
            ) from exc

    def cached_outcomes(self) -> int:
        """Outcomes whose latest price is held in memory."""
        return sum(len(by_key) for by_key in self._latest.values())

    # -- one batch -------------------------------------------------------------------------

    def write(self, batch: Sequence[Observation]) -> WriteResult:
        """Write *batch* in one transaction; ``HistoryError`` if the database fails (then
        nothing of the batch is stored, and the batch may be written again later)."""
        if self._engine is None:
            raise HistoryError(f"{self.description} is not open")
        plan = self._plan(batch)
        result = WriteResult(unchanged=plan.unchanged)
        if plan.needs_transaction:
            try:
                with self._engine.begin() as connection:
                    latest = self._apply(connection, plan, result)
                    _insert_states(connection, plan.states)
                    result.signals_written = _insert_signals(connection, plan.signals)
                    if self._pause is not None:
                        self._pause.reached(result.written, {e for e, _key in plan.pending})
            except SQLAlchemyError as exc:
                # The batch will be tried again: against the database alone (another
                # machine's retention may have deleted what this one remembers).
                self._latest.clear()
                self._writes.clear()
                self._headers.clear()
                self._markets.clear()
                raise HistoryError(
                    f"writing to {self.description} failed: {error_line(exc)}"
                ) from exc
            result.transaction = True
            # Committed: now the memory may follow.
            for event_id in plan.reborn:
                self._latest.pop(event_id, None)
            self._writes.update(plan.writes)
            memory = self._latest
            for (event_id, outcome_key), found in latest.items():
                by_key = memory.get(event_id)
                if by_key is None:
                    by_key = memory[event_id] = {}
                by_key[outcome_key] = found
            self._headers.update(plan.headers)
            self._markets.update(plan.markets_stored)
        for event_id in plan.removed:
            self._latest.pop(event_id, None)
            self._writes.pop(event_id, None)
            self._headers.pop(event_id, None)
            self._markets = {key for key in self._markets if key[0] != event_id}
        return result

    def _plan(self, batch: Sequence[Observation]) -> _Plan:
        plan = _Plan()
        headers: dict[int, EventHeader] = {}
        for seen in batch:
            header = seen.header
            if header is not None:
                event_id = header.event_id
                headers[event_id] = header.merged(
                    headers.get(event_id) or self._headers.get(event_id)
                )
            for market in seen.markets:
                plan.markets.setdefault((market.event_id, market.key), market)
            if seen.prices:
                self._sort_prices(plan, seen.prices)
            plan.signals += seen.signals
            if seen.state is not None:
                plan.states.append(seen.state)
            if seen.event_removed and header is not None:
                plan.removed.add(header.event_id)
        for event_id, header in headers.items():
            if header != self._headers.get(event_id):
                plan.headers[event_id] = header
        for event_id, _key in plan.pending:
            if event_id not in plan.headers:
                plan.headers[event_id] = headers.get(event_id) or EventHeader(event_id)
        return plan

    def _sort_prices(self, plan: _Plan, batch: Sequence[PriceRecord]) -> None:
        """Count each price equal to the latest price in memory as unchanged, else leave it
        (and every later price of its outcome in the batch) to the transaction."""
        updated = plan.updated_ms
        pending_by_key = plan.pending
        remembered = self._latest
        unchanged = 0
        for price in batch:
            event_id = price.event_id
            fetched_ms = price.fetched_ms
            last_update = updated.get(event_id)
            if last_update is None or fetched_ms > last_update:
                updated[event_id] = fetched_ms
            key = (event_id, price.outcome_key)
            if key in pending_by_key:
                later = plan.later.get(key)
                if later is None:
                    plan.later[key] = [price]
                else:
                    later.append(price)
                continue
            # A change a watch reported is never taken as unchanged from memory: in a
            # shared watch another worker may have stored the moves between (each change
            # is reported by one worker), and a single writer's watch reports none equal
            # to its memory.
            if not price.reported_change:
                by_key = remembered.get(event_id)
                latest = by_key.get(price.outcome_key) if by_key is not None else None
                if latest is not None and fetched_ms >= latest.fetched_ms:
                    status = latest.status if price.status == KEEP_STATUS else price.status
                    if latest.odds == price.odds and latest.status == status:
                        unchanged += 1
                        continue
            pending_by_key[key] = price
        plan.unchanged += unchanged

    # -- the transaction -------------------------------------------------------------------

    def _apply(
        self, connection: Connection, plan: _Plan, result: WriteResult
    ) -> dict[tuple[int, str], Latest]:
        """Write *plan*; the latest price of the outcomes it read or wrote, by (event,
        outcome key), for the memory once committed."""
        for event_id, count in self._upsert_events(connection, plan).items():
            left = self._writes.get(event_id)
            if left is not None and count == left[0] + 1:
                plan.writes[event_id] = (count, left[1])
            else:  # written by another writer since, or never by this one
                plan.writes[event_id] = (count, count)
                if left is not None and count <= left[0]:
                    # Deleted (retention) and stored again since: nothing remembered holds.
                    plan.reborn.add(event_id)
        writes = plan.writes
        event_ids = sorted({event_id for event_id, _key in plan.pending})
        if not event_ids:
            return {}
        self._insert_markets(connection, plan)
        lock = connection.dialect.name == "postgresql"
        # An event whose outcomes are in memory: their ids are known, and only the latest
        # prices of the outcomes to decide are read, except those this store confirmed
        # since another writer last wrote the event (the write counts say when): those
        # are still what is stored. Any other event: all its outcomes (this is where its
        # memory starts).
        # Their rows are not locked: the event rows upserted above already put the writers
        # of an event in turn.
        remembered_events = {
            event_id: self._latest[event_id]
            for event_id in event_ids
            if event_id in self._latest and event_id not in plan.reborn
        }
        fresh = [event_id for event_id in event_ids if event_id not in remembered_events]
        ids = _outcome_ids(connection, fresh, lock=lock) if fresh else {}
        to_read = list(ids.values())
        latest: dict[tuple[int, str], Latest] = {}
        unknown = []
        for key in plan.pending:
            by_key = remembered_events.get(key[0])
            if by_key is None:
                continue
            remembered = by_key.get(key[1])
            if remembered is None:
                unknown.append(key)
                continue
            ids[key] = remembered.outcome
            if remembered.confirmed >= writes[key[0]][1]:
                latest[key] = remembered
            else:
                to_read.append(remembered.outcome)
        if unknown:
            found = _outcome_ids_of(connection, sorted(unknown), lock=lock)
            ids.update(found)
            to_read += found.values()
        missing = sorted(key for key in plan.pending if key not in ids)
        if missing:
            self._insert_outcomes(connection, plan, missing)
            ids.update(_outcome_ids_of(connection, missing, lock=False))
        if to_read:
            # Their latest stored prices are their summaries' (a primary-key look-up each).
            stored = summaries.read_latest(connection, sorted(to_read))
            for key, outcome in ids.items():
                found_latest = stored.get(outcome)
                if found_latest is not None:
                    latest[key] = Latest(outcome, *found_latest, writes[key[0]][0])
        rows: list[tuple[Any, ...]] = []
        # What the batch adds to each outcome's summary, as summary rows (merged with the
        # stored one by the statement that writes it).
        new: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        first_row = summaries.first_row
        later = plan.later
        for key, price in plan.pending.items():
            outcome = ids[key]
            before_latest = latest.get(key)
            count = writes[key[0]][0]
            if key not in later and (
                before_latest is None or price.fetched_ms > before_latest.fetched_ms
            ):
                # The common case (one newer price of the outcome), without the loop.
                status = price.status
                if before_latest is None:
                    status = None if status == KEEP_STATUS else status
                else:
                    if status == KEEP_STATUS:
                        status = before_latest.status
                    if before_latest.odds == price.odds and before_latest.status == status:
                        continue
                at, odds = price.fetched_ms, price.odds
                rows.append((outcome, at, odds, price.fractional, status))
                (new if before_latest is None else changed).append(
                    first_row(outcome, key[0], at, odds, status)
                )
                latest[key] = Latest(outcome, at, odds, status, count)
                continue
            before = len(rows)
            self._decide(connection, outcome, [price, *later.get(key, ())], before_latest, rows)
            if len(rows) == before:
                continue
            added = summaries.Summary(outcome, key[0])
            for row in rows[before:]:
                added.add(row[1], row[2], row[4])
            (new if before_latest is None else changed).append(added.row())
            assert added.last_at is not None
            if before_latest is None or added.last_at > before_latest.fetched_ms:
                latest[key] = Latest(outcome, added.last_at, added.last_odds,
                                     added.last_status, count)  # fmt: skip
        decided = len(plan.pending) + sum(len(prices) for prices in later.values())
        result.unchanged += decided - len(rows)
        bulk.write(connection, rows, new, changed)
        result.written = len(rows)
        return latest

    def _decide(
        self,
        connection: Connection,
        outcome: int,
        pending: list[PriceRecord],
        latest: Latest | None,
        rows: list[tuple[Any, ...]],
    ) -> None:
        """Append the rows of the *pending* prices that change the outcome's price."""
        for price in pending:
            if latest is not None and price.fetched_ms <= latest.fetched_ms:
                # The same answer again, or one older than what is stored: compare it
                # with the price stored before its own time.
                if price.fetched_ms < latest.fetched_ms:
                    before = _price_at(connection, outcome, price.fetched_ms)
                    row = _row(outcome, price, before)
                    if row is not None and (before is None or before.fetched_ms < price.fetched_ms):
                        rows.append(row)
                continue
            row = _row(outcome, price, latest)
            if row is not None:
                rows.append(row)
                latest = Latest(outcome, price.fetched_ms, row[2], row[4])

    def _upsert_events(self, connection: Connection, plan: _Plan) -> dict[int, int]:
        """Upsert the events of *plan*, one more write counted on each; their counts."""
        if not plan.headers:
            return {}
        updated = plan.updated_ms
        rows = [
            (h.event_id, h.sport_id, h.sport_name, h.competition_id, h.competition_name,
             h.home_team, h.away_team, h.start_ms, h.betting_status, h.in_play,
             updated.get(h.event_id))
            for _id, h in sorted(plan.headers.items())
        ]  # fmt: skip
        return bulk.upsert_events(connection, rows)

    def _insert_markets(self, connection: Connection, plan: _Plan) -> None:
        wanted = sorted({(event_id, first.market_key) for (event_id, _), first in
                         plan.pending.items()} - self._markets)  # fmt: skip
        plan.markets_stored.update(wanted)
        if not wanted:
            return
        stored: set[tuple[int, str]] = set()
        for chunk in _chunks(sorted({event_id for event_id, _key in wanted}), IN_CHUNK):
            stored.update(
                (row.event_id, row.market_key)
                for row in connection.execute(
                    select(markets.c.event_id, markets.c.market_key).where(
                        markets.c.event_id.in_(chunk)
                    )
                )
            )
        rows = []
        for key in wanted:
            if key in stored:
                continue
            record = plan.markets.get(key)
            rows.append(
                {
                    "event_id": key[0],
                    "market_key": key[1],
                    "market_id": record.market_id if record else None,
                    "name": record.name if record else None,
                }
            )
        if rows:
            connection.execute(upsert(connection, markets).on_conflict_do_nothing(), rows)

    def _insert_outcomes(
        self, connection: Connection, plan: _Plan, missing: list[tuple[int, str]]
    ) -> None:
        rows = []
        for key in missing:
            first = plan.pending[key]
            rows.append(
                {
                    "event_id": first.event_id,
                    "market_key": first.market_key,
                    "outcome_key": first.outcome_key,
                    "outcome_id": first.outcome_id,
                    "name": first.outcome_name,
                }
            )
        for chunk in _chunks(rows, IN_CHUNK * 10):
            connection.execute(upsert(connection, outcomes).on_conflict_do_nothing(), chunk)


def placeholders(connection: Connection, count: int) -> str:
    """*count* positional parameters in the driver's own style (for ``exec_driver_sql``)."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * count)


def _insert_states(connection: Connection, states: list[EventStateRecord]) -> None:
    rows = [
        {
            "event_id": state.event_id,
            "fetched_at": state.fetched_ms,
            "kind": state.kind,
            "in_play": state.in_play,
            "betting_status": state.betting_status,
        }
        for state in states
    ]
    for chunk in _chunks(rows, IN_CHUNK * 10):
        connection.execute(upsert(connection, event_states).on_conflict_do_nothing(), chunk)


def _insert_signals(connection: Connection, records: list[SignalRecord]) -> int:
    """Insert the signals not stored yet; how many were."""
    rows = [signal_row(record) for record in records]
    inserted = 0
    for chunk in _chunks(rows, IN_CHUNK):
        statement = upsert(connection, signals).on_conflict_do_nothing().returning(signals.c.id)
        inserted += len(connection.execute(statement, chunk).all())
    return inserted


def signal_row(record: SignalRecord) -> dict[str, Any]:
    """The ``kwiff_signals`` row of *record* (its columns by name)."""
    return {
        "rule": record.rule,
        "kind": record.kind,
        "event_id": record.event_id,
        "fetched_at": record.fetched_ms,
        "subject": record.subject,
        "home_team": record.home_team,
        "away_team": record.away_team,
        "competition_name": record.competition_name,
        "start_time": record.start_ms,
        "market_id": record.market_id,
        "market_name": record.market_name,
        "outcome_id": record.outcome_id,
        "outcome_name": record.outcome_name,
        "outcomes": record.outcomes,
        "markets": record.markets,
        "window_seconds": record.window,
        "from_odds": record.from_odds,
        "to_odds": record.to_odds,
        "change": record.change,
        "probability_change": record.probability_change,
        "strength": record.strength,
        "first_seen_at": record.first_seen_ms,
        "in_play": record.in_play,
    }


# -- reads inside the transaction ------------------------------------------------------------


def _outcome_ids(
    connection: Connection, event_ids: Iterable[int], *, lock: bool
) -> dict[tuple[int, str], int]:
    """The ids of every stored outcome of *event_ids*, locked (PostgreSQL) if *lock*."""
    ids: dict[tuple[int, str], int] = {}
    for chunk in _chunks(list(event_ids), IN_CHUNK):
        query = (
            select(outcomes.c.id, outcomes.c.event_id, outcomes.c.outcome_key)
            .where(outcomes.c.event_id.in_(chunk))
            .order_by(outcomes.c.id)
        )
        if lock:
            query = query.with_for_update()
        for row in connection.execute(query):
            ids[row.event_id, row.outcome_key] = row.id
    return ids


def _outcome_ids_of(
    connection: Connection, keys: Sequence[tuple[int, str]], *, lock: bool
) -> dict[tuple[int, str], int]:
    """The ids of the stored outcomes of *keys* (event, outcome key), locked (PostgreSQL)
    if *lock*: one query per event, through the unique index (event, outcome key)."""
    by_event: dict[int, list[str]] = {}
    for event_id, outcome_key in keys:
        by_event.setdefault(event_id, []).append(outcome_key)
    ids: dict[tuple[int, str], int] = {}
    for event_id, outcome_keys in sorted(by_event.items()):
        for chunk in _chunks(outcome_keys, IN_CHUNK):
            query = (
                select(outcomes.c.id, outcomes.c.outcome_key)
                .where(outcomes.c.event_id == event_id, outcomes.c.outcome_key.in_(list(chunk)))
                .order_by(outcomes.c.id)
            )
            if lock:
                query = query.with_for_update()
            for row in connection.execute(query):
                ids[event_id, row.outcome_key] = row.id
    return ids


def _price_at(connection: Connection, outcome: int, fetched_ms: int) -> Latest | None:
    """The outcome's stored price at *fetched_ms*: the latest row at or before it."""
    row = connection.execute(
        select(prices.c.fetched_at, prices.c.odds, prices.c.status)
        .where(prices.c.outcome == outcome, prices.c.fetched_at <= fetched_ms)
        .order_by(prices.c.fetched_at.desc())
        .limit(1)
    ).first()
    return None if row is None else Latest(outcome, row.fetched_at, row.odds, row.status)


def _row(outcome: int, price: PriceRecord, before: Latest | None) -> tuple[Any, ...] | None:
    """The price row of *price* (outcome, fetched_at, odds, fractional, status), or None
    if it is the same price as *before*."""
    status = price.status
    if status == KEEP_STATUS:
        status = before.status if before is not None else None
    if before is not None and before.same_price(price.odds, status):
        return None
    return (outcome, price.fetched_ms, price.odds, price.fractional, status)


def _chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
