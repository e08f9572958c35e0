"""What a local watch reported since its last checkpoint, appended to ``JOBDIR`` after each poll.

A checkpoint (:mod:`.checkpoint`) saves the watch's last-seen prices at most every
``KWIFF_WATCH_CHECKPOINT`` seconds. Resuming from it alone has a blind spot: an outcome
that moved after the checkpoint (the move reported) and is back at the checkpoint's price
when the watch resumes compares equal to the checkpoint, so its move back is never
reported and the feed and the history keep the price it had moved to.

The journal closes it. After each poll, once the poll's items are out of the pipelines,
what that poll changed is appended to ``JOBDIR/watch.journal`` as one record: for each
event it changed, its header fields and outcomes that differ from the journal's last
(:class:`EventDelta`; a whole snapshot for an event new to the journal), and the ids of
the events it dropped; a checkpoint empties the file once it
has replaced ``spider.state``. At resume the records are applied, in order, over the
saved state: the watch compares its first poll with the prices it last reported, not
those of its last checkpoint.

- A record is ``length, CRC-32, pickle`` (the length and checksum as two big-endian
  32-bit words): a kill in the middle of an append leaves a short or corrupt last record,
  which the resume ignores (the poll it was written for is then reported again, as it
  would be without a journal).
- The records apply over the checkpoint in any case: the one appended for the poll a
  checkpoint was taken after holds exactly the prices of that checkpoint, so a kill
  between the checkpoint's rename and the journal's emptying changes nothing.
- Appends are flushed to the operating system (a SIGKILL keeps them), not synced to the
  disk (a power cut may lose the last ones: the watch then resumes from the checkpoint).
- Each record is made and pickled in a thread (whole snapshots one at a time, like a
  checkpoint), so the event loop is not held for a busy poll. A poll that moved a few
  hundred prices makes a record of some tens of KB, where the watch's state is MBs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import pickle
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ...model.changes import SNAPSHOT_HEADER, EventSnapshot, OutcomeKey, PricePoint
from .pickles import PROTOCOL, Pickled

if TYPE_CHECKING:
    from .local import WatchState

logger = logging.getLogger(__name__)

JOURNAL_FILE = "watch.journal"
_RECORD_HEADER = struct.Struct(">II")  # length, CRC-32 of the pickle that follows


class Journal:
    """The records of the polls since the last checkpoint, in ``JOBDIR``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        #: The snapshots the file (over the checkpoint) holds: each poll's record is what
        #: the watch's state has that is not this (compared by identity: a stored snapshot
        #: is never changed, only replaced).
        self._known: dict[int, EventSnapshot] = {}
        self._baselined = False
        #: The file's size; what a checkpoint would spare.
        self.size = 0

    def start(self, state: WatchState) -> None:
        """From now on, record what changes in *state* (resumed, journal applied)."""
        self._known = dict(state.events)
        self._baselined = state.baselined

    def changes_since(self, state: WatchState) -> tuple[dict[int, EventSnapshot], list[int]]:
        """The events *state* holds that the journal does not yet, and those it dropped."""
        known = self._known
        changed = {
            event_id: snapshot
            for event_id, snapshot in state.events.items()
            if known.get(event_id) is not snapshot
        }
        gone = [event_id for event_id in known if event_id not in state.events]
        return changed, gone

    def append(
        self,
        state: WatchState,
        changed: dict[int, EventSnapshot],
        gone: list[int],
    ) -> None:
        """Append one record (in a thread: it pickles), and know *state* from now on."""
        if not changed and not gone and state.baselined == self._baselined:
            return
        events: dict[int, EventDelta | Pickled] = {}
        for event_id, snapshot in changed.items():
            known = self._known.get(event_id)
            if known is None:  # new to the journal: whole (pickled apart, see the module)
                events[event_id] = Pickled(pickle.dumps(snapshot, protocol=PROTOCOL))
            else:
                events[event_id] = EventDelta.between(known, snapshot)
        data = pickle.dumps((events, gone, state.baselined), protocol=PROTOCOL)
        record = _RECORD_HEADER.pack(len(data), zlib.crc32(data)) + data
        with self.path.open("ab") as file:
            try:
                file.write(record)
                file.flush()
            except OSError:
                # Half a record would hide every later one from the resume.
                file.truncate(self.size)
                raise
        self.size += len(record)
        for event_id, snapshot in changed.items():
            self._known[event_id] = snapshot
        for event_id in gone:
            self._known.pop(event_id, None)
        self._baselined = state.baselined

    def keep(self, size: int) -> None:
        """Keep the file's first *size* bytes (the records a resume could read): later
        records go after them, not after a record cut short."""
        with contextlib.suppress(FileNotFoundError), self.path.open("r+b") as file:
            file.truncate(size)
        self.size = size

    def clear(self) -> None:
        """Empty the file: a checkpoint now holds everything it recorded."""
        self.keep(0)


class EventDelta(NamedTuple):
    """What changed in an event between two snapshots: its header fields that differ,
    the outcomes whose price or state differs, those gone. Applied to the first snapshot,
    it gives the second; applied again, nothing changes."""

    header: dict[str, Any]
    outcomes: dict[OutcomeKey, PricePoint]
    removed: list[OutcomeKey]

    @classmethod
    def between(cls, old: EventSnapshot, new: EventSnapshot) -> EventDelta:
        header = {
            name: getattr(new, name)
            for name in SNAPSHOT_HEADER
            if getattr(new, name) != getattr(old, name)
        }
        before, after = old.outcomes, new.outcomes
        outcomes = {key: point for key, point in after.items() if before.get(key) != point}
        removed = [key for key in before if key not in after]
        return cls(header, outcomes, removed)

    def applied_to(self, snapshot: EventSnapshot) -> EventSnapshot:
        outcomes = {**snapshot.outcomes, **self.outcomes}
        for key in self.removed:
            outcomes.pop(key, None)
        return dataclasses.replace(snapshot, **self.header, outcomes=outcomes)


def apply(path: Path, state: WatchState) -> tuple[int, int]:
    """Apply the records of the journal at *path* over *state*, in order: how many, and
    the size of the file they take.

    A record cut short or corrupt (a kill in the middle of an append) ends the reading:
    it and anything after it are ignored, and said so in the log."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0, 0
    applied = 0
    position = 0
    while position < len(data):
        header_end = position + _RECORD_HEADER.size
        if header_end > len(data):
            break
        length, checksum = _RECORD_HEADER.unpack_from(data, position)
        body = data[header_end : header_end + length]
        if len(body) < length or zlib.crc32(body) != checksum:
            break
        try:
            events, gone, baselined = pickle.loads(body)
        except Exception as exc:  # a record of an incompatible version of the watch
            logger.warning(
                "Could not read record %d of the watch's journal %s (%s): the watch "
                "resumes from the prices before it",
                applied + 1,
                path,
                exc,
            )
            return applied, position
        for event_id, event in events.items():
            if isinstance(event, EventDelta):
                known = state.events.get(event_id)
                if known is not None:  # else the event is not watched: nothing to change
                    state.events[event_id] = event.applied_to(known)
            else:
                state.events[event_id] = event
        for event_id in gone:
            state.events.pop(event_id, None)
        state.baselined = state.baselined or bool(baselined)
        applied += 1
        position = header_end + length
    if position < len(data):
        logger.info(
            "The last record of the watch's journal %s was cut short (a kill while it was "
            "written): the poll it recorded is compared with the prices before it",
            path,
        )
    return applied, position
