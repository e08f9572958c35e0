"""(b) KwiffSession alone vs a bare ``websockets`` client: ``event:get`` round trips per second.

Run: ``python -m bench.bench_session`` (``--quick`` for a smoke run).

Both clients talk to the same in-process simulator over loopback, with the same
handshake and ``permessage-deflate``. Sequential = one command at a time;
concurrent = batches of ``--in-flight`` commands awaited with ``asyncio.gather``.
The bare client decodes each ack's JSON (as the session's codec does), so both
hand the caller the same parsed answer; a second bare row without ``json.loads``
shows how much of the cost is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kwiff_scrapy.connection.session import KwiffSession, SessionOptions

from ._common import (
    EVENT_IDS,
    BareClient,
    Sample,
    base_parser,
    measure_interleaved,
    print_header,
    print_table,
    running_simulator,
)

RoundTrip = Callable[[str, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Counts:
    sequential: int
    concurrent: int
    in_flight: int
    repeats: int


FULL = Counts(sequential=1000, concurrent=1500, in_flight=100, repeats=4)
QUICK = Counts(sequential=100, concurrent=200, in_flight=100, repeats=2)


async def session_round_trip(session: KwiffSession, message: str, payload: Any) -> Any:
    return (await session.command(message, payload)).args


def sequential(round_trip: RoundTrip, count: int) -> Callable[[], Awaitable[None]]:
    """``count`` ``event:get`` round trips, one at a time."""

    async def run() -> None:
        for event_id in itertools.islice(itertools.cycle(EVENT_IDS), count):
            await round_trip("event:get", {"eventId": event_id})

    return run


def concurrent(round_trip: RoundTrip, count: int, in_flight: int) -> Callable[[], Awaitable[None]]:
    """``count`` ``event:get`` round trips in gathered batches of ``in_flight``."""

    async def run() -> None:
        ids = list(itertools.islice(itertools.cycle(EVENT_IDS), count))
        for start in range(0, count, in_flight):
            batch = ids[start : start + in_flight]
            await asyncio.gather(*(round_trip("event:get", {"eventId": i}) for i in batch))

    return run


async def run_benchmark(url: str, counts: Counts) -> dict[str, dict[str, Sample]]:
    session = await KwiffSession.open(SessionOptions(endpoint=url))
    bare = await BareClient.open(url)
    bare_raw = await BareClient.open(url, decode=False)
    bare_many = await BareClient.open(url)
    bare_many_raw = await BareClient.open(url, decode=False)
    for client in (bare_many, bare_many_raw):
        client.start_reader()
    try:

        async def via_session(message: str, payload: Any) -> Any:
            return await session_round_trip(session, message, payload)

        seq = await measure_interleaved(
            {
                "KwiffSession": sequential(via_session, counts.sequential),
                "bare websockets + json.loads": sequential(bare.round_trip, counts.sequential),
                "bare websockets, no json.loads": sequential(
                    bare_raw.round_trip, counts.sequential
                ),
            },
            ops=counts.sequential,
            repeats=counts.repeats,
        )
        many = await measure_interleaved(
            {
                "KwiffSession": concurrent(via_session, counts.concurrent, counts.in_flight),
                "bare websockets + json.loads": concurrent(
                    bare_many.round_trip_concurrent, counts.concurrent, counts.in_flight
                ),
                "bare websockets, no json.loads": concurrent(
                    bare_many_raw.round_trip_concurrent, counts.concurrent, counts.in_flight
                ),
            },
            ops=counts.concurrent,
            repeats=counts.repeats,
        )
    finally:
        await session.close()
        for client in (bare, bare_raw, bare_many, bare_many_raw):
            await client.close()
    return {"sequential": seq, f"{counts.in_flight} in flight": many}


def report(results: dict[str, dict[str, Sample]], counts: Counts) -> None:
    rows = []
    ratios = []
    for mode, samples in results.items():
        session = samples["KwiffSession"]
        for sample in samples.values():
            ratio = session.median_rate / sample.median_rate
            rows.append(
                [mode, sample.name, sample.ops, sample.median_rate, sample.best_rate, ratio]
            )
        bare = samples["bare websockets + json.loads"]
        ratios.append((mode, session.median_rate / bare.median_rate))
    print_table(
        ["mode", "client", "round trips", "rt/s (median)", "rt/s (best)", "session/this"],
        rows,
    )
    print()
    print(f"median and best of {counts.repeats} interleaved repeats, after one warm-up each")
    for mode, ratio in ratios:
        print(f"RATIO session/bare ({mode}): {ratio:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    args: argparse.Namespace = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    print_header("bench_session: KwiffSession vs bare websockets, event:get", args)

    async def run() -> dict[str, dict[str, Sample]]:
        async with running_simulator() as simulator:
            return await run_benchmark(simulator.url, counts)

    report(asyncio.run(run()), counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
