"""``bench_watch_capacity --shared``: the largest N a shared watch of 1 and of 3 workers sustains.

Every worker (:mod:`bench._shared_watch_child`, a process each) runs under the same CPU
cap, ``--cpu-quota`` of a core (a cgroup v1 ``cpu.cfs_quota_us``, or v2 ``cpu.max``, of
its own, made here and removed after): on a machine of 2 cores shared with other work,
three uncapped workers compete with each other and with everything else for the same
cores, and their N would say more about the machine's load than about the watch. Capped,
each worker has the same ceiling alone or with two others, so 3 workers should sustain
about 3 x one worker's N if sharing through Redis costs little; the cap must stay low
enough that the machine can give every worker all of it (the load is printed).

For each N of the ladder (``--per-worker`` events per worker, times the workers), runs of
1 and of 3 workers alternate, each against a new simulator (its own process, answering
at once, its fixtures built before the workers start) and new Redis keys (a prefix of
their own, deleted after). The workers start together; from ``--warm-up`` seconds on
(their start-up, the first list and a first round of baselines) each counts, for
``--window`` intervals, the polls it finished, its overruns (a poll completed more than
an interval after it was due) and its CPU. A run *sustains* N when no poll overran and
the workers together finished at least 95% of the ``N x window`` polls due. Printed per
run: the CPU per poll (every worker's, summed), the share of it spent outside the event
loop's thread (the scheduler's Redis thread: claims, snapshot loads, comparisons and
compare-and-set commits), each worker's cores used, and *starved* when a run that fell
behind (fewer polls than due) had a worker below 90% of its cap (the machine, not the
cap, limited it). ``--workers local`` runs one worker's plain watch (no Redis) instead:
its overrun is a round of polls longer than the interval, a stricter test, as the last
``event:get`` of a round is sent just before the interval ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redis import Redis

from ._common import EVENT_LIST_PAYLOAD, BareClient, print_table, ratio_line, simulator_process
from ._shared_watch_child import LOCAL

ROOT = Path(__file__).resolve().parents[1]
GOAL = 2.5
#: The share of the polls due in the window that must be finished in it.
COVERAGE = 0.95
CGROUP_V1 = Path("/sys/fs/cgroup/cpu")
CGROUP_V2 = Path("/sys/fs/cgroup")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("--shared: 1 and 3 workers of a shared watch (Redis)")
    group.add_argument("--shared", action="store_true", help="measure the shared watch instead")
    group.add_argument(
        "--workers", default="1,3", help="worker counts; 'local': one plain watch (%(default)s)"
    )
    group.add_argument(
        "--per-worker", default="250,350,450,550", help="N per worker, the ladder (%(default)s)"
    )
    group.add_argument("--cpu-quota", type=float, default=0.2, help="cores per worker (0: none)")
    group.add_argument("--warm-up", type=float, default=40.0, help="seconds before the window")
    group.add_argument("--window", type=int, default=3, help="intervals measured (%(default)s)")
    group.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")


class CpuCap:
    """A cgroup per worker capped at *quota* of a core, if this machine lets one be made."""

    def __init__(self, quota: float) -> None:
        self.quota = quota
        self.kind = self._writable() if quota > 0 else "none"

    @staticmethod
    def _writable() -> str:
        for kind, root in (("v2", CGROUP_V2), ("v1", CGROUP_V1)):
            control = "cpu.max" if kind == "v2" else "cpu.cfs_quota_us"
            probe = root / f"kwiff-bench-probe-{os.getpid()}"
            try:
                probe.mkdir()
            except OSError:
                continue
            try:
                if (probe / control).exists():
                    return kind
            finally:
                probe.rmdir()
        return "none"

    def describe(self) -> str:
        if self.kind == "none":
            return "uncapped" if self.quota <= 0 else "uncapped (no writable cgroup here)"
        return f"{self.quota:g} core per worker (cgroup {self.kind})"

    @contextlib.contextmanager
    def group(self, name: str) -> Iterator[Path | None]:
        """A capped cgroup for one process (None: uncapped); removed on the way out."""
        if self.kind == "none":
            yield None
            return
        root = CGROUP_V2 if self.kind == "v2" else CGROUP_V1
        path = root / name
        path.mkdir()
        try:
            period = 100_000
            if self.kind == "v2":
                (path / "cpu.max").write_text(f"{int(self.quota * period)} {period}")
            else:
                (path / "cpu.cfs_period_us").write_text(str(period))
                (path / "cpu.cfs_quota_us").write_text(str(int(self.quota * period)))
            yield path
        finally:
            with contextlib.suppress(OSError):
                path.rmdir()


def _join(group: Path | None) -> None:
    """In the child, before exec: into its capped cgroup, so that all it runs is capped."""
    if group is not None:
        (group / "cgroup.procs").write_text(str(os.getpid()))


async def _build_fixtures(url: str) -> None:
    """One event:list, so that the simulator builds its events before the workers start."""
    client = await BareClient.open(url)
    client.start_reader()
    try:
        await client.round_trip_concurrent("event:list", EVENT_LIST_PAYLOAD)
    finally:
        await client.close()


def run_workers(
    workers: int, events: int, args: argparse.Namespace, cap: CpuCap, redis: Redis, local: bool
) -> dict[str, Any]:
    """One shared watch of *events* by *workers* capped processes (*local*: one plain
    watch, no Redis): their summed figures."""
    run_id = uuid.uuid4().hex[:10]
    prefix = f"bench-watch-capacity:{run_id}"
    window = args.window * args.interval
    with simulator_process("--football-events", str(events)) as url:
        asyncio.run(_build_fixtures(url))
        start = time.time() + args.warm_up
        with contextlib.ExitStack() as stack:
            processes = []
            for number in range(workers):
                group = stack.enter_context(cap.group(f"kwiff-bench-{run_id}-w{number}"))
                command = [
                    sys.executable, "-m", "bench._shared_watch_child", url, str(args.interval),
                    LOCAL if local else args.redis_url, f"{prefix}:%(spider)s",
                    f"bench-w{number}", repr(start), repr(window),
                ]  # fmt: skip
                processes.append(
                    subprocess.Popen(
                        command,
                        cwd=ROOT,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                        preexec_fn=functools.partial(_join, group),
                    )
                )
            outputs = [process.communicate() for process in processes]
    for key in redis.scan_iter(match=f"{prefix}:*"):
        redis.delete(key)
    figures = []
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        if process.returncode != 0:
            raise RuntimeError(f"a worker failed:\n{stderr[-3000:]}")
        figures.append(json.loads(stdout.strip().splitlines()[-1]))
    polls = sum(f["polls"] for f in figures)
    due = events * args.window
    return {
        "polls": polls,
        "due": due,
        "coverage": polls / due,
        "overruns": sum(f["overruns"] for f in figures),
        "failed": sum(f["failed"] for f in figures),
        "cpu_per_poll": sum(f["cpu"] for f in figures) / max(polls, 1),
        "cpu_share": [round(f["cpu"] / window, 3) for f in figures],
        "threads_share": sum(f["threads_cpu"] for f in figures)
        / max(sum(f["cpu"] for f in figures), 1e-9),
        "rss": statistics.median(f["rss"] for f in figures),
        "late": max(f["started_late"] for f in figures),
    }


def sustained(run: dict[str, Any]) -> bool:
    return run["overruns"] == 0 and run["failed"] == 0 and run["coverage"] >= COVERAGE


def starved(run: dict[str, Any], cap: CpuCap) -> str:
    """'yes' when a worker got less than 90% of its cap while the run fell behind (fewer
    polls than due): the machine, not the cap, limited it (the cap is then too high for
    this machine's load). Empty when it kept up."""
    if cap.kind == "none" or run["coverage"] >= COVERAGE:
        return ""
    return "yes" if min(run["cpu_share"]) < 0.9 * cap.quota else "no"


def main(args: argparse.Namespace) -> int:
    cap = CpuCap(args.cpu_quota)
    print(f"CPU cap: {cap.describe()}")
    redis = Redis.from_url(args.redis_url, socket_connect_timeout=2)
    redis.ping()
    counts = args.workers.split(",")
    ladder = [int(n) for n in args.per_worker.split(",")]
    rows = []
    largest: dict[str, int] = dict.fromkeys(counts, 0)
    for per_worker in ladder:
        for name in counts:
            local = name == LOCAL
            workers = 1 if local else int(name)
            events = per_worker * workers
            run = run_workers(workers, events, args, cap, redis, local)
            ok = sustained(run)
            if ok:
                largest[name] = max(largest[name], events)
            load = os.getloadavg()[0]
            rows.append(
                [
                    "1, local" if local else workers, events, run["polls"],
                    f"{run['coverage']:.3f}", run["overruns"], run["failed"],
                    run["cpu_per_poll"] * 1e3, f"{run['threads_share']:.0%}",
                    " ".join(map(str, run["cpu_share"])), run["rss"] / 2**20,
                    "yes" if ok else "no", starved(run, cap), f"{load:.1f}",
                ]
            )  # fmt: skip
            print(f"  {rows[-1]}", flush=True)
    print()
    print_table(
        ["workers", "N", "polls", "/due", "overruns", "failed", "CPU ms/poll", "in threads",
         "cores used", "RSS MiB/worker", "sustained", "starved", "load"],
        rows,
    )  # fmt: skip
    print()
    print(
        f"{args.window} intervals of {args.interval:g} s measured after {args.warm_up:g} s; "
        f"sustained: no overrun, no failed poll and >= {COVERAGE:.0%} of the polls due "
        f"finished; CPU cap {cap.describe()}"
    )
    for name in counts:
        who = "1 worker's plain watch (no Redis)" if name == LOCAL else f"{name} worker(s)"
        print(f"largest N sustained by {who}: {largest[name]:,}")
    for one in ("1", LOCAL):
        if not largest.get(one):
            continue
        for name in counts:
            if name not in ("1", LOCAL):
                ratio = largest[name] / largest[one]
                of = "1 worker's" if one == "1" else "the plain watch's"
                print(ratio_line(f"{name} workers' N / {of}", ratio, f">= {GOAL}"))
    return 0
