"""Several workers through Redis: a details crawl shared by 3 workers against 1 worker.

``python -m bench.bench_distributed [--quick] [--events N] [--repeats N]``

``scrapy crawl kwiff_football -a details=1`` (one ``event:list``, then one ``event:get``
per event, at least 500 events) run as real ``scrapy crawl`` processes sharing one Redis
(``SCHEDULER = "kwiff_scrapy.distributed.Scheduler"``, ``REDIS_URL``, 127.0.0.1:6379 or
``--redis-url``). The simulator answers every command after 50 ms, and each worker sends
one command at a time (``CONCURRENT_REQUESTS = 1``, as a polite per-IP limit would), so
one worker cannot go faster than about 20 commands/s: more commands per second need more
workers. Runs of 1 and of 3 workers alternate (1, 3, 1, 3, ...); the medians are compared.

*Commands/s* counts the ``event:get`` commands answered, from the first answer to the
last (the simulator, in this process, counts them). The simulator holds its answers
until every worker of the run has joined (its sign of life is in Redis), so that the
workers' start-up (a few seconds each, and uneven on a loaded machine) is not measured.
*Wall* is from launching the workers to the last one's exit (start-up and the end of the
shared crawl included). Goal: 3 workers at least 2.5 x the commands/s of one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from kwiff_scrapy.simulator import KwiffSimulator

from ._common import base_parser, print_header, print_table, ratio_line, running_simulator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DELAY = 0.05
GOAL = 2.5
NOTE = (
    "The simulator runs in this process (it counts the answers); the workers are "
    "`scrapy crawl` processes, each with its own Kwiff session."
)


@dataclass
class Run:
    workers: int
    commands: int
    rate: float
    """``event:get`` commands per second, first answer to last."""
    wall: float
    per_worker: list[int]


async def crawl(
    simulator: KwiffSimulator, workers: int, events: int, redis: Redis, logs: Path
) -> Run:
    """One shared details crawl by *workers* processes; checks that it fetched each event once."""
    prefix = f"bench-distributed:{uuid.uuid4().hex[:10]}"
    redis_url = _url(redis)
    environment = {**os.environ}
    environment.pop("SCRAPY_SETTINGS_MODULE", None)
    simulator.hold_answers()
    started = time.perf_counter()
    processes = []
    for number in range(workers):
        log = logs / f"{prefix.replace(':', '-')}-w{number}.log"
        command = [
            sys.executable, "-m", "scrapy", "crawl", "kwiff_football", "-a", "details=1",
            "-s", f"KWIFF_ENDPOINT={simulator.url}",
            "-s", "SCHEDULER=kwiff_scrapy.distributed.Scheduler",
            "-s", f"REDIS_URL={redis_url}",
            "-s", f"KWIFF_REDIS_KEY={prefix}:%(spider)s",
            "-s", "CONCURRENT_REQUESTS=1",
            "-s", "LOG_LEVEL=INFO",
            "--logfile", str(log),
        ]  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        processes.append((process, log))
    signs_of_life = f"{prefix}:kwiff_football:worker:*"
    # The workers are other processes: what tells that they are up is in Redis.
    while len(list(redis.scan_iter(match=signs_of_life))) < workers:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    simulator.release_answers()
    base = simulator.acks_sent  # 0: a new simulator per run
    await simulator.wait_until(lambda: simulator.acks_sent >= base + 2)  # list + first get
    first = time.perf_counter()
    await simulator.wait_until(lambda: simulator.acks_sent >= base + 1 + events)
    last = time.perf_counter()
    statuses = [await process.wait() for process, _ in processes]
    wall = time.perf_counter() - started
    if statuses != [0] * workers:
        raise RuntimeError(f"a worker failed ({statuses}): see the logs in {logs}")
    scraped = [_stat(log, "item_scraped_count") for _, log in processes]
    if sum(scraped) != events or simulator.acks_sent != base + 1 + events:
        raise RuntimeError(
            f"expected {events} events fetched once: {scraped} items, "
            f"{simulator.acks_sent - base} commands answered"
        )
    return Run(workers, events, (events - 1) / (last - first), wall, scraped)


def _url(redis: Redis) -> str:
    kwargs = redis.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def _stat(log: Path, key: str) -> int:
    found = re.findall(rf"'{re.escape(key)}': (\d+)", log.read_text(encoding="utf-8"))
    return int(found[-1]) if found else 0


async def main(args: argparse.Namespace) -> int:
    redis = Redis.from_url(args.redis_url, socket_connect_timeout=2)
    try:
        redis.ping()
    except RedisError as exc:
        print(f"Redis at {args.redis_url} is unreachable ({exc}): start redis-server first")
        return 1
    runs: dict[int, list[Run]] = {1: [], 3: []}
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as folder:
        for repeat in range(args.repeats):
            for workers in (1, 3):
                options = {"football_events": args.events, "response_delay": DELAY}
                async with running_simulator(**options) as simulator:
                    run = await crawl(simulator, workers, args.events, redis, Path(folder))
                runs[workers].append(run)
                print(
                    f"  repeat {repeat + 1}, {workers} worker(s): {run.rate:,.1f} commands/s, "
                    f"wall {run.wall:.1f} s, events per worker {run.per_worker}",
                    flush=True,
                )
    print()
    rows = []
    for workers, measured in runs.items():
        rows.append(
            (
                f"{workers} worker(s)",
                statistics.median(run.rate for run in measured),
                statistics.median(run.wall for run in measured),
                len(measured),
            )
        )
    print_table(["workers", "median commands/s", "median wall s", "runs"], rows)
    print()
    rate_ratio = rows[1][1] / rows[0][1]
    wall_ratio = rows[0][2] / rows[1][2]
    print(ratio_line("3 workers / 1 worker, commands/s", rate_ratio, f">= {GOAL}"))
    print(ratio_line("1 worker / 3 workers, wall time", wall_ratio))
    return 0 if rate_ratio >= GOAL else 2


def parse_args() -> argparse.Namespace:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=None, help="events (default 500; quick 200)")
    parser.add_argument("--repeats", type=int, default=None, help="runs of each (default 3)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if args.events is None:
        args.events = 200 if args.quick else 500
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    return args


if __name__ == "__main__":
    arguments = parse_args()
    print_header("Shared details crawl: 3 workers vs 1 (Redis)", arguments, NOTE)
    sys.exit(asyncio.run(main(arguments)))
