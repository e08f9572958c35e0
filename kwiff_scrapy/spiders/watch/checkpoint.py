"""A local watch saves ``spider.state`` to ``JOBDIR`` after its polls, not only at a clean stop.

Scrapy's ``SpiderState`` extension writes ``JOBDIR/spider.state`` when the spider closes.
A watch killed (SIGKILL, the OOM killer, a power cut) would resume from the prices and
detector windows of its last *clean* stop, and its first poll would report again every
change since. So after a poll, at most every ``KWIFF_WATCH_CHECKPOINT`` seconds, the watch
writes the same file, in the format ``SpiderState`` reads back (``pickle``, protocol 4):

- only once every item of the poll has been through the item pipelines and the feed
  exports, whose files are then flushed, so a change the checkpoint counts as reported is
  in the feed (a feed on a local disk; a power cut may still lose what the system had not
  written);
- atomically: a temporary file in ``JOBDIR``, ``fsync``, ``os.replace``; a kill at any
  moment leaves the previous checkpoint or the new one, whole;
- without holding the event loop for long: on the loop, the snapshot (:func:`snapshot_of`):
  the watch's prices are a copy of its dict of events (an event's snapshot is never
  changed once stored, only replaced), the rest (the detectors' windows, changed in place)
  is pickled there and then; in a thread, each event's snapshot is pickled on its own (so
  the loop gets the GIL back between two) and the whole written and synced
  (:func:`pickled`). An event pickled apart is unpickled by ``pickle.loads`` of its bytes
  (the standard ``_pickle.loads``): ``SpiderState`` reads the file as it reads its own.

The first checkpoint comes one interval after the first poll, not with it. Between two
checkpoints, each poll's changes are appended to the journal (:mod:`.journal`) once its
items are out, and a checkpoint empties it: a resumed watch applies the journal over the
checkpoint (or over nothing, killed before its first) and compares with the prices it
last reported, with no blind spot for an outcome that moved after the checkpoint and
moved back while the watch was down.

At the spider's close the last state is written again, atomically, once a save still in
its thread is done, so that an older checkpoint never replaces what ``SpiderState`` wrote,
and the journal is emptied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import pickle
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from scrapy import signals
from scrapy.extensions.feedexport import FeedExporter
from scrapy.utils.job import job_dir

from ... import defaults
from .journal import JOURNAL_FILE, Journal, apply
from .local import STATE_KEY, WatchState
from .pickles import PROTOCOL, Pickled

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

SETTING = "KWIFF_WATCH_CHECKPOINT"
#: The file ``SpiderState`` reads at the start (``JOBDIR/spider.state``).
STATE_FILE = "spider.state"
#: How long, at most, a checkpoint waits for the poll's items to leave the pipelines
#: (loop time) before it gives up until the next poll.
ITEMS_WAIT = 5.0
#: How long, at most, it then waits for pipelines that keep items to write later (the
#: odds history's buffer) to have written them, before it gives up until the next poll.
SETTLE_WAIT = 2.0


@runtime_checkable
class SettlesItems(Protocol):
    """An item pipeline that keeps items to write later (the odds history): ``settle``
    returns once everything handed to it so far is written or dropped for good."""

    async def settle(self) -> None: ...


def checkpoint_every(settings: BaseSettings) -> float:
    """``KWIFF_WATCH_CHECKPOINT``: seconds between two checkpoints at least; 0: none."""
    raw = settings.get(SETTING)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return defaults.WATCH_CHECKPOINT
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(raw, bool) or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(
            f"{SETTING} must be a number of seconds between two saves of the watch's state "
            f"to JOBDIR ({defaults.WATCH_CHECKPOINT:g}), or 0 for none, not {raw!r}"
        )
    return seconds


def snapshot_of(state: dict[str, Any]) -> dict[str, Any]:
    """What :func:`pickled` needs of ``spider.state`` later, whatever the watch changes
    meanwhile: cheap for the prices (a copy of the dict of events, whose snapshots are
    never changed once stored), the rest pickled now."""
    snapshot: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, WatchState):
            snapshot[key] = WatchState(dict(value.events), value.baselined)
        else:
            snapshot[key] = Pickled(pickle.dumps(value, protocol=PROTOCOL))
    return snapshot


def pickled(snapshot: dict[str, Any]) -> bytes:
    """The file's bytes, each event pickled on its own: one ``pickle.dumps`` of them all
    would hold the GIL, and so the event loop, until it is done."""
    pieces: dict[str, Any] = {}
    for key, value in snapshot.items():
        if isinstance(value, WatchState):
            events: dict[int, Any] = {
                event_id: Pickled(pickle.dumps(event, protocol=PROTOCOL))
                for event_id, event in value.events.items()
            }
            value = WatchState(events, value.baselined)
        pieces[key] = value
    return pickle.dumps(pieces, protocol=PROTOCOL)


def write_atomically(path: Path, data: bytes) -> None:
    """*data* becomes *path*'s content whole, or *path* stays as it was, whatever kills us."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (not possible everywhere: Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


