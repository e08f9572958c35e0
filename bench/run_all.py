"""Run every benchmark in turn, each in its own process: ``python -m bench.run_all [--quick]``."""

from __future__ import annotations

import subprocess
import sys

from ._common import base_parser

MODULES = (
    "bench.bench_session",
    "bench.bench_event_list",
    "bench.bench_handler",
    "bench.bench_crawl",
    "bench.bench_watch",
    "bench.bench_churn",
)


def main(argv: list[str] | None = None) -> int:
    args = base_parser("Run every kwiff_scrapy benchmark in turn.").parse_args(argv)
    extra = ["--quick"] if args.quick else []
    failed = []
    for module in MODULES:
        completed = subprocess.run([sys.executable, "-m", module, *extra], check=False)
        print(flush=True)
        if completed.returncode != 0:
            failed.append(module)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
