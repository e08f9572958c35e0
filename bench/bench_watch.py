"""The watch: one poll of the 111-event list, and memory over many polls.

``python -m bench.bench_watch [--quick]``

1. **One poll** of the football list including the comparison (``KwiffSession``
   round trip, answer parsed into events, snapshots, ``diff_event`` against the
   previous poll) against a bare ``websockets`` client's round trip + ``json.loads``
   of the same frame. Goal: at most 1.3 x. The two clients alternate poll by poll.
2. **Memory**: ``kwiff_watch`` itself (a subclass with no least interval, polling
   back to back) in a child process, RSS after 10 polls and after 1,000, for the
   list watch and for ``details=1`` (an ``event:get`` per event per poll, at least
   50,000 commands). Goal: within 5 MB. Also the blocks Python's allocator holds at
   those two polls (``sys.getallocatedblocks()``), which tell kept objects (a leak)
   from memory the allocators keep after use.
3. **Signals**: a poll as the local watch makes it (round trip, ``read_event_list``,
   snapshots, ``compare_list``) without signals (A) and with every detector on, the
   default rules (B: the answer's changes fed to :mod:`kwiff_scrapy.model.detectors`,
   then flushed, as ``with_signals`` does), each in a process of its own (so that the
   detectors' state lengthens only B's garbage collections), taking turns (ABBA),
   against a simulator whose clock runs :data:`SIGNALS_SPEED` times as fast as real
   time (so that prices move every poll). Medians of wall time and of the client's CPU
   time (the simulator computing a fast clock's steps makes the wall time noisy); also
   B's detectors timed alone. Goal: B at most 1.1 x A.
4. **Signals' memory**: ``kwiff_watch`` with every detector on, against the same
   fast-clocked simulator, 1,000 polls: Python's allocated blocks and RSS at poll 10,
   at poll 100 (the hour-long windows full) and at poll 1,000, and what the detectors
   hold (prices, overrounds, cooldowns...), bounded by the windows. Goal: flat.

The simulator runs in its own process (``python -m kwiff_scrapy.simulator``), so the
figures are the client's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from kwiff_scrapy.connection.session import KwiffSession, SessionOptions
from kwiff_scrapy.model.answer import parse_answer
from kwiff_scrapy.model.changes import Change, EventSnapshot, diff_event
from kwiff_scrapy.model.event_list import read_event_list

from ._common import (
    EVENT_LIST_PAYLOAD,
    OWN_PROCESS_NOTE,
    BareClient,
    base_parser,
    print_header,
    print_table,
    simulator_process,
)
from ._signals_child import poller

#: RSS is read at these poll numbers (the first after warm-up, the last).
EARLY_POLL = 10
LATE_POLL = 1000
MEMORY_GOAL_MB = 5.0
POLL_GOAL = 1.3
SIGNALS_GOAL = 1.1
DETAILS_EVENTS = 50  # x 1,000 polls: 51,000 commands
#: The simulator's clock for the signals' figures: 10 simulated minutes a second, so that
#: prices move every poll and 1,000 back-to-back polls span many hour-long windows.
SIGNALS_SPEED = 600
#: By this poll the default rules' longest window (an hour) is full at that clock (each
#: poll of the loaded development machine takes 60 ms or more).
SIGNALS_FULL_POLL = 100
#: Polls of each kind (A, B) for the signals' ratio: the noisiest figure on a shared machine.
SIGNAL_POLLS = 61
TRACKED = ("events", "outcomes", "prices", "overrounds", "suspensions", "cooldowns")


async def one_poll_ratio(url: str, polls: int) -> tuple[float, float, int]:
    """Median seconds of a watch poll and of a bare round trip + json.loads; the changes
    seen."""
    session = await KwiffSession.open(SessionOptions(endpoint=url))
    bare = await BareClient.open(url)
    previous: dict[int, EventSnapshot] = {}
    watch_times: list[float] = []
    bare_times: list[float] = []
    changes_seen = 0
    try:
        for round_number in range(polls + 1):
            started = time.perf_counter()
            ack = await session.command("event:list", EVENT_LIST_PAYLOAD)
            # What the watch does: from the bytes if it can, else the tolerant way.
            undecoded = ack.body if ack.args_if_decoded is None else None
            # read_event_list calls the lambda (if at all) before it returns: this ack's.
            listed = read_event_list(undecoded, lambda: parse_answer(ack.args))  # noqa: B023
            changed: list[list[Change]] = []
            for event in listed.events:
                snapshot = EventSnapshot.of(event)
                changed.append(diff_event(previous.get(event.event_id), snapshot))
                previous[event.event_id] = snapshot
            watch_seconds = time.perf_counter() - started
            changes = sum(len(event_changes) for event_changes in changed)

            started = time.perf_counter()
            await bare.round_trip("event:list", EVENT_LIST_PAYLOAD)
            bare_seconds = time.perf_counter() - started
            if round_number:  # the first poll is the baseline (everything new): warm-up
                watch_times.append(watch_seconds)
                bare_times.append(bare_seconds)
                changes_seen += changes
    finally:
        await session.close()
        await bare.close()
    return statistics.median(watch_times), statistics.median(bare_times), changes_seen


@dataclass
class SignalFigures:
    """Medians of polls without signals (A) and with every detector on (B), in seconds:
    wall time and the client's CPU time; B's detectors alone too."""

    without: float
    with_signals: float
    detectors: float
    cpu_without: float
    cpu_with_signals: float
    cpu_detectors: float
    total: float
    """B's wall time over A's, every poll counted (a median leaves out the polls that
    run the full garbage collections)."""
    cpu_total: float
    changes: int
    signals: int
    #: The garbage collector's CPU seconds a poll (median), over every poll, and its full
    #: collections: A's, B's.
    gc_cpu: tuple[float, float]
    gc_total: tuple[float, float]
    gc_full: tuple[int, int]
    #: The objects the collector tracks in A's and B's process after the polls (and a
    #: full collection: what untracking leaves).
    tracked: tuple[int, int]


def signals_ratio(url: str, polls: int) -> SignalFigures:
    """A poll without signals (A) and with every detector on (B), each in a process of its
    own (:mod:`bench._signals_child`), taking turns (ABBA)."""
    context = multiprocessing.get_context("spawn")
    pipes = []
    processes = []
    for signals in (False, True):
        parent, child = context.Pipe()
        process = context.Process(target=poller, args=(url, signals, child), daemon=True)
        process.start()
        pipes.append(parent)
        processes.append(process)
    rounds: list[list[dict[str, Any]]] = [[], []]
    try:
        for round_number in range(polls + 1):
            for which in (0, 1) if round_number % 2 else (1, 0):
                pipes[which].send(True)
                figures = pipes[which].recv()
                if round_number:  # the first poll is the baseline (everything new): warm-up
                    rounds[which].append(figures)
        tracked = []
        for pipe in pipes:
            pipe.send("tracked")
            tracked.append(pipe.recv())
    finally:
        for pipe in pipes:
            pipe.send(False)
        for process in processes:
            process.join(timeout=30)
    a, b = rounds

    def median(which: list[dict[str, Any]], key: str) -> float:
        return statistics.median(poll[key] for poll in which)

    def total(key: str) -> float:  # every poll counted, the garbage collections' too
        return sum(poll[key] for poll in b) / sum(poll[key] for poll in a)

    return SignalFigures(
        median(a, "wall"),
        median(b, "wall"),
        median(b, "detector_wall"),
        median(a, "cpu"),
        median(b, "cpu"),
        median(b, "detector_cpu"),
        total("wall"),
        total("cpu"),
        sum(poll["changes"] for poll in b),
        sum(poll["signals"] for poll in b),
        (median(a, "gc_cpu"), median(b, "gc_cpu")),
        (sum(poll["gc_cpu"] for poll in a), sum(poll["gc_cpu"] for poll in b)),
        (sum(poll["gc_full"] for poll in a), sum(poll["gc_full"] for poll in b)),
        (tracked[0], tracked[1]),
    )


def memory_run(
    url: str, details: bool, late_poll: int, signals: bool = False, middle: int | None = None
) -> dict[str, Any]:
    """RSS of a watch in a child process at poll EARLY_POLL and *late_poll* (and *middle*)."""
    code = f"""
