"""Soak: a details watch against the moving simulator, faults injected at random.

``python -m bench.soak_watch --minutes 30`` runs ``scrapy crawl kwiff_watch -a details=1``
(its own process, history in SQLite or PostgreSQL, ``JOBDIR``) against
``python -m kwiff_scrapy.simulator`` on its clock (its own process, change and serve logs
written to files), and at random moments:

- ``drop``: the simulator drops every connection (SIGUSR1: TCP aborted, no close frame);
- ``restart``: the simulator is stopped (SIGTERM) and started again on the same port after
  a downtime of 1 to 5 s (the same seed, day and speed: the same market);
- ``kill``: the watch is killed (SIGKILL) and started again (same ``JOBDIR``); with
  ``--workers N``, one worker, chosen at random (a shared watch keeps its state in Redis);
- ``pg``: with ``--db postgresql``, the history's PostgreSQL is stopped (``pg_ctl stop -m
  fast``) and started again after 1 to 5 s;
- ``redis``: with ``--workers N`` (a shared watch: N workers through Redis), Redis is
  stopped (SIGTERM) and started again after 1 to 5 s (with its append-only file: the
  watch's state survives, as docs/distributed.md asks of a Redis that must).

The PostgreSQL and Redis servers are the soak's own (``bench/_soak_services.py``), on
free ports: the machine's are shared with other work and never touched.

Afterwards it checks, and prints:

- **the history against the simulator's logs**: each price move the simulator logged is
  due in the history at the first ``event:get`` answer about its event that showed it
  (several moves of one outcome before that answer are one move; one that ends where it
  started is none), as a row with that answer's timestamp and the new odds. Each is
  ``recorded``, or ``lost with its answer`` (no row at all at that answer's time: the
  answer was cut by a drop, a restart or a kill, or its rows were lost with a killed
  watch) if that answer came within a few intervals of a fault, or ``lost: kept to write
  again by a worker killed while PostgreSQL was down`` (no row at all at that answer's
  time either: the history keeps the rows it could not write in memory, and a SIGKILL
  loses them) if that answer came between the start of a PostgreSQL outage and a kill
  during it; anything else fails the run. Every other row (the baseline, the first
  answers after a restart or a kill, a move caught up after a lost answer) must hold the
  simulator's price at its time where the log knows it, and no outcome may have two rows
  in a row with the same price and status;
- **memory**: each worker's RSS, sampled; over the longest run of a worker, the median of
  its last fifth against the median of its second fifth;
- **polls**: the time between two polls' ends, less the interval: no poll later than two
  intervals. For a shared watch, each poll (the list, each event) whichever worker made
  it, from the completion times the watch keeps in Redis (``<key>:polled``), sampled.

The exit status is 0 when every check passes. ``--short`` is the 15-second version (from
the watch's first poll) that ``tests/scenarios/test_soak_short.py`` runs, so that the
script cannot rot: each fault once, 20 events, a 2 s interval (with ``--workers 2``: 25 s).
Not a unit test: the machine's load shows in its figures.
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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._soak_services import PrivatePostgres, PrivateRedis, free_port

ROOT = Path(__file__).resolve().parents[1]
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
    workers: int = 1

    @property
    def shared(self) -> bool:
        return self.workers > 1


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.soak_watch", description=__doc__)
    add = parser.add_argument
    add("--minutes", type=float, default=30.0, help="how long the watch runs (default 30)")
    add("--interval", type=float, default=10.0, help="the watch's interval, s (default 10)")
    add("--speed", type=float, default=60.0, help="the simulator's clock speed (default 60)")
    add("--events", type=int, default=111, help="football events listed (default 111)")
    add("--fault-every", type=float, default=120.0, metavar="S",
        help="mean time between two faults, s (default 120)")  # fmt: skip
    add(
        "--faults",
        default=None,
        help="kinds (default: all that apply: drop,restart,kill; pg with --db postgresql; "
        "redis with --workers)",
    )
    add("--workers", type=int, default=1, help="N > 1: a shared watch through Redis")
    add("--db", choices=("sqlite", "postgresql"), default=None,
        help="the history (default sqlite; postgresql for a shared watch)")  # fmt: skip
    add("--seed", type=int, default=None, help="of the fault schedule (default: random)")
    add("--out", type=Path, default=None, help="keep the run's files here (default: a tmp dir)")
    add("--short", action="store_true",
        help="15 s (25 s with --workers), each fault once, 20 events, interval 2")  # fmt: skip
    args = parser.parse_args(argv)
    shared = args.workers > 1
    db = args.db or ("postgresql" if shared else "sqlite")
    if shared and db != "postgresql":
        parser.error("--workers: several workers write one history: use --db postgresql")
    servers = ("pg",) * (db == "postgresql") + ("redis",) * shared  # restartable servers
    if args.faults is None:
        kinds = ("drop", "restart", "kill", *servers)
    else:
        kinds = tuple(kind for kind in args.faults.split(",") if kind)
    if not_applicable := set(kinds) - {"drop", "restart", "kill", *servers}:
        parser.error(f"--faults: unknown or not applicable here: {sorted(not_applicable)}")
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    out = args.out or Path(tempfile.mkdtemp(prefix="kwiff-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    if args.short:
        seconds = 25.0 if shared else 15.0
        return Options(seconds, 2.0, 60.0, 20, 0.0, kinds, db, seed, out, True, 1.0, args.workers)
    return Options(
        args.minutes * 60, args.interval, args.speed, args.events, args.fault_every, kinds,
        db, seed, out, False, 5.0, args.workers,
    )  # fmt: skip


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
    """``scrapy crawl kwiff_watch -a details=1`` in its own process; restartable. With
    *redis_url*, one worker (numbered *worker*) of a shared watch."""

    def __init__(
        self, options: Options, endpoint: str, history: str, worker: int = 1,
        redis_url: str | None = None,
    ) -> None:  # fmt: skip
        self.options = options
        self.endpoint = endpoint
        self.history = history
        self.worker = worker
        self.redis_url = redis_url
        self.poll_log = options.out / f"polls-{worker}.jsonl"
        self.runs = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.exits: list[int] = []

    def start(self) -> None:
        """Start a run, as docs/kwiff-watch.service does: from the job's state."""
        self.runs += 1
        out = self.options.out
        extensions = json.dumps({"bench._soak_polls.PollRecorder": 0})
        environment = {**os.environ, "PYTHONWARNINGS": "default"}
        environment.pop("SCRAPY_SETTINGS_MODULE", None)
        if self.redis_url is None:  # a single watch keeps its state in JOBDIR
            state = ["-s", f"JOBDIR={out / 'job'}"]
        else:  # a shared watch, in Redis
            scheduler = "kwiff_scrapy.distributed.Scheduler"
            state = ["-s", f"SCHEDULER={scheduler}", "-s", f"REDIS_URL={self.redis_url}"]
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
                *state,
                "-s",
                f"EXTENSIONS={extensions}",
                "-s",
                f"SOAK_POLL_LOG={self.poll_log}",
                "-s",
                f"SOAK_RUN={self.runs}",
                "-s",
                f"LOG_FILE={out / f'watch-{self.worker}-{self.runs}.log'}",
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
        polls, deadline = self.poll_log, time.monotonic() + guard
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


