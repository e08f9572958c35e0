"""How much a quiet watch writes to its log at INFO, per hour (not a benchmark of speed).

Runs ``scrapy crawl kwiff_watch`` against the in-process simulator (its moving market:
prices change at every poll, and nothing goes wrong) with ``LOG_LEVEL=INFO`` and
``LOG_FILE``, waits for the second block of Scrapy's periodic stats (the start-up and
the first poll, which reports every price as new, are behind it), then counts the
bytes the log grows by over ``--minutes`` minutes and scales them to an hour. The
start-up and the final stats dump are left out: they are written once per run,
whatever its length (their size is printed too).

    python -m bench.log_volume --minutes 5 --interval 10
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: In each block of Scrapy's PeriodicLog (one line with the watch's default): its "delta".
PERIODIC_MARK = '"delta": {'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=2.0, help="the watch's interval (s)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "watch.log"
        command = [
            sys.executable, "-m", "scrapy", "crawl", "kwiff_watch",
            "-s", "KWIFF_ENDPOINT=simulator", "-a", f"interval={options.interval:g}",
            "-s", "LOG_LEVEL=INFO", "-s", f"LOG_FILE={log}", "-O", str(Path(folder) / "c.jsonl"),
        ]  # fmt: skip
        print("$", " ".join(command[1:]))
        process = subprocess.Popen(command, cwd=ROOT)
        try:
            deadline = time.monotonic() + 180
            while _text(log).count(PERIODIC_MARK) < 2:
                if time.monotonic() > deadline or process.poll() is not None:
                    sys.exit("the watch logged no periodic stats within 3 minutes")
                time.sleep(0.5)
            start_size, started = log.stat().st_size, time.monotonic()
            time.sleep(options.minutes * 60)
            end_size, seconds = log.stat().st_size, time.monotonic() - started
            text = _text(log)
        finally:
            process.terminate()
            process.wait(timeout=60)
        total = log.stat().st_size
    steady = end_size - start_size
    per_hour = steady * 3600 / seconds
    blocks = text[start_size:end_size].count(PERIODIC_MARK)
    print(f"start-up (to the second periodic stats): {start_size:,} bytes")
    print(f"steady: {steady:,} bytes in {seconds:.0f} s ({blocks} periodic stats blocks)")
    print(f"shut-down (Ctrl-C, final stats dump): {total - end_size:,} bytes")
    per_day = per_hour * 24 / 1024**2
    print(f"=> {per_hour / 1024:.1f} KiB per hour at INFO ({per_day:.2f} MiB a day)")
    lines = text[start_size:end_size].splitlines()
    others = [line for line in lines if "] INFO: " in line or "] WARNING: " in line]
    print("log lines of the steady part, by logger:")
    counts: dict[str, int] = {}
    for line in others:
        logger = line.split(" [", 1)[1].split("]", 1)[0]
        counts[logger] = counts.get(logger, 0) + 1
    for logger, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"  {count:5d}  {logger}")


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


if __name__ == "__main__":
    main()
