"""The live feed: the server looks at the history for prices and signals newer than the
last it sent, and sends them to every open page as server-sent events.

One :class:`LiveFeed` per server polls every ``poll`` seconds, whatever the number of
pages open. Prices are found by their time (:func:`~kwiff_scrapy.history.board.prices_after`
from a little before the latest sent, :data:`LOOKBACK_MS`, as prices of one answer may be
written after those of a later one), and those already sent are skipped; signals by
their row id. A database that fails is said once (a ``status`` event), and again when it
answers.

Events sent (``event:`` name, ``data:`` JSON):

- ``prices``: ``{"prices": [{key, event_id, chart, at, odds, probability, status}]}``;
- ``board``: ``{"rows": [{"event_id", "html"}]}``, each event's board row again;
- ``signals``: ``{"rows": [{"id", "html"}]}``, newest first;
- ``status``: ``{"ok": bool, "message": str}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..history.board import prices_after
from ..history.errors import HistoryError
from ..model.match_rows import RESULT_MARKETS
from .views import board_rows, chart_key, history_now, probability, signals_after

if TYPE_CHECKING:
    from ..history.queries import HistoryReader
    from ..history.signals import StoredSignal
    from .views import BoardRow

logger = logging.getLogger(__name__)

#: Prices are looked for from this long (history time) before the latest one sent.
LOOKBACK_MS: Final = 5 * 60 * 1000
#: Messages a page may fall behind by before it is dropped (it reconnects by itself).
QUEUE_SIZE: Final = 256
_RESULT_NAMES = frozenset(name.casefold() for name in RESULT_MARKETS)

RunInDatabase = Callable[[Callable[[], Any]], Awaitable[Any]]


@dataclass
class Batch:
    """What one look at the history found."""

    prices: list[dict[str, Any]] = field(default_factory=list)
    board: list[BoardRow] = field(default_factory=list)
    signals: list[StoredSignal] = field(default_factory=list)


def sse(event: str, data: Any) -> bytes:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class LiveFeed:
    def __init__(
        self,
        reader: HistoryReader,
        run: RunInDatabase,
        *,
        render_row: Callable[[BoardRow], str],
        render_signal: Callable[[StoredSignal], str],
    ) -> None:
        self._reader = reader
        self._run = run
        self._render_row = render_row
        self._render_signal = render_signal
        self._clients: set[asyncio.Queue[bytes | None]] = set()
        self._last_ms: int | None = None
        self._sent: set[tuple[int, int]] = set()
        self._last_signal: int | None = None
        self._primed = False
        #: None while the database answers; what went wrong otherwise.
        self.problem: str | None = None
        self.polls = 0

    # -- pages -----------------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[bytes | None]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_SIZE)
        self._clients.add(queue)
        if self.problem is not None:
            queue.put_nowait(sse("status", {"ok": False, "message": self.problem}))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[bytes | None]) -> None:
        self._clients.discard(queue)

    def close(self) -> None:
        """Ends every page's stream (the server is stopping)."""
        for queue in list(self._clients):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self._clients.clear()

    def _send(self, message: bytes) -> None:
        for queue in list(self._clients):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # a page that does not read: it reconnects later
                self._clients.discard(queue)

    # -- polling ---------------------------------------------------------------------------

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
        if batch.prices:
            self._send(sse("prices", {"prices": batch.prices}))
        if batch.board:
            rows = [
                {"event_id": r.event.event_id, "html": self._render_row(r)} for r in batch.board
            ]
            self._send(sse("board", {"rows": rows}))
        if batch.signals:
            found = [{"id": s.id, "html": self._render_signal(s)} for s in batch.signals]
            self._send(sse("signals", {"rows": found}))

    def _look(self) -> Batch:
        """(In the database thread.) The prices and signals not sent yet."""
        reader = self._reader
        reader.ensure_present()
        batch = Batch()
        start = self._last_ms - LOOKBACK_MS if self._last_ms is not None else 0
        found = prices_after(reader.engine, start)
        new = [p for p in found if (p.key, p.at_ms) not in self._sent]
        if new or self._last_ms is None:
            latest = max((p.at_ms for p in found), default=self._last_ms or 0)
            self._last_ms = max(self._last_ms or 0, latest)
            floor = self._last_ms - LOOKBACK_MS
            self._sent = {s for s in self._sent if s[1] >= floor}
            self._sent.update((p.key, p.at_ms) for p in new)
        signals = signals_after(reader, self._last_signal)
        if signals:
            self._last_signal = max(s.id for s in signals)
        if not self._primed:  # what was stored before the server started: on the pages already
            self._primed = True
            return batch
        batch.signals = signals
        batch.prices = [
            {
                "key": p.key,
                "event_id": p.event_id,
                "chart": chart_key(p.market, p.outcome_id, p.outcome),
                "at": p.at_ms / 1000,
                "odds": p.odds,
                "probability": probability(p.odds),
                "status": p.status,
            }
            for p in new
        ]
        changed = sorted({p.event_id for p in new if p.market.casefold() in _RESULT_NAMES})
        if changed:
            batch.board = board_rows(reader, history_now(reader), event_ids=changed)
        return batch
