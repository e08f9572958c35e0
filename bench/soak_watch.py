"""Soak: a details watch against the moving simulator, faults injected at random.

``python -m bench.soak_watch --minutes 30`` runs ``scrapy crawl kwiff_watch -a details=1``
(its own process, history in SQLite or PostgreSQL, ``JOBDIR``) against
``python -m kwiff_scrapy.simulator`` on its clock (its own process, change and serve logs
written to files), and at random moments:

- ``drop``: the simulator drops every connection (SIGUSR1: TCP aborted, no close frame);
- ``restart``: the simulator is stopped (SIGTERM) and started again on the same port after
  a downtime of 1 to 5 s (the same seed, day and speed: the same market);
- ``kill``: the watch is killed (SIGKILL) and started again (same ``JOBDIR``);
- ``pg``: with ``--db postgresql``, the watch's database connections are terminated
  (``pg_terminate_backend``, found by their ``application_name``). The machine's
  PostgreSQL is shared with other work, so the server itself is not restarted.

Afterwards it checks, and prints:

- **the history against the simulator's logs**: each price move the simulator logged is
  due in the history at the first ``event:get`` answer about its event that showed it
  (several moves of one outcome before that answer are one move; one that ends where it
  started is none), as a row with that answer's timestamp and the new odds. Each is
  ``recorded``, or ``lost with its answer`` (no row at all at that answer's time: the
  answer was cut by a drop, a restart or a kill, or its rows were lost with a killed
  watch) if that answer came within a few intervals of a fault; anything else fails the
  run. Every other row (the baseline, the first answers after a restart or a kill, a move
  caught up after a lost answer) must hold the simulator's price at its time where the log
  knows it, and no outcome may have two rows in a row with the same price and status;
- **memory**: the watch's RSS, sampled; over its longest run, the median of its last fifth
  against the median of its second fifth;
- **polls**: the time between two polls' ends, less the interval: no poll later than two
  intervals.

The exit status is 0 when every check passes. ``--short`` is the 15-second version (from
the watch's first poll) that ``tests/scenarios/test_soak_short.py`` runs, so that the
script cannot rot: each fault once, 20 events, a 2 s interval. Not a unit test: the
machine's load shows in its figures.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import contextlib
import dataclasses
import datetime
import itertools
import json
import os
import random
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get("KWIFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
LISTENING = "Kwiff simulator listening on "
#: How long before and after a fault an answer may be lost through it, in intervals
#: (plus the few seconds a restarted process takes to start).
FAULT_REACH = 3


@dataclasses.dataclass
class Options:
    seconds: float
    interval: float
    speed: float
    events: int
    fault_every: float
    kinds: tuple[str, ...]
    db: str
    seed: int
    out: Path
    short: bool
    sample_every: float


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.soak_watch", description=__doc__)
    add = parser.add_argument
    add("--minutes", type=float, default=30.0, help="how long the watch runs (default 30)")
    add("--interval", type=float, default=10.0, help="the watch's interval, s (default 10)")
    add("--speed", type=float, default=60.0, help="the simulator's clock speed (default 60)")
    add("--events", type=int, default=111, help="football events listed (default 111)")
    add("--fault-every", type=float, default=120.0, metavar="S",
        help="mean time between two faults, s (default 120)")  # fmt: skip
    add("--faults", default="drop,restart,kill", help="kinds (default drop,restart,kill; pg)")
    add("--db", choices=("sqlite", "postgresql"), default="sqlite")
    add("--seed", type=int, default=None, help="of the fault schedule (default: random)")
    add("--out", type=Path, default=None, help="keep the run's files here (default: a tmp dir)")
    add("--short", action="store_true", help="15 s, each fault once, 20 events, interval 2")
    args = parser.parse_args(argv)
    kinds = tuple(kind for kind in args.faults.split(",") if kind)
    if args.db == "postgresql" and "pg" not in kinds and args.short:
        kinds += ("pg",)
    unknown = set(kinds) - {"drop", "restart", "kill", "pg"}
    if unknown or ("pg" in kinds and args.db != "postgresql"):
        parser.error(f"--faults: unknown or not applicable: {sorted(unknown) or ['pg']}")
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    out = args.out or Path(tempfile.mkdtemp(prefix="kwiff-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    if args.short:
        return Options(15.0, 2.0, 60.0, 20, 0.0, kinds, args.db, seed, out, True, 1.0)
    return Options(
        args.minutes * 60, args.interval, args.speed, args.events, args.fault_every, kinds,
        args.db, seed, out, False, 5.0,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop(process: subprocess.Popen[Any], signum: int = signal.SIGTERM, wait: float = 60) -> None:
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Simulator:
    """``python -m kwiff_scrapy.simulator`` on a fixed port, restartable; each start
    (an incarnation) writes its own change and serve logs."""

    def __init__(self, options: Options, today: datetime.date) -> None:
        self.options = options
        self.today = today
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/socket.io/"
        self.incarnations: list[tuple[Path, Path]] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        n = len(self.incarnations) + 1
        out = self.options.out
        changes, serves = out / f"changes-{n}.jsonl", out / f"serves-{n}.jsonl"
        with (out / f"simulator-{n}.log").open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kwiff_scrapy.simulator",
                    "--port",
                    str(self.port),
                    "--speed",
                    str(self.options.speed),
                    "--today",
                    self.today.isoformat(),
                    "--football-events",
                    str(self.options.events),
                    "--change-log",
                    str(changes),
                    "--serve-log",
                    str(serves),
                    "-v",
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 60)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith(LISTENING):
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.incarnations.append((changes, serves))

    def drop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGUSR1)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


class Watch:
    """``scrapy crawl kwiff_watch -a details=1`` in its own process; restartable."""

    def __init__(self, options: Options, endpoint: str, history: str) -> None:
        self.options = options
        self.endpoint = endpoint
        self.history = history
        self.runs = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.exits: list[int] = []

    def start(self) -> None:
        """Start a run, as docs/kwiff-watch.service does: the queue an earlier run left
        removed first (its ExecStartPre), the job's state kept."""
        self.runs += 1
        out = self.options.out
        shutil.rmtree(out / "job" / "requests.queue", ignore_errors=True)
        extensions = json.dumps({"bench._soak_polls.PollRecorder": 0})
        environment = {**os.environ, "PYTHONWARNINGS": "default"}
        environment.pop("SCRAPY_SETTINGS_MODULE", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "kwiff_watch",
                "-a",
                "details=1",
                "-a",
                f"interval={self.options.interval:g}",
                "-s",
                f"KWIFF_ENDPOINT={self.endpoint}",
                "-s",
                f"KWIFF_HISTORY_URI={self.history}",
                "-s",
                f"JOBDIR={out / 'job'}",
                "-s",
                f"EXTENSIONS={extensions}",
                "-s",
                f"SOAK_POLL_LOG={out / 'polls.jsonl'}",
                "-s",
                f"SOAK_RUN={self.runs}",
                "-s",
                f"LOG_FILE={out / f'watch-{self.runs}.log'}",
                "-s",
                "LOG_LEVEL=INFO",
            ],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_for_poll(self, guard: float = 120) -> bool:
        """Whether this run of the watch finished a poll within *guard* seconds."""
        polls, deadline = self.options.out / "polls.jsonl", time.monotonic() + guard
        while time.monotonic() < deadline and self.process and self.process.poll() is None:
            with contextlib.suppress(OSError):
                if f'"run": {self.runs},' in polls.read_text():
                    return True
            time.sleep(0.1)
        return False

    def rss_kb(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.exits.append(self.process.wait())

    def stop(self) -> None:
        """Stop it as systemd or Scrapyd would: one SIGINT, time to finish."""
        if self.process is not None and self.process.poll() is None:
            stop(self.process, signal.SIGINT, wait=120)
            self.exits.append(self.process.returncode)


@contextlib.contextmanager
def history_database(options: Options) -> Iterator[str]:
    """The history URI: an SQLite file in the run's folder, or a PostgreSQL schema of the
    run's own (dropped afterwards), its connections named for the ``pg`` fault."""
    if options.db == "sqlite":
        yield f"sqlite:///{options.out / 'odds.sqlite'}"
        return
    import psycopg

    schema = f"kwiff_soak_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES}?options={quote(f'-csearch_path={schema}')}&application_name={schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def terminate_backends(history: str) -> int:
    """``pg_terminate_backend`` for every connection named as the run's history URI says."""
    import psycopg

    name = history.rsplit("application_name=", 1)[1]
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (name,),
        ).fetchall()
    return len(rows)