def stop_all(watches: list[Watch]) -> None:
    """Stop them as systemd or Scrapyd would: one SIGINT to every worker at once, time to
    finish (as when a service stops; a
    second SIGINT would make Scrapy stop at once, uncleanly)."""
    running = [w for w in watches if w.process is not None and w.process.poll() is None]
    for watch in running:
        assert watch.process is not None
        watch.process.send_signal(signal.SIGINT)
    for watch in running:
        assert watch.process is not None
        try:
            watch.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            watch.process.kill()
            watch.process.wait()
        watch.exits.append(watch.process.returncode)


@dataclasses.dataclass
class Services:
    """The history's URI, and the soak's own servers it may restart."""

    history: str
    postgres: PrivatePostgres | None = None
    redis: PrivateRedis | None = None


@contextlib.contextmanager
def services(options: Options) -> Iterator[Services]:
    """An SQLite file in the run's folder, or a PostgreSQL of the soak's own; with
    several workers, a Redis of its own too. Stopped (and the PostgreSQL deleted) after."""
    found = Services(f"sqlite:///{options.out / 'odds.sqlite'}")
    try:
        if options.db == "postgresql":
            found.postgres = PrivatePostgres()
            found.postgres.create()
            found.history = found.postgres.url
        if options.shared:
            found.redis = PrivateRedis(options.out / "redis")
            found.redis.start()
        yield found
    finally:
        if found.redis is not None:
            found.redis.stop()
        if found.postgres is not None:
            found.postgres.destroy()


