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

The simulator runs in its own process (``python -m kwiff_scrapy.simulator``), so the
figures are the client's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from kwiff_scrapy.connection.session import KwiffSession, SessionOptions
from kwiff_scrapy.model.answer import parse_answer
from kwiff_scrapy.model.changes import EventSnapshot, diff_event
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

#: RSS is read at these poll numbers (the first after warm-up, the last).
EARLY_POLL = 10
LATE_POLL = 1000
MEMORY_GOAL_MB = 5.0
POLL_GOAL = 1.3
DETAILS_EVENTS = 50  # x 1,000 polls: 51,000 commands


async def one_poll_ratio(url: str, polls: int) -> tuple[float, float, int]:
    """Median seconds of a watch poll and of a bare round trip + json.loads, and changes seen."""
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
            listed = read_event_list(undecoded, lambda ack=ack: parse_answer(ack.args))
            changes = 0
            for event in listed.events:
                snapshot = EventSnapshot.of(event)
                changes += len(diff_event(previous.get(event.event_id), snapshot))
                previous[event.event_id] = snapshot
            watch_seconds = time.perf_counter() - started

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


def memory_run(url: str, details: bool, late_poll: int) -> dict[str, Any]:
    """RSS of a watch in a child process at poll EARLY_POLL and *late_poll*."""
    code = f"""
import json, sys
from bench._watch_child import run
print(json.dumps(run({url!r}, details={details!r}, early={EARLY_POLL}, late={late_poll})))
"""
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the watch child failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = base_parser("kwiff_watch: one poll vs a bare round trip, and memory over polls.")
    args: argparse.Namespace = parser.parse_args(argv)
    print_header("kwiff_watch", args, OWN_PROCESS_NOTE)
    polls = 5 if args.quick else 31
    late = 60 if args.quick else LATE_POLL

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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
