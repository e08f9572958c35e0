"""The live feed: the server looks at the history for prices and signals newer than the
last it sent, and sends them to every open page as server-sent events.

One :class:`LiveFeed` per server polls every ``poll`` seconds, whatever the number of
pages open. Prices are found by their time (:func:`~kwiff_scrapy.history.board.prices_after`
from a little before the latest sent, :data:`LOOKBACK_MS`, as prices of one answer may be
written after those of a later one), and those already sent are skipped; signals by
their row id. A database that fails is said once (a ``status`` event), and again when it
answers.

Events sent (``event:`` name, ``data:`` JSON):

- ``prices``: ``{"prices": [{key, event_id, chart, at, odds, probability, status}]}``, the
  new prices of one event, only to a page that asked for them (``/live?event=ID``);
- ``moved``: ``{"prices": N}``, how many prices were stored since the last look;
- ``board``: ``{"rows": [{"event_id", "html"}]}``, each event's board row again;
- ``signals``: ``{"rows": [{"id", "html"}]}``, newest first;
- ``status``: ``{"ok": bool, "message": str}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import msgspec

from ..history.board import (
    UPDATE_LIMIT,
    OutcomeInfo,
    StoredPrice,
    latest_time,
    outcome_infos,
    prices_after,
)
from ..history.errors import HistoryError
from ..history.records import to_ms
from ..model.match_rows import RESULT_MARKETS
from .views import board_rows, chart_key, history_now, probability, signals_after

if TYPE_CHECKING:
    from ..history.queries import HistoryReader
    from ..history.signals import StoredSignal
    from .views import BoardRow, MoverCache

logger = logging.getLogger(__name__)

#: Prices are looked for from this long (history time) before the latest one sent: a price
#: written late (a slower worker of a shared watch) within it is still sent.
LOOKBACK_MS: Final = 30 * 1000
#: Pages of UPDATE_LIMIT prices one look reads at most (a burst bigger than this many is
#: read on over the next looks).
MAX_PAGES: Final = 20
#: Messages a page may fall behind by before it is dropped (it reconnects by itself).
QUEUE_SIZE: Final = 256
_RESULT_NAMES = frozenset(name.casefold() for name in RESULT_MARKETS)

RunInDatabase = Callable[[Callable[[], Any]], Awaitable[Any]]


@dataclass
class Batch:
    """What one look at the history found."""

    #: The new prices, by event id.
    prices: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    count: int = 0
    board: list[BoardRow] = field(default_factory=list)
    signals: list[StoredSignal] = field(default_factory=list)


def sse(event: str, data: Any) -> bytes:
    """One server-sent event."""
    return b"event: %s\ndata: %s\n\n" % (event.encode(), msgspec.json.encode(data))


class LiveFeed:
    def __init__(
        self,
        reader: HistoryReader,
        run: RunInDatabase,
        *,
        render_row: Callable[[BoardRow], str],
        render_signal: Callable[[StoredSignal], str],
        movers: MoverCache | None = None,
    ) -> None:
        self._movers = movers
        self._refreshing: asyncio.Task[None] | None = None
        self._movers_pages: set[asyncio.Queue[bytes | None]] = set()
        self._reader = reader
        self._run = run
        self._render_row = render_row
        self._render_signal = render_signal
        #: Each page's queue, and the event whose prices it wants (None: none).
        self._clients: dict[asyncio.Queue[bytes | None], int | None] = {}
        self._outcomes: dict[int, OutcomeInfo] = {}
        self._last_ms: int | None = None
        #: Where the next look starts: a time, and (paging through one time) an outcome.
        self._from_ms: int | None = None
        self._from_key: int | None = None
        self._sent: set[tuple[int, int]] = set()
        self._last_signal: int | None = None
        self._primed = False
        #: None while the database answers; what went wrong otherwise.
        self.problem: str | None = None
        self.polls = 0

    # -- pages -----------------------------------------------------------------------------

    def subscribe(
        self, event_id: int | None = None, *, movers: bool = False
    ) -> asyncio.Queue[bytes | None]:
        """A queue of the messages for a page (with *event_id*: that event's prices too;
        *movers*: a movers page, whose tables are then kept fresh in the background)."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_SIZE)
        self._clients[queue] = event_id
        if movers:
            self._movers_pages.add(queue)
        if self.problem is not None:
            queue.put_nowait(sse("status", {"ok": False, "message": self.problem}))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[bytes | None]) -> None:
        self._clients.pop(queue, None)
        self._movers_pages.discard(queue)

    def close(self) -> None:
        """Ends every page's stream (the server is stopping)."""
        for queue in list(self._clients):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self._clients.clear()

    def _send(self, message: bytes, event_id: int | None = None) -> None:
        """*message* to every page (with *event_id*: to the pages of that event)."""
        for queue, wanted in list(self._clients.items()):
            if event_id is not None and wanted != event_id:
                continue
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # a page that does not read: it reconnects later
                self._clients.pop(queue, None)

    # -- polling ---------------------------------------------------------------------------

    def _refresh_movers(self) -> None:
        """The movers' tables again if stale, in the background: neither this look nor the
        pages wait for it (once per max age, however many pages)."""
        movers = self._movers
        if movers is None or not movers.stale() or not self._movers_pages:
            return
        if self._refreshing is not None and not self._refreshing.done():
            return

        async def refresh() -> None:
            with contextlib.suppress(HistoryError):
                await self._run(lambda: movers.refresh(self._reader))

        self._refreshing = asyncio.create_task(refresh())

    async def stop(self) -> None:
        """Wait for a refresh of the movers under way (the server is stopping)."""
        if self._refreshing is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing

    async def run(self, poll: float) -> None:
        """Look at the history every *poll* seconds until cancelled."""
        while True:
            await self.poll_once()
            await asyncio.sleep(poll)

    async def poll_once(self) -> None:
        try:
            batch = await self._run(self._look)
        except HistoryError as exc:
            message = f"The odds history cannot be read: {exc}"
            if message != self.problem:
                logger.warning("%s", message)
                self.problem = message
                self._send(sse("status", {"ok": False, "message": message}))
            return
        finally:
            self.polls += 1
        if self.problem is not None:
            self.problem = None
            self._send(sse("status", {"ok": True, "message": "The odds history is back."}))
        if batch.count:
            self._refresh_movers()
            self._send(sse("moved", {"prices": batch.count}))
        # Each event's prices encoded only for the pages of that event open now (a page
        # that opened during the look is sent what the look found, as every page).
        wanted = {event_id for event_id in self._clients.values() if event_id is not None}
        for event_id, found in batch.prices.items():
            if event_id in wanted:
                self._send(sse("prices", {"prices": found}), event_id)
        if batch.board:
            rows = [
                {"event_id": r.event.event_id, "html": self._render_row(r)} for r in batch.board
            ]
            self._send(sse("board", {"rows": rows}))
        if batch.signals:
            found = [{"id": s.id, "html": self._render_signal(s)} for s in batch.signals]
            self._send(sse("signals", {"rows": found}))

    def _new_prices(self, max_pages: int | None) -> list[StoredPrice]:
        """(In the database thread.) The prices not sent yet, UPDATE_LIMIT at a time, until
        none is left or *max_pages* were read (the rest at the next look). All in one look:
        a burst, or the lookback window at the first look (then marked as sent, not sent),
        would otherwise hold back newer prices by a look per page, and pages read at later
        looks would send prices older than the first look as new."""
        engine = self._reader.engine
        new: list[StoredPrice] = []
        pages = 0
        while max_pages is None or pages < max_pages:
            pages += 1
            found = prices_after(
                engine, self._from_ms or 0, after_key=self._from_key, limit=UPDATE_LIMIT
            )
            fresh = [p for p in found if (p.key, p.at_ms) not in self._sent]
            new += fresh
            if found:
                self._last_ms = max(self._last_ms or 0, max(p.at_ms for p in found))
            if self._last_ms is None:
                break
            floor = self._last_ms - LOOKBACK_MS
            self._sent = {s for s in self._sent if s[1] >= floor}
            self._sent.update((p.key, p.at_ms) for p in fresh)
            if len(found) < UPDATE_LIMIT:  # all read: the next look reads the window again
                self._from_ms, self._from_key = floor, None
                break
            self._from_ms, self._from_key = found[-1].at_ms, found[-1].key  # more to read
        return new

    def _look(self) -> Batch:
        """(In the database thread.) The prices and signals not sent yet."""
        reader = self._reader
        reader.ensure_present()
        batch = Batch()
        if self._from_ms is None:  # the first look: from a little before the latest price
            latest = latest_time(reader.engine)
            self._from_ms = to_ms(latest) - LOOKBACK_MS if latest is not None else 0
        # The first look reads the whole window (what the pages show already), the others
        # at most MAX_PAGES.
        new = self._new_prices(MAX_PAGES if self._primed else None)
        signals = signals_after(reader, self._last_signal)
        if signals:
            self._last_signal = max(s.id for s in signals)
        if not self._primed:  # what was stored before the server started: on the pages already
            self._primed = True
            return batch
        batch.signals = signals
        batch.count = len(new)
        missing = {p.key for p in new} - self._outcomes.keys()
        if missing:
            self._outcomes.update(outcome_infos(reader.engine, missing))
        changed: set[int] = set()
        for price in new:
            info = self._outcomes.get(price.key)
            if info is None:
                continue
            if info.market.casefold() in _RESULT_NAMES:
                changed.add(info.event_id)
            batch.prices.setdefault(info.event_id, []).append(
                {
                    "key": price.key,
                    "event_id": info.event_id,
                    "chart": chart_key(info.market, info.outcome_id, info.outcome),
                    "at": price.at_ms / 1000,
                    "odds": price.odds,
                    "probability": probability(price.odds),
                    "status": price.status,
                }
            )
        if changed:
            batch.board = board_rows(reader, history_now(reader), event_ids=sorted(changed))
        return batch