class Checkpoint:
    """Saves a local watch's ``spider.state`` to ``JOBDIR`` after a poll, when due, and
    records each poll's changes in its journal (:mod:`.journal`) in between."""

    def __init__(self, folder: Path | None, every: float) -> None:
        #: Where ``spider.state`` goes; None: no checkpoints (no ``JOBDIR``, or 0).
        self.path = folder / STATE_FILE if folder is not None and every > 0 else None
        self.journal = Journal(folder / JOURNAL_FILE) if self.path and folder else None
        self.every = every
        self._last: float | None = None
        #: The size of the last checkpoint written: a journal that outgrows it is due one.
        self._saved_size: int | None = None
        self._writing: asyncio.Future[None] | None = None
        self._lock = threading.Lock()
        self._resumed = False
        self._closed = False

    @classmethod
    def of(cls, crawler: Crawler) -> Checkpoint:
        """The crawl's checkpoint; a bad ``KWIFF_WATCH_CHECKPOINT`` raises ValueError."""
        every = checkpoint_every(crawler.settings)
        folder = job_dir(crawler.settings)
        checkpoint = cls(Path(folder) if folder else None, every)
        if checkpoint.path is not None:
            crawler.signals.connect(checkpoint.spider_closed, signal=signals.spider_closed)
        elif folder:
            # Left by a run with checkpoints: older than the state this run will save, it
            # must not be applied over it by a later run with checkpoints.
            (Path(folder) / JOURNAL_FILE).unlink(missing_ok=True)
        return checkpoint

    def resume(self, watch: WatchState) -> None:
        """Apply the journal over the state ``SpiderState`` loaded, before the first poll."""
        if self.journal is None or self._resumed:
            return
        self._resumed = True
        try:
            applied, size = apply(self.journal.path, watch)
            self.journal.keep(size)
        except OSError as exc:
            logger.warning(
                "Could not read the watch's journal %s (%s): the watch resumes from its "
                "last checkpoint; check the JOBDIR folder's permissions",
                self.journal.path,
                exc,
            )
        else:
            if applied:
                logger.info(
                    "Resuming from the watch's last checkpoint and the %d poll(s) recorded "
                    "after it (%s)",
                    applied,
                    self.journal.path,
                )
        self.journal.start(watch)

    def due(self, now: float) -> bool:
        """True when a checkpoint is due; the first poll only starts the clock (see the
        module). A journal grown bigger than the last checkpoint makes one due too."""
        if self.path is None:
            return False
        if self._last is None:
            self._last = now
            return False
        journal, saved = self.journal, self._saved_size
        if journal is not None and saved is not None and journal.size > saved:
            return True
        return now - self._last >= self.every

    async def after_poll(self, crawler: Crawler, state: dict[str, Any], poll: int) -> bool:
        """Once the poll's items are out, record it in the journal and save *state* if a
        checkpoint is due: True if saved."""
        loop = asyncio.get_running_loop()
        if self.path is None:
            return False
        if not await _items_done(crawler, loop.time() + ITEMS_WAIT):
            logger.info(
                "Items still in the pipelines %g s after poll %d: its prices are recorded "
                "in JOBDIR after a later poll",
                ITEMS_WAIT,
                poll,
            )
            return False
        _flush_feeds(crawler)
        if not await _pipelines_settled(crawler, SETTLE_WAIT):
            logger.debug(
                "Prices of poll %d are still to be written (the history's database away "
                "or slow): the poll is recorded in JOBDIR with a later one",
                poll,
            )
            return False
        watch = state.get(STATE_KEY)
        if self.journal is not None and self._resumed and isinstance(watch, WatchState):
            await self._record(watch)
        if not self.due(loop.time()):
            return False
        snapshot = snapshot_of(state)
        self._last = loop.time()
        self._writing = loop.run_in_executor(None, self._write, self.path, snapshot)
        try:
            await asyncio.shield(self._writing)
        except OSError as exc:
            logger.warning(
                "Could not save the watch's state to %s (%s): a watch killed now would "
                "resume from an older one; check the JOBDIR folder's space and permissions",
                self.path,
                exc,
            )
            return False
        stats = _late(crawler, "stats")
        scraped = stats.get_value("item_scraped_count", 0) if stats is not None else 0
        logger.debug(
            "Saved the watch's state to %s after poll %d (%d items scraped)",
            self.path,
            poll,
            scraped,
        )
        return True

    async def _record(self, watch: WatchState) -> None:
        """Append the poll's changes to the journal, pickled in a thread."""
        assert self.journal is not None
        changed, gone = self.journal.changes_since(watch)
        loop = asyncio.get_running_loop()
        try:
            await asyncio.shield(
                loop.run_in_executor(None, self.journal.append, watch, changed, gone)
            )
        except OSError as exc:
            logger.warning(
                "Could not record the poll in the watch's journal %s (%s): a watch killed "
                "now would resume from its last checkpoint; check the JOBDIR folder's "
                "space and permissions",
                self.journal.path,
                exc,
            )

    def _write(self, path: Path, snapshot: dict[str, Any]) -> None:
        data = pickled(snapshot)
        with self._lock:
            if not self._closed:  # else the close wrote a newer state
                write_atomically(path, data)
                self._saved_size = len(data)
                if self.journal is not None:
                    self.journal.clear()

    def spider_closed(self, spider: Spider) -> None:
        """Once a save in its thread is done, write the last state again (see the module),
        and empty the journal, which it holds."""
        if self.path is None or (self._writing is None and not self._resumed):
            return
        state = getattr(spider, "state", None)
        if not isinstance(state, dict):
            return
        with self._lock:  # a save still in its thread finishes first, or never starts
            self._closed = True
            try:
                write_atomically(self.path, pickle.dumps(state, protocol=PROTOCOL))
                if self.journal is not None:
                    self.journal.clear()
            except OSError as exc:
                logger.warning("Could not save the watch's state to %s: %s", self.path, exc)


