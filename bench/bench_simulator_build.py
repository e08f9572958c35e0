"""Simulator start-up: building N events and the first ``event:list``, against another tree.

``python -m bench.bench_simulator_build --compare-tree DIR [--events 500,2000,5000] [--rounds 3]``

The simulator builds its events on the first ``event:list``: the fixtures (teams, dates,
every market priced from a model of the match), each event's moving state and its list
JSON. Each round builds them afresh in a new process (:func:`child`) for this checkout and
for *DIR*, another checkout (e.g. the commit before, ``git archive COMMIT | tar -x -C
DIR``), in turn; printed: the medians of the CPU seconds (``time.process_time``) and the
ratio. Each build also hashes the whole first list and every event's ``event:get``
answer: the two trees must give the same bytes (the run fails otherwise).
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from ._common import base_parser, print_header, print_table, ratio_line

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


def run(tree: Path, events: int) -> dict[str, object]:
    code = f"import json, bench.bench_simulator_build as b; print(json.dumps(b.child({events})))"
    if tree != ROOT:  # the other checkout's package, this checkout's bench
        (tree / "bench" / "bench_simulator_build.py").write_bytes(Path(__file__).read_bytes())
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the build in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--compare-tree", type=Path, required=True, help="the other checkout")
    parser.add_argument("--events", default="500,2000,5000", help="N, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="builds of each tree, in turn")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.rounds = "200", 1
    print_header(__doc__.splitlines()[0], args, NOTE)
    rows = []
    same = True
    for events in (int(n) for n in args.events.split(",")):
        cpu: dict[str, list[float]] = {"this tree": [], "compared tree": []}
        digests = set()
        for _ in range(args.rounds):
            for name, tree in (("this tree", ROOT), ("compared tree", args.compare_tree)):
                built = run(tree, events)
                cpu[name].append(float(built["cpu"]))  # type: ignore[arg-type]
                digests.add(built["sha256"])
        same = same and len(digests) == 1
        new, old = (statistics.median(cpu[name]) for name in ("this tree", "compared tree"))
        load = os.getloadavg()[0]
        rows.append([events, old, new, old / new, 1e3 * new / events, "yes" if len(digests) == 1
                     else "NO", f"{load:.1f}"])  # fmt: skip
        print(f"  {rows[-1]}", flush=True)
    print()
    print_table(
        ["N", "compared CPU s", "this CPU s", "speed-up", "ms/event", "same bytes", "load"], rows
    )
    print()
    for row in rows:
        print(ratio_line(f"build of N={row[0]}: compared tree's CPU / this tree's", row[3]))
    if not same:
        print("the trees' answers differ: the data is not the same")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
