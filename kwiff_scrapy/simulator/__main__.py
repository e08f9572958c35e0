"""Run the Kwiff simulator alone: ``python -m kwiff_scrapy.simulator --port 8765``.

Once bound it prints exactly one line, ``Kwiff simulator listening on ws://HOST:PORT/socket.io/``,
and serves until Ctrl-C or SIGTERM. With ``--port 0`` the line shows the port picked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from .server import Faults, KwiffSimulator, SimulatorConfig

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
    add("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    return parser


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
    )


async def serve_until_stopped(config: SimulatorConfig) -> None:
    """Serve until SIGINT or SIGTERM, then close everything."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Unsupported on Windows, where Ctrl-C still raises KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with KwiffSimulator(config) as simulator:
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
        asyncio.run(serve_until_stopped(config))
    except KeyboardInterrupt:  # where signal handlers are unavailable
        pass
    except OSError as exc:  # the port is taken, the host is not local...
        print(f"Kwiff simulator cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