class PolledSampler:
    """A shared watch's ``<key>:polled`` (each poll's last completion, Redis time),
    read every second or so: every completion of every poll, whichever worker made it."""

    def __init__(self, redis_url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.seen: set[tuple[str, float, bool]] = set()

    def sample(self) -> None:
        import redis

        with contextlib.suppress(redis.RedisError):  # Redis restarted as a fault
            for key in self.client.scan_iter(match="*:polled", count=100):
                for task, value in self.client.hgetall(key).items():
                    # No decode_responses: Redis answers bytes (redis-py's types allow str).
                    assert isinstance(task, bytes)
                    assert isinstance(value, bytes)
                    when, _, failed = value.decode().partition(":")
                    self.seen.add((task.decode(), float(when), failed == "1"))


def fault_schedule(options: Options, rng: random.Random) -> list[tuple[float, str]]:
    """(seconds from the watch's first poll, kind): none in the first tenth and the last
    fifth, so that the watch has settled before the first and recovered after the last."""
    start, end = options.seconds * 0.1, options.seconds * 0.8
    if options.short:  # each kind once at a random moment; the kill last (its restart
        # takes the watch's start-up time, longer than a short run on a loaded machine)
        times = sorted(rng.uniform(start, end) for _ in options.kinds)
        shuffled = sorted(rng.sample(options.kinds, len(options.kinds)), key=lambda k: k == "kill")
        return list(zip(times, shuffled, strict=True))
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
    samples: list[tuple[str, float, int]] = []
    with services(options) as servers:
        simulator.start()
        redis_url = servers.redis.url if servers.redis else None
        watches = [
            Watch(options, simulator.url, servers.history, worker, redis_url)
            for worker in range(1, options.workers + 1)
        ]
        sampler = PolledSampler(redis_url) if redis_url else None
        sampling = threading.Event()
        sampler_thread = threading.Thread(
            target=sample_until, args=(sampler, sampling), daemon=True
        )
        for watch in watches:
            watch.start()
        if not all(watch.wait_for_poll(300) for watch in watches):
            stop_all(watches)
            simulator.stop()
            raise RuntimeError(f"a worker never finished a poll: see {options.out}")
        began = time.monotonic()
        if sampler is not None:
            sampler_thread.start()
        pending = fault_schedule(options, rng)
        next_sample = began
        try:
            while (now := time.monotonic()) < began + options.seconds:
                if pending and now >= began + pending[0][0]:
                    _, kind = pending.pop(0)
                    faults.append(inject(kind, simulator, watches, servers, rng))
                if now >= next_sample:
                    for watch in watches:
                        if (rss := watch.rss_kb()) is not None:
                            samples.append((f"{watch.worker}.{watch.runs}", time.time(), rss))
                    next_sample += options.sample_every
                for watch in watches:
                    if watch.process is not None and watch.process.poll() is not None:
                        faults.append({"kind": "watch exited", "at": time.time(),
                                       "worker": watch.worker,
                                       "status": watch.process.returncode})  # fmt: skip
                        watch.exits.append(watch.process.returncode)
                        watch.start()
                time.sleep(0.1)
        finally:
            sampling.set()
            stop_all(watches)
            simulator.stop()
        if sampler_thread.is_alive():
            sampler_thread.join()
        rows, answered = read_history(servers.history)
    return {
        "options": {**dataclasses.asdict(options), "out": str(options.out)},
        "today": today.isoformat(),
        "faults": faults,
        "samples": samples,
        "incarnations": [(str(c), str(s)) for c, s in simulator.incarnations],
        "exits": {watch.worker: watch.exits for watch in watches},
        "shared_polls": sorted(sampler.seen) if sampler else None,
        "rows": rows,
        "answered": sorted(answered),
    }


def sample_until(sampler: PolledSampler | None, stopped: threading.Event) -> None:
    """Sample the shared watch's completions twice a second until *stopped* (a thread:
    the faults keep the main loop busy for seconds)."""
    while sampler is not None and not stopped.wait(0.5):
        sampler.sample()
    if sampler is not None:
        sampler.sample()


def inject(
    kind: str,
    simulator: Simulator,
    watches: list[Watch],
    servers: Services,
    rng: random.Random,
) -> dict[str, Any]:
    fault: dict[str, Any] = {"kind": kind, "at": time.time()}
    if kind == "drop":
        simulator.drop()
    elif kind in ("restart", "pg", "redis"):
        server = {"restart": simulator, "pg": servers.postgres, "redis": servers.redis}[kind]
        assert server is not None
        server.stop()
        downtime = rng.uniform(1, 5)
        time.sleep(downtime)
        server.start()
        fault["downtime"] = round(downtime, 1)
    elif kind == "kill":
        watch = rng.choice(watches)
        fault["worker"] = watch.worker
        watch.kill()
        watch.start()
        if not watch.wait_for_poll():  # a restarted watch that never polls: killed again
            fault["stuck"] = True
            watch.kill()
            watch.start()
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
    return [tuple(row) for row in rows], answered


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

    def near_fault(moment: float) -> str | None:
        """The kind of the fault nearest to *moment* within its reach, if any."""
        near = [f for f in faults if f["at"] - reach <= moment <= f["until"] + reach + 10]
        nearest = min(near, key=lambda f: abs(f["at"] - moment), default=None)
        return nearest["kind"] if nearest else None

    # A worker killed while the history's PostgreSQL was down loses the rows it kept in
    # memory to write again: whole answers (one with some rows stored is not let off: a
    # history that skipped a move as unchanged would look just like it).
    kept = [
        (pg["at"] - reach, kill["until"])
        for kill in faults
        if kill["kind"] == "kill"
        for pg in faults
        if pg["kind"] == "pg" and pg["at"] - reach <= kill["at"] <= pg["until"] + reach
    ]

    def kept_when_killed(moment: float) -> bool:
        return any(start <= moment <= end for start, end in kept)

    by_outcome: dict[int, list[tuple[int, int, float | None, str | None]]] = (
        collections.defaultdict(list)
    )
    for row in result["rows"]:
        by_outcome[row[0]].append(tuple(row))

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
            elif stamp not in answered and kept_when_killed(wall_time(stamp, today, speed)):
                counts[KEPT_AND_KILLED] += 1
            elif stamp not in answered and (fault := near_fault(wall_time(stamp, today, speed))):
                counts[f"lost with its answer, by a fault (nearest: {fault})"] += 1
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
            shown_odds = values[at - 1][2]
            problems.append(f"outcome {outcome} at {stamp}: {odds} stored, {shown_odds} shown")
    return {
        "history": dict(counts),
        # A short run is still warming up: its memory is shown, not judged.
        "memory": check_memory(result["samples"], judged=not options["short"]),
        "polls": (
            check_polls(os.path.join(options["out"], "polls-1.jsonl"), interval)
            if result["shared_polls"] is None
            else check_shared_polls(result["shared_polls"], faults, interval)
        ),
        "problems": problems,
    }


def check_memory(samples: list[tuple[str, float, int]], judged: bool) -> dict[str, Any]:
    """Over the longest run of any worker (``worker.run``)."""
    runs: dict[str, list[int]] = collections.defaultdict(list)
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


def check_polls(path: str, interval: float) -> dict[str, Any]:
    """How late each poll ended after the one before, less the interval (in one run of
    the watch). A failed poll's lateness is its outage's (the service down, commands
    retried): it is counted apart."""
    polls = read_lines(path)
    lateness: list[float] = []
    failed_lateness: list[float] = []
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


KEPT_AND_KILLED = "lost: kept to write again by a worker killed while PostgreSQL was down"
#: The faults that stop a server for seconds: a shared watch's polls wait for them.
OUTAGES = ("restart", "pg", "redis")


def check_shared_polls(
    seen: list[tuple[str, float, bool]], faults: list[dict[str, Any]], interval: float
) -> dict[str, Any]:
    """How late each completion of each poll of a shared watch (the list, each event)
    came after the one before, whichever workers made them, less the interval. A killed
    worker's polls are judged (its leases run out, another worker takes them); a poll
    waiting across an outage (the simulator, Redis or PostgreSQL stopped) is counted
    apart, as are failed ones."""
    by_task: dict[str, list[tuple[float, bool]]] = collections.defaultdict(list)
    for task, when, failed in seen:
        by_task[task].append((when, failed))
    outages = [(f["at"], f["until"]) for f in faults if f["kind"] in OUTAGES]
    lateness: list[float] = []
    apart: list[float] = []
    for completions in by_task.values():
        for (before, _), (after, failed) in itertools.pairwise(sorted(completions)):
            late = after - before - interval
            across = any(start <= after and before <= end for start, end in outages)
            (apart if failed or across else lateness).append(late)
    return {
        "polls": len(seen),
        "tasks": len(by_task),
        "failed": sum(failed for _, _, failed in seen),
        "median_gap_s": round(statistics.median(lateness) + interval, 2) if lateness else None,
        "max_late_s": round(max(lateness, default=0.0), 2),
        "late_by_more_than_two_intervals": sum(late > 2 * interval for late in lateness),
        "across_an_outage_or_failed": len(apart),
        "max_late_s_across_an_outage_or_failed": round(max(apart, default=0.0), 2),
        "of_those_late_by_more_than_two_intervals": sum(late > 2 * interval for late in apart),
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
        and all(status == 0 for exits in result["exits"].values() for status in exits[-1:])
    )
    exits = result["exits"]
    exits_text = exits[1] if len(exits) == 1 else "; ".join(
        f"worker {worker}: {statuses}" for worker, statuses in exits.items()
    )  # fmt: skip
    lines = [
        f"Soak of kwiff_watch -a details=1: {options['seconds'] / 60:g} min, "
        f"{options['workers']} worker(s), interval "
        f"{options['interval']:g} s, {options['events']} events, simulator speed "
        f"{options['speed']:g}, history in {options['db']}, seed {options['seed']}",
        f"  files: {options['out']}",
        "  faults: " + (", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) or "none"),
        "  history against the simulator's change logs:",
        *(f"    {key}: {value}" for key, value in history.items()),
        f"  memory (watch RSS, the longest run of a worker): {json.dumps(memory)}",
        f"  polls: {json.dumps(polls)}",
        f"  watch exit statuses: {exits_text} (the last: the final SIGINT)",
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
