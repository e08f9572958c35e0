"""Signals in a shared watch: each event's detector state beside its snapshot in Redis.

``<key>:signals``
    hash, event id -> the event's detector state (:mod:`kwiff_scrapy.model.detector_records`,
    compressed JSON: data, never code), written and deleted only by the compare-and-set
    that writes or deletes the event's snapshot (:mod:`.state`), so it moves with the
    event's version.

The worker that holds a poll's lease compares the answer, reads the detector states of
the events that changed, feeds the changes to fresh detectors carrying on from those
states (:meth:`SharedDetectors.detect`), and hands the new states to the same commit
as the snapshots. If the commit is refused (another worker wrote one of those events
first), the whole comparison is done again from what Redis holds now; if the lease was
lost, nothing is yielded. So each signal is computed once, by the worker whose commit
went through, from every change of that event whichever worker polled it.

Rules look at one event at a time, so the state of the events an answer changed is all
the detectors need. A state written under other ``KWIFF_SIGNALS`` rules (another
worker's settings) or unreadable is started afresh, with a warning.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model.detector_records import event_record, event_state, record_rules, rules_fingerprint
from ..model.detectors import SignalDetectors

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from ..model.changes import Change
    from ..model.signal_rules import SignalRule
    from ..model.signals import OddsSignal

logger = logging.getLogger(__name__)

#: First byte of a stored detector state: zlib-compressed JSON.
_FORMAT = b"d"


def encode_state(record: dict[str, Any]) -> bytes:
    """A detector state as stored in Redis: compressed JSON."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return _FORMAT + zlib.compress(text.encode(), 1)


def decode_state(blob: bytes) -> Any:
    """The JSON data of a stored state; ``ValueError`` if *blob* is not one."""
    if not blob.startswith(_FORMAT):
        raise ValueError("not a detector state stored by kwiff_scrapy")
    try:
        return json.loads(zlib.decompress(blob[len(_FORMAT) :]))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a detector state: {exc}") from None


@dataclass
class Detected:
    """What one answer's changes gave: signals, and the states to write or delete."""

    signals: list[OddsSignal] = field(default_factory=list)
    writes: dict[int, bytes] = field(default_factory=dict)
    deletes: list[int] = field(default_factory=list)


class SharedDetectors:
    """The detectors of a shared watch: fed from and written back to per-event states."""

    def __init__(self, rules: Sequence[SignalRule]) -> None:
        self.rules = tuple(rules)
        self.fingerprint = rules_fingerprint(self.rules)
        self._warned_rules = False

    @staticmethod
    def events_of(changes: Iterable[Change]) -> list[int]:
        """The events *changes* are about, in order: the states :meth:`detect` needs."""
        return list(dict.fromkeys(change.event_id for change in changes))

    def detect(self, changes: Sequence[Change], stored: Mapping[int, bytes | None]) -> Detected:
        """The signals of one answer's *changes*, carrying on from the *stored* states
        of their events (:meth:`events_of`); pure, so it can run again after a conflict."""
        detectors = SignalDetectors(self.rules)
        for event_id, blob in stored.items():
            state = self._state(event_id, blob)
            if state is not None:
                detectors.restore(state)
        detected = Detected(detectors.feed(changes) + detectors.flush())
        for event_id in self.events_of(changes):
            kept = detectors.event_state(event_id)
            if kept is not None:
                detected.writes[event_id] = encode_state(event_record(kept, self.fingerprint))
            elif stored.get(event_id) is not None:
                detected.deletes.append(event_id)
        return detected

    def _state(self, event_id: int, blob: bytes | None) -> Any:
        if blob is None:
            return None
        try:
            record = decode_state(blob)
            rules = record_rules(record)
            if rules is not None and rules != self.fingerprint:
                if not self._warned_rules:
                    self._warned_rules = True
                    logger.warning(
                        "The shared watch's signal state was built under other KWIFF_SIGNALS "
                        "rules than this worker's: give every worker the same rules (the "
                        "events' windows start afresh meanwhile)"
                    )
                return None
            return event_state(record)
        except ValueError as exc:
            logger.warning(
                "The shared signal state of event %s cannot be read (%s): started afresh",
                event_id,
                exc,
            )
            return None
