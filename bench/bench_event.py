"""``history --event`` of one event: CPU and wall time, this tree against another, in turns.

``python -m bench.bench_event --db URI [--event ID] [--compare-tree DIR] [--runs N]``

On an existing history (``bench_history_month --keep FOLDER`` leaves a filled SQLite file;
the event: the one with the most prices unless ``--event``), runs the whole command in
this process's way (``history.run``, output to /dev/null, without the ``scrapy``
start-up) in a child process per tree, interleaved: ``--runs`` children each, each timing
3 runs after a first one. ``--compare-tree DIR`` is another checkout's root (the tree
whose ``kwiff_scrapy`` is the baseline, e.g. ``git archive COMMIT kwiff_scrapy | tar -x
-C DIR``). Printed: the medians of wall and CPU time (``time.process_time``: less hurt by
a loaded machine), this / baseline, and the load average.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from kwiff_scrapy.history.queries import HistoryReader
from kwiff_scrapy.history.schema import outcomes, prices

from ._common import base_parser, print_header, print_table

GOAL = 0.1
NOTE = (
    "Each tree's command runs in a child process of its own, in turns, on a shared, loaded "
    "machine: wall times are upper bounds; CPU time is less hurt by the load."
)
CHILD = r"""
import json, os, sys, time
from kwiff_scrapy.commands import history
from kwiff_scrapy.commands.history import HistoryPlan

plan = HistoryPlan(db=sys.argv[1], event_id=int(sys.argv[2]))


def run():
    saved = sys.stdout
    with open(os.devnull, "w", encoding="utf-8") as null:
        sys.stdout = null
        try:
            assert history.run(plan) == 0
        finally:
            sys.stdout = saved


run()
found = []
for _ in range(3):
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    found.append((time.perf_counter() - wall, time.process_time() - cpu))
print(json.dumps(found))
"""


def main() -> None:
    parser = base_parser(__doc__ or "")
    parser.add_argument("--db", required=True, help="the history's URI")
    parser.add_argument("--event", type=int, default=None, help="default: the busiest")
    parser.add_argument("--compare-tree", default=None, help="the baseline's checkout root")
    parser.add_argument("--runs", type=int, default=5, help="child processes of each tree")
    args = parser.parse_args()
    print_header("bench_event: history --event, CPU and wall", args, NOTE)
    event_id = args.event if args.event is not None else busiest(args.db)
    trees = {"this tree": str(Path(__file__).resolve().parents[1])}
    if args.compare_tree:
        trees["baseline"] = str(Path(args.compare_tree).resolve())
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    loads = []
    for _ in range(args.runs if not args.quick else 1):
        for name, tree in trees.items():
            environment = dict(os.environ, PYTHONPATH=tree)
            done = subprocess.run(
                [sys.executable, "-c", CHILD, args.db, str(event_id)],
                env=environment, cwd=tree, capture_output=True, text=True, check=True,
            )  # fmt: skip
            found[name] += [tuple(pair) for pair in json.loads(done.stdout)]
            loads.append(os.getloadavg()[0])
    rows = []
    for name, times in found.items():
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        rows.append((name, f"{wall * 1000:.0f}", f"{cpu * 1000:.0f}", str(len(times))))
    print(f"history --event {event_id}; load average {min(loads):.1f} to {max(loads):.1f}")
    print_table(("tree", "wall ms", "CPU ms", "runs"), rows)
    if "baseline" in found:
        ratio = statistics.median(t[1] for t in found["this tree"]) / statistics.median(
            t[1] for t in found["baseline"]
        )
        print(f"this tree / baseline, CPU: {ratio:.2f}")
    cpu = statistics.median(t[1] for t in found["this tree"])
    print(f"goal: {GOAL * 1000:.0f} ms; this tree's CPU {'meets' if cpu <= GOAL else 'misses'} it")


def busiest(uri: str) -> int:
    """The event with the most stored prices."""
    query = (
        select(outcomes.c.event_id)
        .join(prices, prices.c.outcome == outcomes.c.id)
        .group_by(outcomes.c.event_id)
        .order_by(func.count().desc())
        .limit(1)
    )
    with HistoryReader(uri) as reader, reader.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


if __name__ == "__main__":
    main()