async def _items_done(crawler: Crawler, deadline: float) -> bool:
    """True once no item is in the item pipelines (the feed exports run after them)."""
    loop = asyncio.get_running_loop()
    engine = _late(crawler, "engine")
    slot = engine.scraper.slot if engine is not None else None
    while slot is not None and slot.itemproc_size > 0:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def _pipelines_settled(crawler: Crawler, within: float) -> bool:
    """True once every item pipeline that keeps items to write later has written what it
    was handed (within *within* seconds): a killed watch would lose what it keeps, so the
    watch must not count those changes as reported."""
    engine = _late(crawler, "engine")
    itemproc = engine.scraper.itemproc if engine is not None else None
    pipelines = [
        pipeline
        for pipeline in getattr(itemproc, "middlewares", ())
        if isinstance(pipeline, SettlesItems)
    ]
    try:
        async with asyncio.timeout(within):
            for pipeline in pipelines:
                await pipeline.settle()
    except TimeoutError:
        return False
    return True


def _flush_feeds(crawler: Crawler) -> None:
    """Push the feed exports' buffered lines to their files: a kill then keeps them."""
    extensions = _late(crawler, "extensions")
    for extension in extensions.middlewares if extensions is not None else ():
        if not isinstance(extension, FeedExporter):
            continue
        for slot in extension.slots:
            for stream in (getattr(slot.exporter, "stream", None), slot.file):
                flush = getattr(stream, "flush", None)
                if callable(flush):
                    with contextlib.suppress(OSError, ValueError):  # closed, or cannot
                        flush()


def _late(crawler: Crawler, name: str) -> Any:
    """The crawler's *name* (``engine``, ``stats``, ...), or None before the crawl starts."""
    try:
        return getattr(crawler, name)
    except RuntimeError:  # Scrapy sets it when the crawl starts
        return None
