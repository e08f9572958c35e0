"""Simulator start-up: building N events and the first ``event:list``, against another tree.

``python -m bench.bench_simulator_build --compare-tree DIR [--events 500,2000,5000] [--rounds 3]``

The simulator builds its events on the first ``event:list``: the fixtures (teams, dates,
every market priced from a model of the match), each event's moving state and its list
JSON. Each round builds them afresh in a new process (:func:`child`) for this checkout and
for *DIR*, another checkout (e.g. the commit before, ``git archive COMMIT | tar -x -C
DIR``), in turn; printed: the medians of the CPU seconds (``time.process_time``) and the
ratio. Each build also hashes the whole first list and every event's ``event:get``
answer: the two trees must give the same bytes (the run fails otherwise). ``--serve``
first times, for each tree, a new simulator in its own process answering a bare client's
first two lists (wall seconds; the simulator's CPU over both).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from ._common import (
    EVENT_LIST_PAYLOAD,
    BareClient,
    base_parser,
    print_header,
    print_table,
    ratio_line,
    simulator_process,
)

ROOT = Path(__file__).resolve().parents[1]
NOTE = "Each build runs in a process of its own; CPU time is that process's."


def child(events: int) -> dict[str, object]:
    """Build a moving simulator of *events* football events; its CPU and its answers' hash."""
    from kwiff_scrapy.simulator.data import SimulatedData
    from kwiff_scrapy.simulator.moves import MovingData

    data = SimulatedData(
        11, football_events=events, today=date(2026, 12, 7), clock=lambda: 1_796_601_600_000
    )
    moving = MovingData(data)
    started = time.process_time()
    listed = moving.answer("event:list", {"sportId": 11})
    cpu = time.process_time() - started
    digest = hashlib.sha256(listed.encode())
    for event_id in sorted(moving._states):
        digest.update(moving.answer("event:get", {"eventId": event_id}).encode())
    return {"cpu": cpu, "bytes": len(listed), "sha256": digest.hexdigest()}


async def _two_lists(url: str) -> tuple[float, float]:
    client = await BareClient.open(url)
    client.start_reader()
    try:
        walls = []
        for _ in range(2):
            started = time.perf_counter()
            await client.round_trip_concurrent("event:list", EVENT_LIST_PAYLOAD)
            walls.append(time.perf_counter() - started)
    finally:
        await client.close()
    return walls[0], walls[1]


def _children_cpu() -> float:
    """CPU seconds of this process's running children (the simulator)."""
    ticks = 0
    for child_pid in Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split():
        fields = Path(f"/proc/{child_pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def serve_child(events: int) -> dict[str, object]:
    """A new simulator of *events* in its own process, and a bare client's first two
    ``event:list`` from it: their wall seconds, and the simulator's CPU over both."""
    with simulator_process("--football-events", str(events)) as url:
        before = _children_cpu()
        first, second = asyncio.run(_two_lists(url))
        server_cpu = _children_cpu() - before
    return {"cpu": server_cpu, "first": first, "second": second}


def run(tree: Path, events: int, serve: bool = False) -> dict[str, Any]:
    function = "serve_child" if serve else "child"
    code = (
        f"import json, bench.bench_simulator_build as b; print(json.dumps(b.{function}({events})))"
    )
    if tree != ROOT:  # the other checkout's package, this checkout's bench
        (tree / "bench" / "bench_simulator_build.py").write_bytes(Path(__file__).read_bytes())
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the build in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def serve(args: argparse.Namespace) -> None:
    """``--serve``: a bare client's first two lists from a new simulator of each tree."""
    rows = []
    for events in (int(n) for n in args.events.split(",")):
        for _ in range(args.rounds):
            for name, tree in (("this tree", ROOT), ("compared tree", args.compare_tree)):
                served = run(tree, events, serve=True)
                rows.append([events, name, served["first"], served["second"], served["cpu"],
                             f"{os.getloadavg()[0]:.1f}"])  # fmt: skip
                print(f"  {rows[-1]}", flush=True)
    print_table(["N", "tree", "first list s", "second list s", "simulator CPU s", "load"], rows)
    print()


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--compare-tree", type=Path, required=True, help="the other checkout")
    parser.add_argument("--events", default="500,2000,5000", help="N, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="builds of each tree, in turn")
    parser.add_argument("--serve", action="store_true", help="wall time of a served list too")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.rounds = "200", 1
    print_header(__doc__.splitlines()[0], args, NOTE)
    if args.serve:
        serve(args)
    rows = []
    speed_ups: list[tuple[int, float]] = []  # (N, compared tree's CPU / this tree's)
    same = True
    for events in (int(n) for n in args.events.split(",")):
        cpu: dict[str, list[float]] = {"this tree": [], "compared tree": []}
        digests = set()
        for _ in range(args.rounds):
            for name, tree in (("this tree", ROOT), ("compared tree", args.compare_tree)):
                built = run(tree, events)
                cpu[name].append(float(built["cpu"]))
                digests.add(built["sha256"])
        same = same and len(digests) == 1
        new, old = (statistics.median(cpu[name]) for name in ("this tree", "compared tree"))
        load = os.getloadavg()[0]
        speed_ups.append((events, old / new))
        rows.append([events, old, new, old / new, 1e3 * new / events, "yes" if len(digests) == 1
                     else "NO", f"{load:.1f}"])  # fmt: skip
        print(f"  {rows[-1]}", flush=True)
    print()
    print_table(
        ["N", "compared CPU s", "this CPU s", "speed-up", "ms/event", "same bytes", "load"], rows
    )
    print()
    for events, speed_up in speed_ups:
        print(ratio_line(f"build of N={events}: compared tree's CPU / this tree's", speed_up))
    if not same:
        print("the trees' answers differ: the data is not the same")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