def fault_schedule(options: Options, rng: random.Random) -> list[tuple[float, str]]:
    """(seconds from the watch's first poll, kind): none in the first tenth and the last
    fifth, so that the watch has settled before the first and recovered after the last."""
    start, end = options.seconds * 0.1, options.seconds * 0.8
    if options.short:  # each kind once at a random moment; the kill last (its restart
        # takes the watch's start-up time, longer than a short run on a loaded machine)
        times = sorted(rng.uniform(start, end) for _ in options.kinds)
        kinds = sorted(rng.sample(options.kinds, len(options.kinds)), key=lambda k: k == "kill")
        return list(zip(times, kinds, strict=True))
    schedule = []
    kinds: list[str] = []  # each kind in turn, in a new random order each round
    moment = start + rng.expovariate(1 / options.fault_every)
    while moment < end:
        kinds = kinds or rng.sample(options.kinds, len(options.kinds))
        schedule.append((moment, kinds.pop()))
        moment += rng.expovariate(1 / options.fault_every)
    return schedule


def run(options: Options) -> dict[str, Any]:
    """Run the soak: what happened (faults, RSS samples), for :func:`check`."""
    rng = random.Random(options.seed)
    today = datetime.datetime.now(datetime.UTC).date()
    simulator = Simulator(options, today)
    faults: list[dict[str, Any]] = []
    samples: list[tuple[int, float, int]] = []
    with history_database(options) as history:
        simulator.start()
        watch = Watch(options, simulator.url, history)
        watch.start()
        if not watch.wait_for_poll(300):
            watch.stop()
            simulator.stop()
            raise RuntimeError(f"the watch never finished a poll: see {options.out}")
        began = time.monotonic()
        schedule = fault_schedule(options, rng)
        pending = list(schedule)
        next_sample = began
        try:
            while (now := time.monotonic()) < began + options.seconds:
                if pending and now >= began + pending[0][0]:
                    _, kind = pending.pop(0)
                    faults.append(inject(kind, simulator, watch, history, rng))
                if now >= next_sample:
                    rss = watch.rss_kb()
                    if rss is not None:
                        samples.append((watch.runs, time.time(), rss))
                    next_sample += options.sample_every
                if watch.process is not None and watch.process.poll() is not None:
                    faults.append({"kind": "watch exited", "at": time.time(),
                                   "status": watch.process.returncode})  # fmt: skip
                    watch.exits.append(watch.process.returncode)
                    watch.start()
                time.sleep(0.1)
        finally:
            watch.stop()
            simulator.stop()
        rows, answered = read_history(history)
    return {
        "options": {**dataclasses.asdict(options), "out": str(options.out)},
        "today": today.isoformat(),
        "faults": faults,
        "samples": samples,
        "incarnations": [(str(c), str(s)) for c, s in simulator.incarnations],
        "exits": watch.exits,
        "rows": rows,
        "answered": sorted(answered),
    }


