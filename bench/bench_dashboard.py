"""The dashboard's server time per page and per live look, on a big history and a small one.

``python -m bench.bench_dashboard [--prices N] [--small N] [--backends sqlite,postgresql]
[--repeats N] [--keep FOLDER] [--quick]``

Fills two histories per database with a busy watch's prices (``bench/_history_month_data.py``:
default 5,000,000 prices, and a small one of 50,000 as the baseline, the events in
proportion), through the database's bulk path, into the tables and indexes the schema
creates. Then serves each with the dashboard's application (in this process, aiohttp's
test server on 127.0.0.1) and times, in turns big / small, round by round:

- each page: the board (``/``), the board filtered by a team, movers and signals
  (``/movers``: the three ``history --top 10`` windows, kept up to 30 s), the busiest
  event's page (charts' data, moves, opening and closing) and its CSV;
- a live look: the server's look for new prices after a batch of moved prices (20 of each
  of 200 events, written by the history's writer) is stored, with a board page and the
  busiest event's page open: the board rows it sends again, that event's new prices
  (``LiveFeed.poll_once``);
- once, after the rounds: the movers' three tables computed afresh (what the server does
  at most every 30 s, off the pages' path).

Printed: the median time of each (the request's whole time from a client in the same
process: the server's time and a local round trip), its CPU time (``time.process_time`` of
this process, server and client: less hurt by a loaded machine than the wall time), the
goal (200 ms, of the wall time), and big / small: how much a 100 times bigger history
costs each.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp.test_utils import TestClient, TestServer

from kwiff_scrapy.dashboard.app import DASHBOARD_KEY, Dashboard, DashboardConfig, make_app
from kwiff_scrapy.dashboard.views import history_now, mover_tables
from kwiff_scrapy.history.queries import HistoryReader
from kwiff_scrapy.history.records import EventHeader, MarketRecord, Observation, PriceRecord
from kwiff_scrapy.history.schema import database_url
from kwiff_scrapy.history.store import HistoryStore

from ._common import base_parser, print_header, print_table
from ._history_month_data import FRACTIONS, ROUNDED, MonthShape, fill, market_rows, outcome_rows

POSTGRES = os.environ.get("KWIFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = "kwiff_bench_dashboard"
GOAL = 0.2
#: Events per month's 45 million prices (bench_history_month's shape).
EVENTS_PER_PRICE = 5_000 / 45_000_000
WRITE_EVENTS = 200
MOVED_PER_EVENT = 20
NOTE = (
    "Server and client run in this process on a shared, loaded machine (2 cores, other "
    "sessions running): absolute times are upper bounds; big / small is measured in turns."
)


@dataclass
class Target:
    label: str
    uri: str
    shape: MonthShape
    busiest: int = 0
    team: str = ""
    times: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)


def main() -> None:
    parser = base_parser(__doc__ or "")
    parser.add_argument("--prices", type=int, default=5_000_000)
    parser.add_argument("--small", type=int, default=50_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--keep", metavar="FOLDER", default=None)
    args = parser.parse_args()
    if args.quick:
        args.prices, args.small, args.repeats = 200_000, 20_000, 3
    repeats = args.repeats
    print_header("bench_dashboard: page and live-look server time", args, NOTE)
    end_ms = int(datetime.now(UTC).timestamp() * 1000)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kwiff-dash-"))
    folder.mkdir(parents=True, exist_ok=True)
    for backend in args.backends.split(","):
        with contextlib.ExitStack() as stack:
            targets = []
            for label, prices in (("big", args.prices), ("small", args.small)):
                uri = stack.enter_context(_database(backend, folder, label))
                events = max(20, round(prices * EVENTS_PER_PRICE))
                target = Target(label, uri, MonthShape(prices, events, end_ms))
                print(f"{backend}: filling {label}: {prices:,} prices, {events:,} events ...")
                _fill(target)
                targets.append(target)
            asyncio.run(_measure(targets, repeats))
            _report(backend, targets)


@contextlib.contextmanager
def _database(backend: str, folder: Path, label: str) -> Iterator[str]:
    if backend == "sqlite":
        path = folder / f"dashboard-{label}.sqlite"
        for stale in folder.glob(f"{path.name}*"):
            stale.unlink()
        yield f"sqlite:///{path}"
        return
    import psycopg

    schema = f"{SCHEMA}_{label}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _fill(target: Target) -> None:
    store = HistoryStore(database_url(target.uri))
    store.open()
    store.close()
    reader = HistoryReader(target.uri)
    try:
        filled = fill(reader.engine, target.shape, progress=False)
        with reader.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        reader.close()
    target.busiest = filled.busiest_event
    target.team = f"Home {filled.busiest_event}"
    print(f"  {filled.prices:,} prices in {filled.seconds:.0f} s")


async def _measure(targets: list[Target], repeats: int) -> None:
    async with contextlib.AsyncExitStack() as stack:
        clients: list[TestClient[Any, Any]] = []
        dashboards: list[Dashboard] = []
        for target in targets:
            reader = stack.enter_context(HistoryReader(target.uri))
            # The movers' tables kept through the rounds (computed afresh once, below).
            config = DashboardConfig(target.uri, port=0, poll=3600, movers_max_age=3600)
            app = make_app(reader, config)
            client = await stack.enter_async_context(
                TestClient(TestServer(app, host="127.0.0.1", port=0))
            )
            clients.append(client)
            dashboards.append(app[DASHBOARD_KEY])
        open_pages: dict[str, list[asyncio.Queue[bytes | None]]] = {}
        for round_number in range(repeats + 1):  # round 0 warms up
            for target, client, dashboard in zip(targets, clients, dashboards, strict=True):
                paths = {
                    "board": "/",
                    "board, team filter": f"/?team={quote(target.team)}",
                    "movers and signals": "/movers",
                    "event (busiest)": f"/event/{target.busiest}",
                    "event CSV (busiest)": f"/event/{target.busiest}.csv",
                }
                for name, path in paths.items():
                    seconds = await _timed(functools.partial(_get, client, path))
                    if round_number:
                        target.times.setdefault(name, []).append(seconds)
                        target.cpu.setdefault(name, []).append(CPU_SECONDS[-1])
                feed = dashboard.live
                if not round_number:  # a board page and the busiest event's page are open
                    open_pages[target.label] = [feed.subscribe(), feed.subscribe(target.busiest)]
                await asyncio.to_thread(_write_moves, target, round_number)
                seconds = await _timed(feed.poll_once)
                for page in open_pages[target.label]:  # what the pages were sent, read
                    while not page.empty():
                        page.get_nowait()
                if round_number:
                    target.times.setdefault("live look (4,000 new prices)", []).append(seconds)
                    target.cpu.setdefault("live look (4,000 new prices)", []).append(
                        CPU_SECONDS[-1]
                    )
        for target, dashboard in zip(targets, dashboards, strict=True):  # once: it is slow
            seconds = await _timed(_movers_afresh(dashboard))
            target.times["movers' tables afresh (1 run; every 30 s)"] = [seconds]
            target.cpu["movers' tables afresh (1 run; every 30 s)"] = [CPU_SECONDS[-1]]


def _movers_afresh(dashboard: Dashboard) -> Callable[[], Awaitable[Any]]:
    """The movers' tables computed afresh in *dashboard*'s database threads."""
    return lambda: dashboard.database(
        lambda: mover_tables(dashboard.reader, history_now(dashboard.reader))
    )


async def _get(client: TestClient[Any, Any], path: str) -> None:
    response = await client.get(path)
    await response.read()
    assert response.status == 200, (path, response.status)


#: CPU seconds (this process: server and client) of each timed call, in order.
CPU_SECONDS: list[float] = []


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    started, cpu = time.perf_counter(), time.process_time()
    await call()
    CPU_SECONDS.append(time.process_time() - cpu)
    return time.perf_counter() - started


def _write_moves(target: Target, round_number: int) -> None:
    """A poll's moved prices: 20 outcomes of each of 200 events, a minute after the end."""
    from ._history_month_data import plan_events

    at = target.shape.end_ms + 60_000 * (round_number + 1)
    observations = []
    for plan in plan_events(target.shape)[:WRITE_EVENTS]:
        found = []
        for number, row in enumerate(outcome_rows(plan)[:MOVED_PER_EVENT]):
            step = 20 + (round_number + number) % 20
            found.append(
                PriceRecord(
                    plan.event_id, row["market_key"], row["outcome_key"], row["outcome_id"],
                    row["name"], at, ROUNDED[step], FRACTIONS[step], None,
                )
            )  # fmt: skip
        markets = [
            MarketRecord(plan.event_id, m["market_key"], m["market_id"], m["name"])
            for m in market_rows(plan)
        ]
        header = EventHeader(plan.event_id, 11, "Football", 1, f"League {1 + plan.event_id % 40}",
                             f"Home {plan.event_id}", f"Away {plan.event_id}", plan.kickoff_ms,
                             "Active", False)  # fmt: skip
        observations.append(Observation(header, markets, found))
    store = HistoryStore(database_url(target.uri))
    store.open()
    try:
        store.write(observations)
    finally:
        store.close()


def _report(backend: str, targets: list[Target]) -> None:
    big, small = targets
    rows = []
    for name, times in big.times.items():
        median = statistics.median(times)
        baseline = statistics.median(small.times[name])
        rows.append(
            (
                name,
                f"{median * 1000:.0f}",
                f"{statistics.median(big.cpu[name]) * 1000:.0f}",
                f"{baseline * 1000:.0f}",
                f"{median / baseline:.2f}",
                "yes" if median <= GOAL else "NO",
            )
        )
    print(
        f"\n{backend}: {big.shape.prices:,} prices ({big.shape.events:,} events) vs "
        f"{small.shape.prices:,} ({small.shape.events:,}), median of "
        f"{len(big.times['board'])} rounds; load average {os.getloadavg()[0]:.1f} (2 cores)"
    )
    headers = (
        "page",
        "big ms",
        "big CPU ms",
        "small ms",
        "big / small",
        f"<= {GOAL * 1000:.0f} ms",
    )
    print_table(headers, rows)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
