"""Batches of observations, written from one thread, never on the event loop.

:class:`HistoryWriter` owns a :class:`~kwiff_scrapy.history.store.HistoryStore` and a
thread of its own (a one-worker executor: SQLAlchemy and the SQLite driver only
ever see that thread). :meth:`~HistoryWriter.add` only appends to a buffer; one
asyncio task takes a batch from it when it holds ``batch_size`` prices, or
``flush_interval`` seconds after the batch's first item, whichever comes first, and
waits for the thread to write it in one transaction. Meanwhile the buffer fills
again, so the next batch is ready when the thread is free.

A batch that fails (the database went away) goes back to the front of the buffer and
is tried again after ``retry_delay`` seconds, doubling up to ``max_retry_delay``.
The buffer holds at most ``buffer_size`` prices: beyond that the oldest
observations are dropped, and counted. :meth:`~HistoryWriter.close` writes
everything still buffered (retrying for up to ``close_timeout`` seconds) and counts
what could not be written as dropped.

A process that is killed loses what was buffered and not yet committed: at most the
batches of the last ``flush_interval`` (plus any backlog of a failing database).
Every committed batch is whole; none is half-written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from .. import defaults
from .errors import HistoryError

if TYPE_CHECKING:
    from .records import Observation
    from .retention import Deleted
    from .store import HistoryStore, WriteResult

logger = logging.getLogger(__name__)


class WriterEvents(Protocol):
    """What the writer reports (on the event loop's thread)."""

    def batch_written(self, result: WriteResult) -> None: ...

    def write_failed(self, error: BaseException) -> None: ...

    def dropped(self, prices: int) -> None: ...

    def deleted(self, rows: Deleted) -> None:
        """Retention deleted *rows* (one batch; only with ``WriterLimits.keep``)."""


@dataclass(frozen=True, slots=True)
class WriterLimits:
    batch_size: int = defaults.HISTORY_BATCH_SIZE
    flush_interval: float = defaults.HISTORY_FLUSH_INTERVAL
    buffer_size: int = defaults.HISTORY_BUFFER_SIZE
    retry_delay: float = defaults.HISTORY_RETRY_DELAY
    max_retry_delay: float = defaults.HISTORY_MAX_RETRY_DELAY
    close_timeout: float = defaults.HISTORY_CLOSE_TIMEOUT
    #: ``KWIFF_HISTORY_KEEP``: delete what is older (None: keep everything), a pass
    #: every ``keep_interval`` seconds, ``keep_batch`` rows a transaction.
    keep: timedelta | None = None
    keep_interval: float = defaults.HISTORY_KEEP_INTERVAL
    keep_batch: int = defaults.HISTORY_KEEP_BATCH


def _weight(seen: Observation) -> int:
    """What an observation counts for in batches and in the buffer: its prices (an
    event's own change counts as one)."""
    return len(seen.prices) or 1


class HistoryWriter:
    """Writes observations in batches, from one thread, with a bounded buffer."""

    def __init__(
        self, store: HistoryStore, events: WriterEvents, limits: WriterLimits | None = None
    ) -> None:
        self.store = store
        self.events = events
        self.limits = limits or WriterLimits()
        self._buffer: deque[Observation] = deque()
        self._buffered = 0
        self._first_at: float | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._retention: asyncio.Task[None] | None = None
        self._stop_retention = False
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._failures = 0
        self._overflowing = False
        #: Write what is buffered now, not at the flush interval (see :meth:`settle`).
        self._flush_now = False
        #: Set when the writer has nothing left to write (see :meth:`settle`).
        self._became_idle = asyncio.Event()
        #: The batch the thread is writing, and its future there.
        self._in_flight: tuple[list[Observation], Future[WriteResult]] | None = None

    @property
    def buffered(self) -> int:
        """Prices waiting to be written."""
        return self._buffered

    def idle(self) -> bool:
        """True when everything added so far is written (or dropped): nothing buffered,
        nothing being written."""
        return not self._buffer and self._in_flight is None

    async def settle(self) -> None:
        """Return once everything added so far is written or dropped, the buffer written
        now rather than at its flush interval. While the database is away this takes as
        long as it is away: bound it with ``asyncio.timeout``.

        A watch waits for this before it counts a poll as reported in ``JOBDIR``: a price
        still in the buffer would be lost with a killed watch, and the resumed watch must
        report it again."""
        if self._buffer:
            self._flush_now = True
            self._wake.set()
        while not self.idle():
            self._became_idle.clear()
            await self._became_idle.wait()

    def start(self) -> None:
        """Start the writer's thread and batch task (the store must be open)."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kwiff-history")
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="kwiff-history-writer"
        )
        if self.limits.keep is not None:
            self._retention = asyncio.get_running_loop().create_task(
                self._retain(self.limits.keep), name="kwiff-history-retention"
            )

    def add(self, seen: Observation) -> None:
        """Buffer *seen* for the next batch (never waits)."""
        if self._closing.is_set() and self._task is None:
            self.events.dropped(len(seen.prices))
            return
        if not self._buffer:
            self._first_at = asyncio.get_running_loop().time()
        self._buffer.append(seen)
        self._buffered += _weight(seen)
        self._trim()
        self._wake.set()

    async def close(self) -> None:
        """Write what is buffered (retrying up to ``close_timeout`` seconds), then close
        the store and the thread. What is left is counted as dropped."""
        self._closing.set()
        self._wake.set()
        if self._retention is not None:
            # The pass under way finishes within the close timeout; else it stops after
            # its current batch (what it deleted is committed; the next crawl goes on).
            try:
                async with asyncio.timeout(self.limits.close_timeout):
                    await asyncio.shield(self._retention)
            except TimeoutError:
                self._stop_retention = True
                await self._retention
            self._retention = None
        if self._task is not None:
            try:
                async with asyncio.timeout(self.limits.close_timeout):
                    await asyncio.shield(self._task)
            except TimeoutError:
                logger.error(
                    "Odds history: %d prices could not be written within %g s of closing",
                    self._buffered,
                    self.limits.close_timeout,
                )
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                await self._settle_in_flight()
            self._task = None
        if self._buffer:
            self._drop(len(self._buffer))
        if self._executor is not None:
            executor, self._executor = self._executor, None
            try:
                await asyncio.get_running_loop().run_in_executor(executor, self.store.close)
            finally:
                executor.shutdown(wait=True)

    # -- retention -------------------------------------------------------------------------

    async def _retain(self, keep: timedelta) -> None:
        """A pass of retention at the start, then every ``keep_interval`` seconds: one
        small batch at a time in the writer's thread, so the writes take turns with it.
        Closing lets the pass under way finish (within ``close_timeout``)."""
        from .retention import RetentionPass, cutoff

        loop = asyncio.get_running_loop()
        while True:
            retention = RetentionPass(cutoff(int(time.time() * 1000), keep), self.limits.keep_batch)
            while not self._stop_retention and self._executor is not None:
                try:
                    deleted = await loop.run_in_executor(
                        self._executor, self.store.retain, retention
                    )
                except Exception as exc:
                    logger.error("Odds history: deleting old rows failed: %s", exc)
                    break
                if deleted is None:
                    break
                self.events.deleted(deleted)
            if retention.total.rows:
                logger.info(
                    "Odds history: deleted %d prices, %d events, %d signals and %d event "
                    "states older than %s",
                    retention.total.prices,
                    retention.total.events,
                    retention.total.signals,
                    retention.total.states,
                    keep,
                )
            if self._closing.is_set():
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.limits.keep_interval):
                    await self._closing.wait()
            if self._closing.is_set():
                return

    # -- the batch task --------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._buffer:
                if self._closing.is_set():
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if (
                not self._closing.is_set()
                and not self._flush_now
                and self._buffered < self.limits.batch_size
            ):
                first = self._first_at if self._first_at is not None else loop.time()
                due = first + self.limits.flush_interval - loop.time()
                if due > 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(due):
                            await self._until_full()
                    continue
            batch = self._take()
            if not await self._write(batch):
                self._put_back(batch)
                await self._pause()
            elif self.idle():
                self._flush_now = False  # a batch put back is still written at once
                self._became_idle.set()

    async def _until_full(self) -> None:
        while (
            self._buffered < self.limits.batch_size
            and not self._closing.is_set()
            and not self._flush_now
        ):
            self._wake.clear()
            await self._wake.wait()

    def _take(self) -> list[Observation]:
        batch: list[Observation] = []
        size = 0
        while self._buffer and (
            not batch or size + _weight(self._buffer[0]) <= self.limits.batch_size
        ):
            seen = self._buffer.popleft()
            size += _weight(seen)
            batch.append(seen)
        self._buffered -= size
        self._first_at = asyncio.get_running_loop().time() if self._buffer else None
        return batch

    def _put_back(self, batch: list[Observation]) -> None:
        self._buffer.extendleft(reversed(batch))
        self._buffered += sum(_weight(seen) for seen in batch)
        if self._first_at is None:
            self._first_at = asyncio.get_running_loop().time()
        self._trim()

    async def _settle_in_flight(self) -> None:
        """After a cancelled wait: the batch the thread was writing is counted as written
        once it is, or as dropped."""
        if self._in_flight is None:
            return
        batch, future = self._in_flight
        self._in_flight = None
        if self.idle():
            self._flush_now = False
            self._became_idle.set()
        if not future.cancelled():
            try:
                result = await asyncio.wrap_future(future)
            except Exception:
                pass
            else:
                self.events.batch_written(result)
                return
        self._count_dropped(batch)

    async def _write(self, batch: list[Observation]) -> bool:
        assert self._executor is not None
        future = self._executor.submit(self.store.write, batch)
        self._in_flight = (batch, future)
        try:
            result = await asyncio.wrap_future(future)
        except HistoryError as exc:
            self._failures += 1
            logger.error(
                "Odds history: %s (%d prices kept to try again)",
                exc,
                sum(len(seen.prices) for seen in batch) + self._buffered,
            )
            self.events.write_failed(exc)
            return False
        except Exception as exc:
            self._failures += 1
            logger.exception("Odds history: a batch could not be written")
            self.events.write_failed(exc)
            return False
        finally:
            if future.done() and not future.cancelled():
                self._in_flight = None
        self._overflowing = False
        if result.transaction:
            logger.debug(
                "Odds history: committed a batch of %d item(s): %d price rows written, "
                "%d unchanged",
                len(batch),
                result.written,
                result.unchanged,
            )
        if self._failures:
            logger.info("Odds history: writing again after %d failed attempt(s)", self._failures)
            self._failures = 0
        self.events.batch_written(result)
        return True

    async def _pause(self) -> None:
        """Wait before trying again; closing shortens nothing (the close timeout bounds it)."""
        delay = min(
            self.limits.retry_delay * 2 ** (self._failures - 1), self.limits.max_retry_delay
        )
        await asyncio.sleep(delay)

    def _trim(self) -> None:
        """Drop the oldest observations while the buffer holds more than its limit."""
        dropped = 0
        while self._buffered > self.limits.buffer_size and len(self._buffer) > 1:
            seen = self._buffer.popleft()
            self._buffered -= _weight(seen)
            dropped += 1
            self._count_dropped([seen])
        if dropped and not self._overflowing:
            self._overflowing = True
            logger.warning(
                "Odds history: the buffer is full (%d prices): dropping the oldest items "
                "until a batch is written (counted as kwiff/history/dropped)",
                self.limits.buffer_size,
            )

    def _drop(self, count: int) -> None:
        lost = [self._buffer.popleft() for _ in range(count)]
        self._buffered -= sum(_weight(seen) for seen in lost)
        self._count_dropped(lost)

    def _count_dropped(self, lost: list[Observation]) -> None:
        prices = sum(len(seen.prices) for seen in lost)
        if prices:
            self.events.dropped(prices)