def inject(
    kind: str, simulator: Simulator, watch: Watch, history: str, rng: random.Random
) -> dict[str, Any]:
    fault: dict[str, Any] = {"kind": kind, "at": time.time()}
    if kind == "drop":
        simulator.drop()
    elif kind == "restart":
        simulator.stop()
        downtime = rng.uniform(1, 5)
        time.sleep(downtime)
        simulator.start()
        fault["downtime"] = round(downtime, 1)
    elif kind == "kill":
        watch.kill()
        watch.start()
        if not watch.wait_for_poll():  # a restarted watch that never polls: killed again
            fault["stuck"] = True
            watch.kill()
            watch.start()
    elif kind == "pg":
        fault["connections"] = terminate_backends(history)
    fault["until"] = time.time()
    return fault


def read_history(uri: str) -> tuple[list[tuple[int, int, float | None, str | None]], set[int]]:
    """Every price row (outcome id, fetched_at, odds, status), by outcome and time, and
    the times at which anything (a price, an event's state) was stored."""
    from sqlalchemy import create_engine, text

    engine = create_engine(uri)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT o.outcome_id, p.fetched_at, p.odds, p.status FROM kwiff_prices p "
                    "JOIN kwiff_outcomes o ON p.outcome = o.id "
                    "WHERE o.outcome_id IS NOT NULL ORDER BY o.outcome_id, p.fetched_at"
                )
            ).all()
            states = connection.execute(text("SELECT fetched_at FROM kwiff_event_states")).all()
    finally:
        engine.dispose()
    answered = {row[1] for row in rows} | {row[0] for row in states}
    return [tuple(row) for row in rows], answered  # type: ignore[misc]


# -- the checks --------------------------------------------------------------------------


def read_lines(path: str) -> list[dict[str, Any]]:
    """A JSON-lines file, without a last line cut short by a stop."""
    lines = []
    with open(path, encoding="utf-8") as file:
        for line in file:
            with contextlib.suppress(json.JSONDecodeError):
                lines.append(json.loads(line))
    return lines


def wall_time(stamp: int, today: str, speed: float) -> float:
    """The real time (s since the epoch) at which the simulator's clock showed *stamp*."""
    origin = datetime.datetime.fromisoformat(today).replace(tzinfo=datetime.UTC).timestamp() * 1000
    return (origin + (stamp - origin) / speed) / 1000


