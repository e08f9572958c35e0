"""The odds history: what storing prices adds to a crawl, on SQLite.

``python -m bench.bench_history [--quick] [--rounds N]``

The ``kwiff_football`` crawl (one ``event:list``, 111 events, every price of the
baseline) run in turn, round by round, four ways:

- **off**: no history (the baseline);
- **on, new database**: every price stored (a fresh SQLite file each round);
- **on, nothing moved**: the same prices already stored (cron's steady state: no row);
- **on, 100 moved**: 100 of the stored prices changed before the crawl (the stored
  ones are edited, so the answer differs from them in exactly 100 prices): 100 rows.

Each crawl is timed from its start to the end of its ``close_spider`` (so the last
batch's commit is included). Printed: the median seconds of each, the ratio to
**off**, and the seconds the history adds (median on - median off). Goal: storing
the whole baseline adds at most 0.5 s; the 100-moves crawl writes exactly 100 rows.

The crawls are reactorless ``AsyncCrawlerRunner`` crawls in this process; the
simulator runs in its own process (``python -m kwiff_scrapy.simulator``, with
``--still`` where its data can move, so that every crawl is answered the same prices).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scrapy.crawler import AsyncCrawlerRunner
from sqlalchemy import create_engine

from kwiff_scrapy.history.summaries import rebuild
from kwiff_scrapy.integration import stats
from kwiff_scrapy.spiders.football import KwiffFootballSpider

from ._common import OWN_PROCESS_NOTE, base_parser, print_header, print_table, simulator_process

ADDED_GOAL_SECONDS = 0.5
MOVED = 100
PIPELINE = {"kwiff_scrapy.pipelines.history.KwiffHistoryPipeline": 700}
BASE_SETTINGS: dict[str, Any] = {
    "ADDONS": {"kwiff_scrapy.Addon": 300},
    "TWISTED_REACTOR_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "WARNING",
    "DOWNLOAD_HANDLERS": {"http": None, "https": None},
}


async def crawl(endpoint: str, history: Path | None) -> tuple[float, dict[str, Any]]:
    """Seconds of one football crawl (history into *history*, or none) and its stats."""
    settings = {**BASE_SETTINGS, "KWIFF_ENDPOINT": endpoint}
    if history is not None:
        settings |= {"KWIFF_HISTORY_URI": f"sqlite:///{history}", "ITEM_PIPELINES": PIPELINE}
    runner = AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(KwiffFootballSpider)
    started = time.perf_counter()
    await runner.crawl(crawler)
    seconds = time.perf_counter() - started
    assert crawler.stats is not None
    return seconds, crawler.stats.get_stats()


def move_stored_prices(database: Path, count: int) -> None:
    """Make *count* stored prices differ from what the service answers: their latest
    stored odds go up by 1, so the next crawl sees exactly *count* moves."""
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE kwiff_prices SET odds = odds + 1 WHERE (outcome, fetched_at) IN ("
            " SELECT outcome, max(fetched_at) FROM kwiff_prices"
            " WHERE odds IS NOT NULL GROUP BY outcome ORDER BY outcome LIMIT ?)",
            (count,),
        )
    # Changed by hand, around the writer: the outcomes' summaries built again from the rows.
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as connection:
            rebuild(connection)
    finally:
        engine.dispose()


def price_rows(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT count(*) FROM kwiff_prices").fetchone()
    return int(count)


async def run(endpoint: str, rounds: int, folder: Path) -> None:
    times: dict[str, list[float]] = {"off": [], "new": [], "unchanged": [], "moved": []}
    written: dict[str, set[int]] = {name: set() for name in times}
    baseline_prices = 0
    await crawl(endpoint, None)  # warm-up: imports, caches, the simulator's first answer
    for number in range(rounds):
        seconds, _ = await crawl(endpoint, None)
        times["off"].append(seconds)

        database = folder / f"round-{number}.sqlite"
        seconds, found = await crawl(endpoint, database)
        times["new"].append(seconds)
        written["new"].add(found.get(stats.HISTORY_PRICES_WRITTEN, 0))
        baseline_prices = price_rows(database)

        seconds, found = await crawl(endpoint, database)
        times["unchanged"].append(seconds)
        written["unchanged"].add(found.get(stats.HISTORY_PRICES_WRITTEN, 0))

        move_stored_prices(database, MOVED)
        before = price_rows(database)
        seconds, found = await crawl(endpoint, database)
        times["moved"].append(seconds)
        written["moved"].add(price_rows(database) - before)
        database.unlink()

    off = statistics.median(times["off"])
    labels = {
        "off": "history off",
        "new": "on, new database",
        "unchanged": "on, nothing moved",
        "moved": f"on, {MOVED} moved",
    }
    rows = []
    for name, label in labels.items():
        median = statistics.median(times[name])
        rows.append(
            [
                label,
                median,
                median / off,
                median - off,
                "-" if name == "off" else ", ".join(map(str, sorted(written[name]))),
            ]
        )
    print(f"{baseline_prices:,} prices in the football baseline; {rounds} rounds, medians:")
    print()
    print_table(["crawl", "median s", "ratio to off", "added s", "price rows written"], rows)
    added = statistics.median(times["new"]) - off
    print()
    print(
        f"storing the baseline adds {added:.3f} s (goal: at most {ADDED_GOAL_SECONDS} s): "
        f"{'met' if added <= ADDED_GOAL_SECONDS else 'NOT met'}"
    )
    moved_ok = written["moved"] == {MOVED} and written["unchanged"] == {0}
    print(
        f"a crawl with {MOVED} moved prices writes {', '.join(map(str, sorted(written['moved'])))}"
        f" rows, one with none moved writes {', '.join(map(str, sorted(written['unchanged'])))}:"
        f" {'as expected' if moved_ok else 'NOT as expected'}"
    )


def still_option() -> list[str]:
    """``--still`` if this simulator's data can move: every crawl must see the same prices."""
    usage = subprocess.run(
        [sys.executable, "-m", "kwiff_scrapy.simulator", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return ["--still"] if "--still" in usage else []


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "bench_history")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 9, quick 2)")
    args: argparse.Namespace = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 9)
    print_header("odds history: what storing prices adds to a crawl", args, OWN_PROCESS_NOTE)
    with simulator_process(*still_option()) as endpoint, tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(endpoint, rounds, Path(folder)))


if __name__ == "__main__":
    main()
