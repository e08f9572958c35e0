"""(d) A whole ``scrapy crawl kwiff_football``, handler vs an instant handler fed the same bytes.

Run: ``python -m bench.bench_crawl`` (``--quick`` for a smoke run).

Each crawl is the real command in its own process, from the repository root:
``scrapy crawl kwiff_football -O events.json`` (and ``-a flat=1 -O events.csv``):

- **handler**: through :class:`KwiffDownloadHandler` to the simulator in its own
  process (``-s KWIFF_ENDPOINT=ws://...``);
- **instant**: the same spider, settings and feed, with
  :class:`~bench._instant.InstantKwiffHandler` answering at once with the very ack
  bytes the preceding handler crawl received (recorded by
  :class:`~bench._instant.CrawlProbe`), decoded by the callback as a cache replay is.

The two alternate, and each instant crawl's feed must equal, byte for byte, the
feed of the handler crawl whose bytes it was fed. Figures: the whole command's wall
time (start-up included), the crawl's own time (``engine_started`` to
``engine_stopped``) and the process's peak RSS (``VmHWM``), medians of the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._common import (
    OWN_PROCESS_NOTE,
    base_parser,
    print_header,
    print_table,
    ratio_line,
    simulator_process,
)

ROOT = Path(__file__).resolve().parent.parent
HANDLER = "KwiffDownloadHandler"
INSTANT = "instant handler, same bytes"
MODES = {
    "-O events.json": ([], "events.json"),
    "-a flat=1 -O events.csv": (["-a", "flat=1"], "events.csv"),
}
GOAL_TIME = 0.95
GOAL_RSS_FRAMES = 2.0


@dataclass
class Runs:
    wall: list[float] = field(default_factory=list)
    crawl: list[float] = field(default_factory=list)
    peak_rss: list[int] = field(default_factory=list)

    def median(self, what: str) -> float:
        return statistics.median(getattr(self, what))


def crawl(
    kind: str, url: str, mode: str, scratch: Path, ack_file: Path, runs: Runs | None
) -> tuple[bytes, int]:
    """One ``scrapy crawl`` in its own process; returns its feed and the first ack's size."""
    arguments, feed_name = MODES[mode]
    feed = scratch / f"{kind.split()[0]}-{feed_name}"
    probe = scratch / "probe.json"
    record = scratch / ("ack.json" if kind == HANDLER else "ack-instant.json")
    settings = {
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": "False",
        "KWIFF_ENDPOINT": url,
        "EXTENSIONS": json.dumps({"bench._instant.CrawlProbe": 0}),
        "BENCH_PROBE_FILE": str(probe),
        "BENCH_ACK_RECORD": str(record),
    }
    if kind == INSTANT:
        settings["DOWNLOAD_HANDLERS"] = json.dumps({"kwiff": "bench._instant.InstantKwiffHandler"})
        settings["BENCH_ACK_FILE"] = str(ack_file)
    command = [sys.executable, "-m", "scrapy", "crawl", "kwiff_football", *arguments]
    command += ["-O", str(feed)]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0 or not probe.exists():
        raise RuntimeError(f"{kind} crawl failed:\n{completed.stderr[-3000:]}")
    figures = json.loads(probe.read_text())
    probe.unlink()
    if runs is not None:
        runs.wall.append(wall)
        runs.crawl.append(figures["seconds"])
        runs.peak_rss.append(figures["peak_rss"])
    return feed.read_bytes(), record.stat().st_size


def run_benchmark(url: str, repeats: int) -> tuple[dict[str, dict[str, Runs]], int]:
    results: dict[str, dict[str, Runs]] = {}
    frame = 0
    with tempfile.TemporaryDirectory() as directory:
        scratch = Path(directory)
        ack_file = scratch / "ack.json"
        for mode in MODES:
            runs = {HANDLER: Runs(), INSTANT: Runs()}
            for round_number in range(repeats + 1):  # round 0 warms up
                keep = round_number > 0
                real_feed, frame = crawl(
                    HANDLER, url, mode, scratch, ack_file, runs[HANDLER] if keep else None
                )
                instant_feed, _ = crawl(
                    INSTANT, url, mode, scratch, ack_file, runs[INSTANT] if keep else None
                )
                if real_feed != instant_feed or not real_feed:
                    raise RuntimeError(f"{mode}: the two crawls' feeds differ")
            results[mode] = runs
    return results, frame


def report(results: dict[str, dict[str, Runs]], frame: int, repeats: int) -> None:
    rows: list[list[Any]] = []
    for mode, runs in results.items():
        instant = runs[INSTANT]
        for kind, run in runs.items():
            rows.append(
                [
                    mode,
                    kind,
                    run.median("wall"),
                    run.median("wall") / instant.median("wall"),
                    run.median("crawl") * 1000,
                    run.median("crawl") / instant.median("crawl"),
                    run.median("peak_rss") / 2**20,
                    (run.median("peak_rss") - instant.median("peak_rss")) / 2**20,
                ]
            )
    print_table(
        ["crawl", "download handler", "command s", "/instant", "crawl ms", "/instant",
         "peak RSS MiB", "over instant MiB"],
        rows,
    )  # fmt: skip
    print()
    print(
        f"medians of {repeats} rounds (handler then instant, after one warm-up round); the "
        f"event:list ack is {frame / 1e6:.2f} MB; every instant feed equals its handler "
        f"crawl's feed byte for byte"
    )
    for mode, runs in results.items():
        handler, instant = runs[HANDLER], runs[INSTANT]
        for what, label in (("wall", "command"), ("crawl", "crawl")):
            ratio = handler.median(what) / instant.median(what)
            print(ratio_line(f"{label} time handler/instant ({mode})", ratio, f"<= {GOAL_TIME}"))
        over = handler.median("peak_rss") - instant.median("peak_rss")
        label = f"peak RSS over instant, in frames ({mode})"
        print(ratio_line(label, over / frame, f"<= {GOAL_RSS_FRAMES}"))


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    args: argparse.Namespace = parser.parse_args(argv)
    repeats = 1 if args.quick else 7
    print_header("bench_crawl: scrapy crawl kwiff_football, handler vs instant", args,
                 OWN_PROCESS_NOTE)  # fmt: skip
    with simulator_process() as url:
        results, frame = run_benchmark(url, repeats)
    report(results, frame, repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
