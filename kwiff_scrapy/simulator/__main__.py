"""Run the Kwiff simulator alone: ``python -m kwiff_scrapy.simulator --port 8765``.

Once bound it prints exactly one line, ``Kwiff simulator listening on ws://HOST:PORT/socket.io/``,
and serves until Ctrl-C or SIGTERM. With ``--port 0`` the line shows the port picked.
SIGUSR1 drops every open connection (their TCP connections aborted, no close frame), as a
network failure would; the server goes on accepting new ones.

Its data moves (``moving=True``; ``--still``: it does not, every answer is the first
one, as a :class:`SimulatorConfig` built elsewhere behaves by default) on a clock that
runs in real time (``--speed X``: X times as fast; ``--per-serve``: no clock, each event
moves one step each time it is served).
``--change-log FILE`` appends each change the data makes to FILE as one JSON object per
line (the keys of :data:`~kwiff_scrapy.simulator.moves.CHANGE_FIELDS`), written and
flushed before the answer that first shows it is sent; ``--serve-log FILE`` does the
same for what each answer showed (:data:`~kwiff_scrapy.simulator.moves.SERVE_FIELDS`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from .. import defaults
from .config import ANSWER_FAULT_KINDS, Faults, SimulatorConfig
from .server import KwiffSimulator

_DEFAULTS = SimulatorConfig()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kwiff_scrapy.simulator",
        description="A deterministic impostor of Kwiff's Socket.IO (EIO=3) WebSocket API.",
    )
    add = parser.add_argument
    add("--host", default=_DEFAULTS.host, help="interface to bind (default %(default)s)")
    add("--port", type=int, default=8765, help="TCP port, 0 for any free one (default %(default)s)")
    add("--seed", type=int, default=_DEFAULTS.seed, help="data seed (default %(default)s)")
    add("--football-events", type=int, default=_DEFAULTS.football_events, metavar="N")
    add("--ping-interval", type=int, default=_DEFAULTS.ping_interval_ms, metavar="MS")
    add("--ping-timeout", type=int, default=_DEFAULTS.ping_timeout_ms, metavar="MS")
    add("--no-heartbeat-check", action="store_true", help="keep connections that never ping")
    add("--delay", type=float, default=_DEFAULTS.response_delay, metavar="S",
        help="seconds before each answer, on every connection (not a fault)")  # fmt: skip
    add("--silent", action="store_true", help="accept commands but never answer them")
    add("--drop-after", type=int, metavar="N", help="abort the TCP connection at command N")
    add("--garbage", action="store_true", help="send a malformed frame before each answer")
    add("--no-pongs", action="store_true", help="do not answer the client's pings")
    add("--stop-pongs-after", type=int, metavar="N", help="answer only the first N pings")
    add("--error-packet-after", type=int, metavar="N",
        help='at command N send 44"Not authorized", then answer nothing')  # fmt: skip
    add("--close-packet-after", type=int, metavar="N",
        help="at command N send the close packet 1, then close (1000)")  # fmt: skip
    add("--binary-frame", action="store_true", help="send a binary frame before each answer")
    add("--unknown-packet", action="store_true",
        help="send '9hello' and a binary Socket.IO event before each answer")  # fmt: skip
    add("--unknown-ack", action="store_true",
        help="send an ack for an unused id before each answer")  # fmt: skip
    add("--duplicate-ack", action="store_true", help="send each answer twice")
    add("--faulty-connections", type=int, metavar="N",
        help="faults apply to the first N connections only (default: all)")  # fmt: skip
    add("--no-header-check", action="store_true", help="accept handshakes without browser headers")
    add("--refuse", type=int, metavar="STATUS", help="refuse every handshake with this status")
    add("--connect-first", action="store_true", help="send 40 before the 'response' event")
    add("--max-size", type=int, default=_DEFAULTS.max_size, metavar="BYTES",
        help="largest client frame accepted, 0 for no limit (default %(default)s)")  # fmt: skip
    add("--answer-fault", action="append", default=[], type=_answer_fault, metavar="N=KIND",
        help="answer command N of each connection wrongly: KIND is "
        f"{', '.join(ANSWER_FAULT_KINDS)} (repeatable)")  # fmt: skip
    add("--still", action="store_true",
        help="the data does not move: every answer is the first one")  # fmt: skip
    add("--speed", type=float, default=defaults.SIMULATOR_SPEED, metavar="X",
        help="the market's clock runs X times real time (default %(default)s)")  # fmt: skip
    add("--per-serve", action="store_true",
        help="no clock: each event moves one step each time it is served")  # fmt: skip
    add("--scenarios", action="store_true",
        help="scripted scenarios (a slide, a steam, a margin widening, suspensions) on four "
        "football events and quiet noise elsewhere; implies --per-serve")  # fmt: skip
    add("--today", type=_date, metavar="YYYY-MM-DD",
        help="the day the start dates are upcoming from (default: today, UTC)")  # fmt: skip
    add("--max-log-entries", type=int, default=_DEFAULTS.max_log_entries, metavar="N",
        help="changes and serves kept in memory, each (default %(default)s)")  # fmt: skip
    add("--change-log", type=Path, metavar="FILE",
        help="append each change of the data to FILE, one JSON object per line")  # fmt: skip
    add("--serve-log", type=Path, metavar="FILE",
        help="append what each answer showed to FILE, one JSON object per line")  # fmt: skip
    add("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    return parser


def _answer_fault(text: str) -> tuple[int, str]:
    number, separator, kind = text.partition("=")
    if not (separator and number.strip().isdigit() and int(number) >= 1):
        raise argparse.ArgumentTypeError(
            f"expected N=KIND with N a command number from 1, not {text!r}"
        )
    if kind not in ANSWER_FAULT_KINDS:
        raise argparse.ArgumentTypeError(
            f"KIND must be one of {', '.join(ANSWER_FAULT_KINDS)}, not {kind!r}"
        )
    return int(number), kind


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, not {text!r}") from None


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    faults = Faults(
        silent=args.silent,
        drop_after=args.drop_after,
        garbage_frame=args.garbage,
        answer_pings=not args.no_pongs,
        stop_pongs_after=args.stop_pongs_after,
        error_packet_after=args.error_packet_after,
        close_packet_after=args.close_packet_after,
        binary_frame=args.binary_frame,
        unknown_packet=args.unknown_packet,
        unknown_ack=args.unknown_ack,
        duplicate_ack=args.duplicate_ack,
        refuse_status=args.refuse,
        answer_faults=dict(args.answer_fault),
    )
    return SimulatorConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        football_events=args.football_events,
        ping_interval_ms=args.ping_interval,
        ping_timeout_ms=args.ping_timeout,
        enforce_heartbeat=not args.no_heartbeat_check,
        response_delay=args.delay,
        faults=faults,
        faulty_connections=args.faulty_connections,
        require_browser_headers=not args.no_header_check,
        event_before_connect=not args.connect_first,
        max_size=args.max_size or None,
        moving=not args.still,
        speed=None if args.per_serve or args.still or args.scenarios else args.speed,
        scenarios=args.scenarios,
        today=args.today,
        max_log_entries=args.max_log_entries,
    )


@contextlib.contextmanager
def _json_lines(path: Path | None) -> Iterator[Any]:
    """A listener appending entries to *path* as JSON lines, flushed; None without a path."""
    if path is None:
        yield None
        return
    file: IO[str]
    with path.open("a", encoding="utf-8") as file:

        def write(entries: list[dict[str, Any]]) -> None:
            file.writelines(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries)
            file.flush()

        yield write


async def serve_until_stopped(
    config: SimulatorConfig, *, change_log: Path | None = None, serve_log: Path | None = None
) -> None:
    """Serve until SIGINT or SIGTERM, then close everything; drop every connection on
    SIGUSR1."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Unsupported on Windows, where Ctrl-C still raises KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    simulator = KwiffSimulator(config)
    if hasattr(signal, "SIGUSR1"):  # not on Windows
        loop.add_signal_handler(signal.SIGUSR1, simulator.drop_connections)
    with _json_lines(change_log) as changes, _json_lines(serve_log) as serves:
        if changes is not None:
            simulator.add_change_listener(changes)
        if serves is not None:
            simulator.add_serve_listener(serves)
        async with simulator:
            print(f"Kwiff simulator listening on {simulator.url}", flush=True)
            await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(
            serve_until_stopped(config, change_log=args.change_log, serve_log=args.serve_log)
        )
    except KeyboardInterrupt:  # where signal handlers are unavailable
        pass
    except OSError as exc:  # the port is taken, the host is not local, a log file...
        if exc.filename is not None:
            print(f"Kwiff simulator cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        else:
            print(
                f"Kwiff simulator cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