import json, sys
from bench._watch_child import run
print(json.dumps(run({url!r}, details={details!r}, early={EARLY_POLL}, late={late_poll},
                     signals={signals!r}, middle={middle!r})))
"""
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the watch child failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = base_parser("kwiff_watch: one poll vs a bare round trip, and memory over polls.")
    parser.add_argument(
        "--signals-only", action="store_true", help="only the signals' figures (3 and 4)"
    )
    parser.add_argument(
        "--no-signal-memory", action="store_true", help="leave out figure 4 (1,000 polls)"
    )
    args: argparse.Namespace = parser.parse_args(argv)
    print_header("kwiff_watch", args, OWN_PROCESS_NOTE)
    polls = 5 if args.quick else 31
    late = 60 if args.quick else LATE_POLL

    if not args.signals_only:
        print_poll_figures(polls)
    print_signal_figures(5 if args.quick else SIGNAL_POLLS)
    if not args.signals_only:
        print_memory_figures(late)
    if not args.no_signal_memory:
        print_signal_memory(late)
    return 0


def print_poll_figures(polls: int) -> None:
    with simulator_process() as url:
        watch, bare, changes = asyncio.run(one_poll_ratio(url, polls))
    ratio = watch / bare
    print_table(
        ("measure", "watch poll", "bare rt + json.loads", "ratio", "goal"),
        [
            (
                f"111-event event:list, median of {polls} polls ({changes} changes seen)",
                f"{watch * 1000:.1f} ms",
                f"{bare * 1000:.1f} ms",
                f"{ratio:.2f}",
                f"<= {POLL_GOAL}",
            )
        ],
    )
    print()


def print_signal_figures(polls: int) -> None:
    with simulator_process("--speed", str(SIGNALS_SPEED)) as url:
        timing = signals_ratio(url, polls)
    rows = []
    for what, a, b, detectors, total in (
        ("wall time", timing.without, timing.with_signals, timing.detectors, timing.total),
        (
            "client CPU",
            timing.cpu_without,
            timing.cpu_with_signals,
            timing.cpu_detectors,
            timing.cpu_total,
        ),
    ):
        rows.append(
            (
                f"111-event event:list, {what}, ABBA, median of {polls} polls each",
                f"{a * 1000:.1f} ms",
                f"{b * 1000:.1f} ms (detectors {detectors * 1000:.2f} ms)",
                f"{b / a:.3f}",
                f"{total:.3f}",
                f"{(a + detectors) / a:.3f}",
                f"<= {SIGNALS_GOAL}",
            )
        )
    print_table(
        (
            "measure",
            "poll without signals (A)",
            "with every detector (B)",
            "B / A",
            "B / A, totals",
            "(A + detectors) / A",
            "goal",
        ),
        rows,
    )
    print(
        f"clock x{SIGNALS_SPEED}: {timing.changes / polls:.0f} changes and "
        f"{timing.signals / polls:.0f} signals a poll (default rules)"
    )
    print(
        f"garbage collector (gc.callbacks), CPU a poll (median): A {timing.gc_cpu[0] * 1000:.2f} "
        f"ms, B {timing.gc_cpu[1] * 1000:.2f} ms; over the polls: A {timing.gc_total[0]:.2f} s, "
        f"B {timing.gc_total[1]:.2f} s, of which full collections A {timing.gc_full[0]}, "
        f"B {timing.gc_full[1]}; objects tracked after the polls (gc.get_objects, after a "
        f"full collection): A {timing.tracked[0]:,}, B {timing.tracked[1]:,}"
    )
    print()


def print_memory_figures(late: int) -> None:
    rows = []
    for details in (False, True):
        options = ["--football-events", str(DETAILS_EVENTS)] if details else []
        with simulator_process(*options) as url:
            figures = memory_run(url, details, late)
        growth = (figures["rss_late"] - figures["rss_early"]) / 2**20
        rows.append(
            (
                "details=1" if details else "event:list",
                figures["commands"],
                f"{figures['rss_early'] / 2**20:.1f} MB",
                f"{figures['rss_late'] / 2**20:.1f} MB",
                f"{growth:+.2f} MB",
                f"{figures['blocks_early']:,} -> {figures['blocks_late']:,}",
                f"<= {MEMORY_GOAL_MB} MB",
            )
        )
    print_table(
        (
            "watch",
            "commands",
            f"RSS at poll {EARLY_POLL}",
            f"RSS at poll {late}",
            "growth",
            "Python blocks held",
            "goal",
        ),
        rows,
    )
    print()
    print(
        "Python blocks held: sys.getallocatedblocks() at the two polls, the objects the "
        "watch keeps; RSS also counts memory the allocators keep after their objects are gone"
    )
    print()


def print_signal_memory(late: int) -> None:
    middle = min(SIGNALS_FULL_POLL, late // 2)
    with simulator_process("--speed", str(SIGNALS_SPEED)) as url:
        memory = memory_run(url, False, late, signals=True, middle=middle)
    polls = (EARLY_POLL, middle, late)
    readings = [
        (memory[f"blocks_{at}"], memory[f"rss_{at}"], memory[f"tracked_{at}"])
        for at in ("early", "middle", "late")
    ]
    print_table(
        (
            "watch with every detector on: at poll",
            "Python blocks held",
            "RSS",
            "detectors hold: events / outcomes / prices / overrounds / suspensions / cooldowns",
        ),
        [
            (
                f"{poll:,}",
                f"{blocks:,}",
                f"{rss / 2**20:.1f} MB",
                " / ".join(f"{tracked[name]:,}" for name in TRACKED),
            )
            for poll, (blocks, rss, tracked) in zip(polls, readings, strict=True)
        ],
    )
    early, full, last = (blocks for blocks, _, _ in readings)
    print(
        f"event:list watch, clock x{SIGNALS_SPEED}, {memory['changes']:,} changes, "
        f"{memory['signals']:,} signals. Blocks: poll {EARLY_POLL} -> {late}: {last - early:+,}; "
        f"{middle} (the hour-long windows full) -> {late}: {last - full:+,} (goal: flat)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
