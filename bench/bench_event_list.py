"""(c) The 111-event ``event:list`` round trip (a ~1.2 MB frame) turned into items, vs bare.

Run: ``python -m bench.bench_event_list`` (``--quick`` for a smoke run).

The simulator runs in its own process. The session path does what the handler and
the football spider do: the command over :class:`KwiffSession`,
:meth:`KwiffResponse.from_ack`, then ``read_event_list`` (msgspec, straight from
the answer's bytes; ``parse_answer`` and ``parse_events`` if it declines) into
:class:`KwiffEvent` items; ``KwiffClient.get_football_events`` is the same through
the public asyncio API. The baseline is a bare ``websockets`` client's round trip
plus ``json.loads`` of the ack (what a hand-written client pays to have the answer
as Python objects, without turning it into items); the floor is the same round trip
keeping the ack as text. The paths take turns, round by round. Time is the median
ms per round trip; memory is the tracemalloc peak above the level before the round
trip (a separate pass, since tracing slows everything down).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tracemalloc
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kwiff_scrapy.client import KwiffClient
from kwiff_scrapy.connection.session import KwiffSession, SessionOptions
from kwiff_scrapy.integration.http import KwiffRequest, KwiffResponse
from kwiff_scrapy.model.items import KwiffEvent
from kwiff_scrapy.spiders.base import listed_events

from ._common import (
    EVENT_LIST_PAYLOAD,
    OWN_PROCESS_NOTE,
    BareClient,
    Sample,
    base_parser,
    measure_rounds,
    print_header,
    print_table,
    ratio_line,
    simulator_process,
)

try:
    from kwiff_scrapy.protocol.jsondecode import DECODER
except ImportError:  # an older kwiff_scrapy, measured for comparison
    DECODER = "json (standard library)"

SESSION_ITEMS = "KwiffSession + from_ack + parse_events"
CLIENT_ITEMS = "KwiffClient.get_football_events"
SESSION_ONLY = "KwiffSession round trip only"
BARE = "bare websockets + json.loads"
FLOOR = "bare websockets, recv only (floor)"
GOAL = 1.0

RoundTrip = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Counts:
    repeats: int
    memory_repeats: int


FULL = Counts(repeats=21, memory_repeats=3)
QUICK = Counts(repeats=3, memory_repeats=1)


def session_items(session: KwiffSession) -> RoundTrip:
    """The handler's and the spider's work for one ``event:list``: ack to KwiffEvent items."""
    request = KwiffRequest("event:list", EVENT_LIST_PAYLOAD)

    async def run() -> list[KwiffEvent]:
        ack = await session.command("event:list", EVENT_LIST_PAYLOAD)
        response = KwiffResponse.from_ack(
            request, ack.body, ack.args_if_decoded, protocol="socket.io/eio3"
        )
        listed = listed_events(response)  # what the event-list spiders do
        _check(len(listed.events), listed.skips)
        return listed.events

    return run


def session_only(session: KwiffSession) -> RoundTrip:
    async def run() -> Any:
        ack = await session.command("event:list", EVENT_LIST_PAYLOAD)
        _check(len(ack.args[0]["data"]["events"]))
        return ack

    return run


def client_items(client: KwiffClient) -> RoundTrip:
    async def run() -> list[KwiffEvent]:
        events = await client.get_football_events()
        _check(len(events))
        return events

    return run


def bare_round_trip(bare: BareClient) -> RoundTrip:
    async def run() -> Any:
        args = await bare.round_trip("event:list", EVENT_LIST_PAYLOAD)
        _check(len(args[0]["data"]["events"]))
        return args

    return run


def bare_receive_only(bare: BareClient) -> RoundTrip:
    """The same round trip, keeping the ack as text: what every client pays at least."""

    async def run() -> Any:
        return await bare.round_trip("event:list", EVENT_LIST_PAYLOAD)

    return run


def _check(count: int, skips: Counter[str] | None = None) -> None:
    if count < 100 or skips:  # the simulator's football list: about 111 events
        raise RuntimeError(f"expected the whole event list, got {count} events (skips {skips})")


async def peak_bytes(action: RoundTrip, repeats: int) -> int:
    """Median tracemalloc peak (bytes above the starting level) of one round trip."""
    peaks = []
    for _ in range(repeats):
        gc.collect()
        tracemalloc.start()
        try:
            start, _ = tracemalloc.get_traced_memory()
            result = await action()
            _, peak = tracemalloc.get_traced_memory()
            del result
        finally:
            tracemalloc.stop()
        peaks.append(peak - start)
    return int(statistics.median(peaks))


async def run_benchmark(url: str, counts: Counts) -> tuple[dict[str, Sample], dict[str, int]]:
    session = await KwiffSession.open(SessionOptions(endpoint=url))
    client = KwiffClient(url, trust_env=False)
    await client.connect()
    bare = await BareClient.open(url)
    floor = await BareClient.open(url, decode=False)
    try:
        actions = {
            SESSION_ITEMS: session_items(session),
            CLIENT_ITEMS: client_items(client),
            SESSION_ONLY: session_only(session),
            BARE: bare_round_trip(bare),
            FLOOR: bare_receive_only(floor),
        }

        def timed(action: RoundTrip) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                await action()

            return run

        samples = await measure_rounds(
            {name: timed(action) for name, action in actions.items()},
            ops=1,
            repeats=counts.repeats,
            warmup=2,
        )
        peaks = {name: await peak_bytes(a, counts.memory_repeats) for name, a in actions.items()}
    finally:
        await session.close()
        await client.close()
        await bare.close()
        await floor.close()
    return samples, peaks


def report(samples: dict[str, Sample], peaks: dict[str, int], counts: Counts) -> None:
    bare_ms = samples[BARE].median_ms_per_op
    bare_peak = peaks[BARE]
    rows = [
        [
            name,
            sample.median_ms_per_op,
            sample.best_ms_per_op,
            sample.median_ms_per_op / bare_ms,
            sample.median_cpu_us_per_op / 1000,
            peaks[name] / 2**20,
            peaks[name] / bare_peak,
        ]
        for name, sample in samples.items()
    ]
    print_table(
        ["path", "ms/rt (median)", "ms/rt (best)", "time/bare", "CPU ms/rt", "peak MiB/rt",
         "peak/bare"],
        rows,
    )  # fmt: skip
    print()
    print(
        f"time: median and best of {counts.repeats} rounds (the paths in turn) after 2 "
        f"warm-ups; memory: median of {counts.memory_repeats} traced round trips; codec JSON "
        f"decoder: {DECODER}"
    )
    for name in (SESSION_ITEMS, CLIENT_ITEMS):
        ratio = samples[name].median_ms_per_op / bare_ms
        print(ratio_line(f"time {name} / bare rt + json.loads", ratio, f"<= {GOAL}"))
    print(ratio_line("peak memory session+items/bare", peaks[SESSION_ITEMS] / bare_peak))


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    args: argparse.Namespace = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    print_header(
        "bench_event_list: 111-event event:list to items vs bare websockets", args, OWN_PROCESS_NOTE
    )
    with simulator_process() as url:
        samples, peaks = asyncio.run(run_benchmark(url, counts))
    report(samples, peaks, counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