def check(result: dict[str, Any]) -> dict[str, Any]:
    options = result["options"]
    interval, speed, today = options["interval"], options["speed"], result["today"]
    rows_by = {(row[0], row[1]): row for row in result["rows"]}
    answered = set(result["answered"])
    faults = result["faults"]
    reach = FAULT_REACH * interval

    def near_fault(moment: float) -> bool:
        return any(f["at"] - reach <= moment <= f["until"] + reach + 10 for f in faults)

    by_outcome: dict[int, list[tuple[int, int, float | None, str | None]]] = (
        collections.defaultdict(list)
    )
    for row in result["rows"]:
        by_outcome[row[0]].append(tuple(row))  # type: ignore[arg-type]

    def last_stored(outcome: int, stamp: int) -> tuple[int, int, float | None, str | None] | None:
        """The outcome's latest row stored before *stamp*."""
        rows = by_outcome.get(outcome, [])
        at = bisect.bisect_left(rows, (outcome, stamp))
        return rows[at - 1] if at else None

    counts: collections.Counter[str] = collections.Counter()
    problems: list[str] = [
        f"the watch restarted after a kill at {fault['at']:.0f} finished no poll in 120 s"
        for fault in faults
        if fault.get("stuck")
    ]
    expected_keys: set[tuple[int, int]] = set()
    # outcome -> (timestamp, seq, odds after) of each logged move, in the log's order
    known: dict[int, list[tuple[int, int, float]]] = collections.defaultdict(list)
    firsts: list[int] = []  # each incarnation's first answer's timestamp
    for changes_path, serves_path in result["incarnations"]:
        serves = read_lines(serves_path)
        firsts.append(serves[0]["timestamp"] if serves else 0)
        gets: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)
        stamp_of: dict[int, int] = {}
        for serve in serves:
            stamp_of[serve["answer"]] = serve["timestamp"]
            if serve["command"] == "event:get" and serve["step"] is not None:
                gets[serve["event_id"]].append((serve["answer"], serve["timestamp"]))
        due: dict[tuple[int, int], list[dict[str, Any]]] = collections.defaultdict(list)
        for change in read_lines(changes_path):
            if change["kind"] != "moved" or change["outcome_id"] is None:
                continue
            counts["moves logged"] += 1
            if change["answer"] in stamp_of:
                known[change["outcome_id"]].append(
                    (stamp_of[change["answer"]], change["seq"], change["odds_after"])
                )
            shown = gets[change["event_id"]]
            at = bisect.bisect_left(shown, (change["answer"], -1))
            if at == len(shown):
                counts["moves never shown by an event:get before the end or a restart"] += 1
                continue
            due[(change["outcome_id"], shown[at][1])].append(change)
        for (outcome, stamp), moves in due.items():
            before, after = moves[0]["odds_before"], moves[-1]["odds_after"]
            if after == before:
                counts["moves undone before an answer showed them"] += len(moves)
                continue
            counts["moves shown (one per outcome and answer)"] += 1
            expected_keys.add((outcome, stamp))
            row = rows_by.get((outcome, stamp))
            last = last_stored(outcome, stamp)
            if row is not None and row[2] == after:
                counts["recorded"] += 1
            elif row is None and last is not None and last[2] == after and last[3] is None:
                # Back at the price the watch last saw (it moved away while the simulator
                # was down, unlogged): nothing new to store.
                counts["back at the price stored before"] += 1
            elif row is not None:
                counts["recorded with the wrong odds"] += 1
                problems.append(f"outcome {outcome} at {stamp}: {row[2]} stored, {after} shown")
            elif stamp not in answered and near_fault(wall_time(stamp, today, speed)):
                counts["lost with its answer, by a fault"] += 1
            else:
                reason = "the answer's other rows were stored" if stamp in answered else "no fault"
                counts["missing"] += 1
                problems.append(f"outcome {outcome} moved to {after} at {stamp}: missing, {reason}")
    for values in known.values():
        values.sort()
    previous: tuple[int, float | None, str | None] | None = None
    for outcome, stamp, odds, status in result["rows"]:
        if previous is not None and previous[0] == outcome and previous[1:] == (odds, status):
            counts["rows repeating the one before"] += 1
            problems.append(f"outcome {outcome} at {stamp}: {odds} {status} stored twice in a row")
        previous = (outcome, odds, status)
        if (outcome, stamp) in expected_keys or odds is None:
            continue
        counts["other rows (baseline, after a restart, caught up)"] += 1
        # What the simulator had shown of it by then, if its log knows (the same
        # incarnation: moves during a restart's downtime are not logged).
        values = known.get(outcome, [])
        at = bisect.bisect_right(values, (stamp, float("inf"), float("inf")))
        since = firsts[max(bisect.bisect_right(firsts, stamp) - 1, 0)] if firsts else 0
        if at and values[at - 1][0] >= since and values[at - 1][2] != odds and status is None:
            counts["other rows with a price the simulator did not show"] += 1
            shown = values[at - 1][2]
            problems.append(f"outcome {outcome} at {stamp}: {odds} stored, {shown} shown")
    return {
        "history": dict(counts),
        # A short run is still warming up: its memory is shown, not judged.
        "memory": check_memory(result["samples"], judged=not options["short"]),
        "polls": check_polls(options["out"], interval),
        "problems": problems,
    }


