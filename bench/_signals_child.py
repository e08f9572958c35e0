"""The pollers of ``bench.bench_watch``'s signals figures: one process each, so that the
poll with signals and the one without do not share a heap (the detectors' state makes
every garbage collection of its process longer: a cost of signals, counted here).

Each poller has its own session and its own last-seen snapshots, and makes one poll as
the local watch does (round trip, ``read_event_list``, snapshots, ``compare_list``, then
with signals the detectors over the answer's changes) each time the parent asks.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import TYPE_CHECKING, Any

from kwiff_scrapy.connection.session import KwiffSession, SessionOptions
from kwiff_scrapy.integration.signal_settings import load_signal_rules
from kwiff_scrapy.model.answer import parse_answer
from kwiff_scrapy.model.changes import EventSnapshot, compare_list
from kwiff_scrapy.model.detectors import SignalDetectors
from kwiff_scrapy.model.event_list import read_event_list

from ._common import EVENT_LIST_PAYLOAD

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


def poller(url: str, signals: bool, conn: Connection) -> None:
    """Poll each time *conn* brings True; send back the poll's figures; on ``"tracked"``
    send the objects the garbage collector tracks after a full collection; stop on False."""
    loop = asyncio.new_event_loop()
    session = loop.run_until_complete(KwiffSession.open(SessionOptions(endpoint=url)))
    previous: dict[int, EventSnapshot] = {}
    detectors = SignalDetectors(load_signal_rules(None)) if signals else None
    collector = _CollectorClock()
    gc.callbacks.append(collector)
    try:
        while asked := conn.recv():
            if asked == "tracked":
                gc.collect()
                conn.send(len(gc.get_objects()))
                continue
            collector.reset()
            figures = loop.run_until_complete(_poll(session, previous, detectors))
            conn.send({**figures, "gc_cpu": collector.cpu, "gc_full": collector.full})
    finally:
        gc.callbacks.remove(collector)
        loop.run_until_complete(session.close())
        loop.close()
        conn.close()


class _CollectorClock:
    """A ``gc.callbacks`` entry: the CPU seconds the garbage collector took since
    :meth:`reset`, and how many of its collections were full (generation 2)."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.full = 0
        self._started = 0.0

    def reset(self) -> None:
        self.cpu = 0.0
        self.full = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
            return
        self.cpu += time.process_time() - self._started
        self.full += info["generation"] == 2


async def _poll(
    session: KwiffSession, known: dict[int, EventSnapshot], detectors: SignalDetectors | None
) -> dict[str, Any]:
    """One poll: wall and CPU seconds (the detectors' apart too), changes and signals."""
    started, cpu_started = time.perf_counter(), time.process_time()
    ack = await session.command("event:list", EVENT_LIST_PAYLOAD)
    undecoded = ack.body if ack.args_if_decoded is None else None
    listed = read_event_list(undecoded, lambda: parse_answer(ack.args))
    snapshots = {event.event_id: EventSnapshot.of(event) for event in listed.events}
    comparison = compare_list(
        known,
        known,
        snapshots,
        compare_listed=True,
        complete=listed.complete,
        seen_at=listed.fetched_at,
    )
    known.update(comparison.writes)
    for event_id in comparison.deletes:
        known.pop(event_id, None)
    detector_wall = detector_cpu = 0.0
    signals = 0
    if detectors is not None:  # as the watch's with_signals: the answer's changes, then flush
        detecting, cpu_detecting = time.perf_counter(), time.process_time()
        signals = len(detectors.feed(comparison.changes) + detectors.flush())
        detector_wall = time.perf_counter() - detecting
        detector_cpu = time.process_time() - cpu_detecting
    return {
        "wall": time.perf_counter() - started,
        "cpu": time.process_time() - cpu_started,
        "detector_wall": detector_wall,
        "detector_cpu": detector_cpu,
        "changes": len(comparison.changes),
        "signals": signals,
    }
