"""Watch capacity: one worker's ``details=1`` watch of N events against the floor.

Run: ``python -m bench.bench_watch_capacity`` (``--quick`` for a smoke run;
``--events 500,2000,5000``, ``--interval 10``, ``--polls 3``, ``--rounds 2``).

For each N, the simulator runs in its own process with N football events
(``--football-events N``, moving, answering at once), and two clients take turns, each
in a process of its own (:mod:`bench._watch_capacity_child`), for ``--polls`` polls after
a first one (the baseline, left out):

- the **watch**: ``kwiff_watch -a details=1 -a interval=I`` as a user runs it: an
  ``event:list``, then an ``event:get`` per listed event spread over the interval, each
  answer parsed, snapshotted and compared with the last;
- the **floor**: a bare ``websockets`` client doing the same round trips at the same
  times (the watch's groups of ``event:get`` commands, or ``--floor-group``), each
  answer through ``json.loads``, nothing compared or kept.

Printed per N: the client's CPU per ``event:get`` poll (the list's share included, for
both), polls per CPU-second and their ratio (goal: the watch >= 0.9 x the floor), the
overruns (a poll longer than its interval), and the watch's RSS, outcomes held and RSS
per outcome, with the growth per outcome from one N to the next (memory linear in the
outcomes). ``--compare-tree DIR`` adds the watch of another checkout (e.g. an earlier
commit, ``git archive COMMIT | tar -x -C DIR``) as a third contender.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import _shared_capacity
from ._common import (
    OWN_PROCESS_NOTE,
    base_parser,
    print_header,
    print_table,
    ratio_line,
    simulator_process,
)

GOAL = 0.9
ROOT = Path(__file__).resolve().parents[1]


def run_child(
    mode: str, url: str, interval: float, polls: int, tree: Path = ROOT, profile: str = ""
) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench._watch_capacity_child", mode, url, str(interval)]
    command += [str(polls), *([profile] if profile else [])]
    if tree != ROOT:  # the other checkout's package, this checkout's child
        child = (ROOT / "bench" / "_watch_capacity_child.py").read_bytes()
        (tree / "bench" / "_watch_capacity_child.py").write_bytes(child)
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--events", default="500,2000,5000", help="N, comma-separated (%(default)s)"
    )
    parser.add_argument("--interval", type=float, default=10.0, help="seconds (%(default)s)")
    parser.add_argument("--polls", type=int, default=3, help="measured polls per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each client, in turn")
    parser.add_argument("--compare-tree", type=Path, help="another checkout's watch, too")
    parser.add_argument("--profile", default="", help="one more watch run, cProfiled to FILE")
    parser.add_argument(
        "--floor-group", type=int, default=0, help="the floor's commands at once (0: the watch's)"
    )
    _shared_capacity.add_arguments(parser)
    args: argparse.Namespace = parser.parse_args(argv)
    if args.quick:
        args.events, args.interval, args.polls, args.rounds = "111", 2.0, 2, 1
        args.per_worker, args.warm_up, args.window = "40", 15.0, 2
    if args.shared:
        print_header("bench_watch_capacity --shared: the N a shared watch of 1 and of 3 "
                     "workers sustains", args, OWN_PROCESS_NOTE)  # fmt: skip
        return _shared_capacity.main(args)
    print_header("bench_watch_capacity: a details=1 watch of N events vs the floor", args,
                 OWN_PROCESS_NOTE)  # fmt: skip
    contenders = ["watch", "floor"] + (["watch (compared tree)"] if args.compare_tree else [])
    rows: list[list[Any]] = []
    memory: list[tuple[int, int, int]] = []
    for events in (int(n) for n in args.events.split(",")):
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
        with simulator_process("--football-events", str(events)) as url:
            for _ in range(args.rounds):
                for name in contenders:
                    mode = "watch" if name != "floor" else f"floor:{args.floor_group or ''}"
                    tree = args.compare_tree if name.endswith("tree)") else ROOT
                    runs[name].append(run_child(mode, url, args.interval, args.polls, tree))
            if args.profile:  # one more run, not counted: the profiler's own cost is large
                run_child("watch", url, args.interval, args.polls, ROOT, args.profile)
        rates = {
            name: statistics.median(run["commands"] / run["cpu"] for run in results)
            for name, results in runs.items()
        }
        for name, results in runs.items():
            rss = statistics.median(run["rss"] for run in results)
            outcomes = results[-1].get("outcomes")
            rows.append(
                [
                    events,
                    name,
                    results[-1]["commands"] // args.polls,
                    1e6 / rates[name],
                    rates[name],
                    rates[name] / rates["floor"],
                    sum(run["overruns"] for run in results),
                    rss / 2**20,
                    outcomes or "",
                    f"{rss / outcomes:,.0f}" if outcomes else "",
                ]
            )
            if name == "watch" and outcomes:
                memory.append((events, int(rss), int(outcomes)))
    print_table(
        ["N", "client", "event:get/poll", "CPU us/poll", "polls/CPU-s", "/floor", "overruns",
         "RSS MiB", "outcomes held", "RSS B/outcome"],
        rows,
    )  # fmt: skip
    print()
    print(
        f"medians of {args.rounds} runs per client, in turn, of {args.polls} polls each after "
        f"a baseline poll; interval {args.interval:g} s; CPU: the client process's, the "
        "event:list's share included for both; overruns: summed over the runs"
    )
    for row in rows:
        if row[1] != "floor":
            print(ratio_line(f"{row[1]} polls per CPU-second / the floor's, N={row[0]}",
                             row[5], f">= {GOAL}"))  # fmt: skip
    for (n1, rss1, out1), (n2, rss2, out2) in itertools.pairwise(memory):
        print(
            f"RSS growth from N={n1} to N={n2}: {(rss2 - rss1) / (out2 - out1):,.0f} bytes "
            "per outcome held"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
