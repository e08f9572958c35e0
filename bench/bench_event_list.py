"""(c) The 111-event ``event:list`` round trip (a >1 MiB frame) turned into items, vs bare.

Run: ``python -m bench.bench_event_list`` (``--quick`` for a smoke run).

The session path does what the handler and the football spider do: the command
over :class:`KwiffSession`, :meth:`KwiffResponse.from_ack`, then ``parse_answer``
and ``parse_events`` into :class:`KwiffEvent` items. The baseline is a bare
``websockets`` client's round trip plus ``json.loads`` of the ack. Time is the
median ms per round trip; memory is the tracemalloc peak above the level before
the round trip (a separate pass, since tracing slows everything down).
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

from kwiff_scrapy.connection.session import KwiffSession, SessionOptions
from kwiff_scrapy.integration.answer import parse_answer
from kwiff_scrapy.integration.http import KwiffRequest, KwiffResponse
from kwiff_scrapy.model.items import KwiffEvent
from kwiff_scrapy.model.parsing import parse_events

from ._common import (
    EVENT_LIST_PAYLOAD,
    BareClient,
    Sample,
    base_parser,
    measure_interleaved,
    print_header,
    print_table,
    running_simulator,
)

EXPECTED_EVENTS = 111
SESSION_ITEMS = "KwiffSession + from_ack + parse_events"
SESSION_ONLY = "KwiffSession round trip only"
BARE = "bare websockets + json.loads"
FLOOR = "bare websockets, recv only (floor)"

RoundTrip = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Counts:
    repeats: int
    memory_repeats: int


FULL = Counts(repeats=15, memory_repeats=3)
QUICK = Counts(repeats=3, memory_repeats=1)


def session_items(session: KwiffSession) -> RoundTrip:
    """The handler's and the spider's work for one ``event:list``: ack to KwiffEvent items."""
    request = KwiffRequest("event:list", EVENT_LIST_PAYLOAD)

    async def run() -> list[KwiffEvent]:
        ack = await session.command("event:list", EVENT_LIST_PAYLOAD)
        response = KwiffResponse.from_ack(
            request, ack.raw_args, ack.args, protocol="socket.io/eio3"
        )
        answer = parse_answer(response.json())
        skips: Counter[str] = Counter()
        events = parse_events(answer.data, fetched_at=answer.fetched_at, skips=skips)
        _check(len(events), skips)
        return events

    return run


def session_only(session: KwiffSession) -> RoundTrip:
    async def run() -> Any:
        ack = await session.command("event:list", EVENT_LIST_PAYLOAD)
        _check(len(ack.args[0]["data"]["events"]))
        return ack

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
    if count != EXPECTED_EVENTS or skips:
        raise RuntimeError(f"expected {EXPECTED_EVENTS} events, got {count} (skips {skips})")


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
    bare = await BareClient.open(url)
    floor = await BareClient.open(url, decode=False)
    try:
        actions = {
            SESSION_ITEMS: session_items(session),
            SESSION_ONLY: session_only(session),
            BARE: bare_round_trip(bare),
            FLOOR: bare_receive_only(floor),
        }
        samples = await measure_interleaved(actions, ops=1, repeats=counts.repeats, warmup=2)
        peaks = {name: await peak_bytes(a, counts.memory_repeats) for name, a in actions.items()}
    finally:
        await session.close()
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
            peaks[name] / 2**20,
            peaks[name] / bare_peak,
        ]
        for name, sample in samples.items()
    ]
    print_table(
        ["path", "ms/rt (median)", "ms/rt (best)", "time/bare", "peak MiB/rt", "peak/bare"], rows
    )
    print()
    print(
        f"time: median and best of {counts.repeats} interleaved round trips after 2 warm-ups; "
        f"memory: median of {counts.memory_repeats} traced round trips"
    )
    print(
        "peak memory includes the in-process simulator's transient allocations and the frame "
        "itself (the floor row: receive the ack as text, nothing else)"
    )
    items = samples[SESSION_ITEMS]
    print(f"RATIO time session+items/bare: {items.median_ms_per_op / bare_ms:.2f}")
    print(f"RATIO peak memory session+items/bare: {peaks[SESSION_ITEMS] / bare_peak:.2f}")
    above = (peaks[SESSION_ITEMS] - peaks[FLOOR]) / max(bare_peak - peaks[FLOOR], 1)
    print(
        f"RATIO peak memory above the recv-only floor (client-side share), "
        f"session+items/bare: {above:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    args: argparse.Namespace = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    print_header("bench_event_list: 111-event event:list to items vs bare websockets", args)

    async def run() -> tuple[dict[str, Sample], dict[str, int]]:
        async with running_simulator() as simulator:
            return await run_benchmark(simulator.url, counts)

    samples, peaks = asyncio.run(run())
    report(samples, peaks, counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
