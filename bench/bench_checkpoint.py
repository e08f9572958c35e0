"""How long a watch's checkpoint (``KWIFF_WATCH_CHECKPOINT``) holds the event loop.

A ``details=1`` watch of the simulator's football events (111 by default;
``--football-events``) runs with ``JOBDIR`` and signals for a few polls against the moving
simulator (its own process) and stops cleanly; its ``spider.state`` is then what a
checkpoint saves. Timed here, in rounds, A and B interleaved, medians of CPU time:

- on the loop: :func:`snapshot_of` (a copy of the dict of events; the detectors pickled);
- baseline, in the same rounds: ``pickle.dumps`` of the whole state, which is what the loop
  would spend if it pickled the state itself, as Scrapy's ``SpiderState`` does at a stop;
- in the thread (off the loop): :func:`pickled` and the write (temporary file, ``fsync``,
  ``os.replace``), in wall time;
- a poll's journal record (``JOBDIR/watch.journal``, written after every poll between two
  checkpoints): the state of a next poll is made from the saved one by moving ``--moves``
  prices spread over the events (and a new ``fetched_at`` for every event, as each answer
  brings); on the loop, which events changed (CPU); in the thread, the record made,
  pickled and appended (CPU).

    python -m bench.bench_checkpoint [--football-events 111] [--polls 3] [--rounds 30] [--quick]
                                     [--moves 300]
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import base_parser, print_header, print_table, simulator_process
from kwiff_scrapy.spiders.watch import STATE_KEY, WatchState
from kwiff_scrapy.spiders.watch.checkpoint import (
    PROTOCOL,
    STATE_FILE,
    pickled,
    snapshot_of,
    write_atomically,
)
from kwiff_scrapy.spiders.watch.journal import JOURNAL_FILE, Journal

NOTE = (
    "The simulator runs in its own process; the watch runs in another and stops; the "
    "checkpoint of its state is timed here."
)


def watch_state(url: str, job: Path, polls: int) -> dict[str, object]:
    """The ``spider.state`` a details watch of *url* leaves after about *polls* polls."""
    command = [
        sys.executable, "-m", "scrapy", "crawl", "kwiff_watch", "-a", "details=1",
        "-a", "interval=1", "-s", f"KWIFF_ENDPOINT={url}", "-s", f"JOBDIR={job}",
        "-s", "KWIFF_SIGNALS_ENABLED=1", "-s", f"CLOSESPIDER_TIMEOUT={polls + 2}",
        "-s", "LOG_LEVEL=WARNING",
    ]  # fmt: skip
    subprocess.run(command, check=True, timeout=600)
    state: dict[str, object] = pickle.loads((job / STATE_FILE).read_bytes())
    return state


def next_poll(watched: WatchState, moves: int) -> WatchState:
    """The state after a poll that moved *moves* prices, spread over the events, and gave
    every event a new ``fetched_at`` (each a new snapshot, as the watch stores them)."""
    events = dict(watched.events)
    keys = [(event_id, key) for event_id, event in events.items() for key in event.outcomes]
    chosen = set(keys[:: max(1, len(keys) // moves)][:moves])
    for event_id, event in events.items():
        outcomes = {
            key: point._replace(odds=round(point.odds * 1.05, 2))
            if (event_id, key) in chosen and point.odds is not None
            else point
            for key, point in event.outcomes.items()
        }
        events[event_id] = dataclasses.replace(event, fetched_at="next", outcomes=outcomes)
    return WatchState(events, watched.baselined)


def main() -> None:
    parser = base_parser(__doc__ or "")
    parser.add_argument("--football-events", type=int, default=111)
    parser.add_argument("--polls", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--moves", type=int, default=300)
    args = parser.parse_args()
    print_header("Checkpoint of a details watch's state", args, NOTE)
    with (
        tempfile.TemporaryDirectory() as folder,
        simulator_process("--football-events", str(args.football_events)) as url,
    ):
        job = Path(folder, "job")
        state = watch_state(url, job, args.polls)
        events = len(state[STATE_KEY].events)  # type: ignore[attr-defined]
        size = len(pickle.dumps(state, protocol=PROTOCOL))
        on_loop: list[float] = []
        whole: list[float] = []
        in_thread: list[float] = []
        record_loop: list[float] = []
        record_thread: list[float] = []
        record_sizes: list[int] = []
        target = Path(folder, STATE_FILE)
        watched: WatchState = state[STATE_KEY]  # type: ignore[assignment]
        moved = next_poll(watched, args.moves)
        for _ in range(3 if args.quick else args.rounds):
            started = time.process_time()
            snapshot = snapshot_of(state)
            on_loop.append(time.process_time() - started)
            started = time.process_time()
            pickle.dumps(state, protocol=PROTOCOL)
            whole.append(time.process_time() - started)
            started = time.perf_counter()
            write_atomically(target, pickled(snapshot))
            in_thread.append(time.perf_counter() - started)
            journal = Journal(Path(folder, JOURNAL_FILE))
            journal.clear()
            journal.start(watched)
            started = time.process_time()
            changed, gone = journal.changes_since(moved)
            record_loop.append(time.process_time() - started)
            started = time.process_time()
            journal.append(moved, changed, gone)
            record_thread.append(time.process_time() - started)
            record_sizes.append(journal.size)
    loop_ms, whole_ms = statistics.median(on_loop) * 1000, statistics.median(whole) * 1000
    thread_ms = statistics.median(in_thread) * 1000
    record_loop_ms = statistics.median(record_loop) * 1000
    record_thread_ms = statistics.median(record_thread) * 1000
    print(f"{events} events watched; state {size / 1024:.0f} KiB pickled")
    print_table(
        ["step", "median ms", "vs whole pickle on the loop"],
        [
            ["on the loop: snapshot (CPU)", f"{loop_ms:.1f}", f"{loop_ms / whole_ms:.2f} x"],
            ["baseline: whole pickle on the loop (CPU)", f"{whole_ms:.1f}", "1.00 x"],
            ["in the thread: pickle by event, write, fsync (wall)", f"{thread_ms:.1f}", "off"],
            [
                f"a poll's journal record, {args.moves} prices moved: on the loop (CPU)",
                f"{record_loop_ms:.2f}",
                f"{record_loop_ms / whole_ms:.3f} x",
            ],
            [
                "  in the thread: made, pickled, appended (CPU)",
                f"{record_thread_ms:.1f}",
                f"{record_thread_ms / whole_ms:.3f} x",
            ],
        ],
    )
    print(f"a poll's record: {record_sizes[-1] / 1024:.0f} KiB, the state {size / 1024:.0f} KiB")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
