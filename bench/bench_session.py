"""(b) KwiffSession and KwiffClient vs a bare ``websockets`` client and python-socketio.

Run: ``python -m bench.bench_session`` (``--quick`` for a smoke run).

The simulator runs in its own process; every client sends the same small command
(``ticket:odds:get``, a ~175-byte ack) over its own connection, with the same
handshake and permessage-deflate:

- ``KwiffSession``: ``session.command()``, the ack decoded by the codec;
- ``KwiffClient.send_command``: the public asyncio API (timeout, pool, ``Answer``);
- ``bare websockets + json.loads``: a hand-written client on ``websockets`` (the floor);
- ``python-socketio 4.6.1``: ``sio.call("command", envelope)`` in its own virtualenv
  and process (``bench/_socketio.py``), timed in that process.

Sequential = one command at a time; concurrent = gathered batches of ``--in-flight``.
The clients take turns, round by round; the figures are medians of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kwiff_scrapy.client import KwiffClient
from kwiff_scrapy.connection.session import KwiffSession, SessionOptions

try:
    from kwiff_scrapy.protocol.jsondecode import DECODER
except ImportError:  # an older kwiff_scrapy, measured for comparison
    DECODER = "json (standard library)"

from . import _socketio
from ._common import (
    OWN_PROCESS_NOTE,
    SMALL_MESSAGE,
    SMALL_PAYLOAD,
    Action,
    BareClient,
    Sample,
    base_parser,
    measure_rounds,
    print_header,
    print_table,
    ratio_line,
    simulator_process,
)

RoundTrip = Callable[[str, Any], Awaitable[Any]]

SESSION = "KwiffSession"
CLIENT = "KwiffClient.send_command"
BARE = "bare websockets + json.loads"
SOCKETIO = _socketio.LABEL
GOAL_BARE = 0.95
GOAL_SOCKETIO = 1.5


@dataclass(frozen=True)
class Counts:
    sequential: int
    concurrent: int
    in_flight: int
    repeats: int


FULL = Counts(sequential=1000, concurrent=3000, in_flight=100, repeats=7)
QUICK = Counts(sequential=200, concurrent=400, in_flight=100, repeats=2)


def sequential(round_trip: RoundTrip, count: int) -> Callable[[], Awaitable[None]]:
    """``count`` small commands, one at a time."""

    async def run() -> None:
        for _ in range(count):
            await round_trip(SMALL_MESSAGE, SMALL_PAYLOAD)

    return run


def concurrent(round_trip: RoundTrip, count: int, in_flight: int) -> Callable[[], Awaitable[None]]:
    """``count`` small commands in gathered batches of ``in_flight``."""

    async def run() -> None:
        for start in range(0, count, in_flight):
            batch = min(in_flight, count - start)
            await asyncio.gather(*(round_trip(SMALL_MESSAGE, SMALL_PAYLOAD) for _ in range(batch)))

    return run


def worker_action(worker: _socketio.SocketIOWorker, count: int, in_flight: int) -> Action:
    op = "sequential" if in_flight == 1 else "concurrent"

    async def run() -> tuple[float, float]:
        return await worker.run(op, SMALL_MESSAGE, SMALL_PAYLOAD, count, in_flight)

    return run


async def run_benchmark(
    url: str, counts: Counts, worker: _socketio.SocketIOWorker | None
) -> dict[str, dict[str, Sample]]:
    session = await KwiffSession.open(SessionOptions(endpoint=url))
    client = KwiffClient(url, trust_env=False)
    await client.connect()
    bare = await BareClient.open(url)
    bare_many = await BareClient.open(url)
    bare_many.start_reader()

    async def via_session(message: str, payload: Any) -> Any:
        return (await session.command(message, payload)).args

    results: dict[str, dict[str, Sample]] = {}
    try:
        for mode, count, in_flight in (
            ("one at a time", counts.sequential, 1),
            (f"{counts.in_flight} in flight", counts.concurrent, counts.in_flight),
        ):

            def action(round_trip: RoundTrip, count: int = count, n: int = in_flight) -> Action:
                return sequential(round_trip, count) if n == 1 else concurrent(round_trip, count, n)

            actions: dict[str, Action] = {
                SESSION: action(via_session),
                CLIENT: action(client.send_command),
                BARE: action(
                    bare.round_trip if in_flight == 1 else bare_many.round_trip_concurrent
                ),
            }
            if worker is not None:
                actions[SOCKETIO] = worker_action(worker, count, in_flight)
            results[mode] = await measure_rounds(actions, ops=count, repeats=counts.repeats)
    finally:
        await session.close()
        await client.close()
        for bare_client in (bare, bare_many):
            await bare_client.close()
    return results


def report(results: dict[str, dict[str, Sample]], counts: Counts) -> None:
    rows = []
    for mode, samples in results.items():
        bare = samples[BARE]
        socketio = samples.get(SOCKETIO)
        for sample in samples.values():
            rows.append(
                [
                    mode,
                    sample.name,
                    sample.median_rate,
                    sample.median_rate / bare.median_rate,
                    sample.median_cpu_us_per_op,
                    bare.median_cpu_us_per_op / sample.median_cpu_us_per_op,
                    socketio.median_cpu_us_per_op / sample.median_cpu_us_per_op
                    if socketio
                    else "-",
                ]
            )
    print_table(
        ["mode", "client", "rt/s", "rt/s /bare", "CPU us/rt", "bare CPU/this", "socketio CPU/this"],
        rows,
    )
    print()
    print(
        f"medians of {counts.repeats} rounds of {counts.sequential} (one at a time) and "
        f"{counts.concurrent} ({counts.in_flight} in flight) commands, the clients in turn "
        f"after one warm-up each; codec JSON decoder: {DECODER}"
    )
    print(
        "rt/s is what a caller gets (bounded by the server when many are in flight); CPU "
        "us/rt is the client process's own cost, whatever the server's speed: the ratios "
        "below compare it (this client does N times the round trips of the other per CPU "
        "second)"
    )
    for mode, samples in results.items():
        for name in (SESSION, CLIENT):
            ours = samples[name].median_cpu_us_per_op
            bare_ratio = samples[BARE].median_cpu_us_per_op / ours
            print(ratio_line(f"CPU {name} vs bare ({mode})", bare_ratio, f">= {GOAL_BARE}"))
            if SOCKETIO in samples:
                socketio_ratio = samples[SOCKETIO].median_cpu_us_per_op / ours
                print(
                    ratio_line(
                        f"CPU {name} vs socketio ({mode})", socketio_ratio, f">= {GOAL_SOCKETIO}"
                    )
                )


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--no-socketio", action="store_true", help="leave python-socketio out (no virtualenv)"
    )
    args: argparse.Namespace = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    print_header("bench_session: small command round trips, four clients", args, OWN_PROCESS_NOTE)
    python = None if args.no_socketio else _socketio.ensure_venv()
    with simulator_process() as url:
        worker = _socketio.SocketIOWorker.start(python, url) if python else None
        try:
            results = asyncio.run(run_benchmark(url, counts, worker))
        finally:
            if worker is not None:
                worker.close()
    report(results, counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