def check_memory(samples: list[tuple[int, float, int]], judged: bool) -> dict[str, Any]:
    runs: dict[int, list[int]] = collections.defaultdict(list)
    for run_number, _, rss in samples:
        runs[run_number].append(rss)
    longest = max(runs.values(), key=len, default=[])
    if len(longest) < 10:
        return {"samples": len(longest), "flat": None}
    fifth = len(longest) // 5
    early = statistics.median(longest[fifth : 2 * fifth])
    late = statistics.median(longest[-fifth:])
    growth = (late - early) / early
    return {
        "samples": len(longest),
        "runs": len(runs),
        "rss_mb_second_fifth": round(early / 1024, 1),
        "rss_mb_last_fifth": round(late / 1024, 1),
        "rss_mb_peak": round(max(longest) / 1024, 1),
        "growth": round(growth, 4),
        "flat": growth < 0.10 if judged else None,
    }


def check_polls(out: str, interval: float) -> dict[str, Any]:
    """How late each poll ended after the one before, less the interval (in one run of
    the watch). A failed poll's lateness is its outage's (the service down, commands
    retried): it is counted apart."""
    polls = read_lines(os.path.join(out, "polls.jsonl"))
    lateness, failed_lateness = [], []
    for before, after in itertools.pairwise(polls):
        if before["run"] == after["run"]:
            late = after["at"] - before["at"] - interval
            (failed_lateness if after["failed"] else lateness).append(late)
    return {
        "polls": len(polls),
        "failed": sum(poll["failed"] for poll in polls),
        "median_gap_s": round(statistics.median(lateness) + interval, 2) if lateness else None,
        "max_late_s": round(max(lateness, default=0.0), 2),
        "late_by_more_than_two_intervals": sum(late > 2 * interval for late in lateness),
        "max_late_s_of_failed_polls": round(max(failed_lateness, default=0.0), 2),
    }


def summary(result: dict[str, Any], checked: dict[str, Any]) -> tuple[str, bool]:
    options = result["options"]
    history, memory, polls = checked["history"], checked["memory"], checked["polls"]
    kinds = collections.Counter(fault["kind"] for fault in result["faults"])
    ok = (
        not checked["problems"]
        and memory["flat"] is not False
        and polls["late_by_more_than_two_intervals"] == 0
        and history.get("recorded", 0) > 0
        and all(status == 0 for status in result["exits"][-1:])
    )
    lines = [
        f"Soak of kwiff_watch -a details=1: {options['seconds'] / 60:g} min, interval "
        f"{options['interval']:g} s, {options['events']} events, simulator speed "
        f"{options['speed']:g}, history in {options['db']}, seed {options['seed']}",
        f"  files: {options['out']}",
        "  faults: " + (", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) or "none"),
        "  history against the simulator's change logs:",
        *(f"    {key}: {value}" for key, value in history.items()),
        f"  memory (watch RSS, its longest run): {json.dumps(memory)}",
        f"  polls: {json.dumps(polls)}",
        f"  watch exit statuses: {result['exits']} (the last: the final SIGINT)",
        *(f"  PROBLEM {problem}" for problem in checked["problems"][:20]),
        f"  result: {'PASS' if ok else 'FAIL'}",
    ]
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    print(f"soak: {options.seconds:g} s, files in {options.out}", flush=True)
    result = run(options)
    checked = check(result)
    text, ok = summary(result, checked)
    print(text, flush=True)
    with (options.out / "history-rows.jsonl").open("w") as rows:
        rows.writelines(json.dumps(row) + "\n" for row in result["rows"])
    (options.out / "summary.json").write_text(
        json.dumps({**{k: v for k, v in result.items() if k != "rows"}, **checked}, indent=1)
    )
    if ok and options.short and not os.environ.get("KWIFF_SOAK_KEEP"):
        shutil.rmtree(options.out / "job", ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
