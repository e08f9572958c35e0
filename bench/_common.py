"""Shared helpers of the benchmark scripts: timing, a bare WebSocket client, tables.

The benchmarks of the client (``bench_session``, ``bench_event_list``,
``bench_handler``, ``bench_crawl``, ``bench_watch``) run the simulator in its own
process (:func:`simulator_process`), so that their figures are the client's alone;
the clients or crawls being compared run alternately, round by round
(:func:`measure_rounds`), so that drift on a shared machine hits all of them alike,
and the medians and their ratios are printed. ``bench_churn`` still runs the
simulator in the same event loop (:func:`running_simulator`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import scrapy
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from kwiff_scrapy import defaults
from kwiff_scrapy.connection.endpoint import connect_url, handshake_headers
from kwiff_scrapy.protocol import command_envelope
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData, SimulatorConfig

OWN_PROCESS_NOTE = (
    "The simulator runs in its own process: the figures are the client's; the ratios "
    "compare clients measured alternately in the same run."
)
SHARED_CPU_NOTE = (
    "The simulator runs in the same process and event loop as the client: both share one "
    "CPU core, so absolute figures include the simulator's work; compare the ratios."
)

#: The ids ``event:get`` cycles through: every football and basketball event.
_DATA = SimulatedData()
EVENT_IDS: tuple[int, ...] = tuple(e["id"] for sport in (11, 36) for e in _DATA.events(sport))
EVENT_LIST_PAYLOAD: dict[str, Any] = {"listId": "default", "sportId": 11, "country": "GB"}


def _small_payload() -> dict[str, Any]:
    """A bet-builder price of two outcomes of the first football event: a ~175-byte ack."""
    event = _DATA.events(11)[0]
    markets = event["details"]["offers"]
    outcomes = [markets[0]["outcomes"][0]["id"], markets[2]["outcomes"][0]["id"]]
    group = {"source": 1, "outcomeIds": outcomes, "eventId": event["id"]}
    return {"betBuilderOutcomeGroups": [group]}


#: The small command of the benchmarks: one ``ticket:odds:get`` (its ack is ~175 bytes).
SMALL_MESSAGE = "ticket:odds:get"
SMALL_PAYLOAD: dict[str, Any] = _small_payload()

_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


# ----------------------------------------------------------------------------- timing


@dataclass
class Sample:
    """Repeated timings of one measured thing; each repeat does ``ops`` operations."""

    name: str
    ops: int
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    """CPU time of the measuring process per repeat (when measured)."""

    @property
    def median_cpu_us_per_op(self) -> float:
        """The client's CPU microseconds per operation, median over the repeats."""
        return statistics.median(self.cpu_seconds) * 1e6 / self.ops

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median_rate(self) -> float:
        """Operations per second of the median repeat."""
        return self.ops / self.median

    @property
    def best_rate(self) -> float:
        return self.ops / self.best

    @property
    def median_ms_per_op(self) -> float:
        return self.median * 1000 / self.ops

    @property
    def best_ms_per_op(self) -> float:
        return self.best * 1000 / self.ops


async def time_async(action: Callable[[], Awaitable[Any]]) -> float:
    """Seconds taken by one await of ``action()`` (perf_counter)."""
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def measure_interleaved(
    actions: dict[str, Callable[[], Awaitable[Any]]], ops: int, repeats: int, warmup: int = 1
) -> dict[str, Sample]:
    """Time each action ``repeats`` times, interleaved (A B A B ...) so drift hits all alike.

    Each action runs ``warmup`` times first, unmeasured.
    """
    for _ in range(warmup):
        for action in actions.values():
            await action()
    samples = {name: Sample(name, ops) for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            samples[name].seconds.append(await time_async(action))
    return samples


#: A measured action: returns its own ``(wall, cpu)`` seconds (timed elsewhere, e.g.
#: in a worker process) or None to be timed here.
Action = Callable[[], Awaitable[tuple[float, float] | None]]


async def measure_rounds(
    actions: dict[str, Action], ops: int, repeats: int, warmup: int = 1
) -> dict[str, Sample]:
    """Like :func:`measure_interleaved`, with CPU time, for actions that may time themselves.

    Round by round, each action runs once in turn (A B C A B C ...). Wall time
    (``perf_counter``) and this process's CPU time (``process_time``) are taken
    around the await; an action that returns ``(wall, cpu)`` reports its own (a
    worker process times its job itself, leaving out the pipe). With the server in
    another process, CPU time per operation is the client's cost alone, whatever
    the server's speed; wall time is what a caller waits.
    """
    for _ in range(warmup):
        for action in actions.values():
            await action()
    samples = {name: Sample(name, ops) for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            reported = await action()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            if reported is not None:
                wall, cpu = reported
            samples[name].seconds.append(wall)
            samples[name].cpu_seconds.append(cpu)
    return samples


def ratio_line(label: str, value: float, goal: str = "") -> str:
    """``RATIO label: 0.97 (goal >= 0.95)``: one line that scripts and people can read."""
    return f"RATIO {label}: {value:.2f}" + (f" (goal {goal})" if goal else "")


# ------------------------------------------------------------------------------ output


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain, aligned text table; numbers are right-aligned."""
    cells = [[str(h) for h in headers], *([_cell(v) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_is_number(row[i]) for row in rows) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        columns = zip(row, widths, numeric, strict=True)
        parts = (c.rjust(w) if num else c.ljust(w) for c, w, num in columns)
        return "  ".join(parts).rstrip()

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def print_header(title: str, args: argparse.Namespace, note: str = SHARED_CPU_NOTE) -> None:
    """Title, the exact command line, versions and a note (by default the shared-CPU caveat)."""
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", *_module_argv()])
    print(f"== {title} ==")
    print(f"command : {command}")
    print(f"mode    : {'quick (smoke run, small counts)' if args.quick else 'full'}")
    print(
        f"python {platform.python_version()}, scrapy {scrapy.__version__}, "
        f"websockets {websockets.__version__}, {os.cpu_count()} CPUs, {platform.machine()}"
    )
    print(f"note    : {note}")
    print()


def _module_argv() -> list[str]:
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    name = spec.name if spec is not None else sys.argv[0]
    return [name, *sys.argv[1:]]


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="a fast smoke run with small counts (a few seconds)"
    )
    return parser


# --------------------------------------------------------------------------- simulator


@contextlib.asynccontextmanager
async def running_simulator(**fields: Any) -> AsyncIterator[KwiffSimulator]:
    """The simulator on 127.0.0.1 (a free port), in this event loop."""
    simulator = KwiffSimulator(
        SimulatorConfig.from_options({"host": "127.0.0.1", "port": 0, **fields})
    )
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.close()


# -------------------------------------------------------------------------- bare client


def command_frame(ack_id: int, message: str, payload: Any) -> str:
    """``42<id>["command",{...}]`` with the same envelope the session sends."""
    envelope = command_envelope(
        message,
        payload,
        timestamp_ms=time.time_ns() // 1_000_000,
        user_agent=defaults.USER_AGENT,
        webapp_version=defaults.WEBAPP_VERSION,
    )
    return f'42{ack_id}["command",{_compact(envelope)}]'


def ack_id_and_payload(frame: str | bytes) -> tuple[int, str] | None:
    """``(id, "[...]")`` for an ack frame ``43<id>[...]``, else None."""
    if not isinstance(frame, str) or not frame.startswith("43"):
        return None
    end = 2
    while end < len(frame) and frame[end].isdigit():
        end += 1
    return int(frame[2:end]), frame[end:]


#: Seconds :meth:`BareClient.round_trip_concurrent` waits for an answer.
ACK_TIMEOUT = 180.0


class BareClient:
    """A minimal Kwiff client straight on ``websockets``: the baseline to compare with.

    Same handshake (URL, headers, deflate) as
    :class:`~kwiff_scrapy.connection.session.KwiffSession`, no codec, no pool, no stats.
    Sequential use: :meth:`round_trip`. Many in flight: :meth:`start_reader` then
    :meth:`round_trip_concurrent`. Like any EIO 3 client it pings every ``pingInterval``
    (pongs are skipped as any other frame): the server closes a connection that does
    not, and a benchmark may leave one client idle for longer than that.
    """

    def __init__(self, ws: ClientConnection, *, decode: bool = True, ping_interval: float) -> None:
        self.ws = ws
        self.decode = decode
        self._ids = itertools.count()
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._heartbeat = asyncio.create_task(self._ping(ping_interval), name="bare-heartbeat")

    @classmethod
    async def open(cls, url: str, *, decode: bool = True) -> BareClient:
        identifier = str(uuid.uuid4())
        ws = await connect(
            connect_url(url, identifier),
            additional_headers=handshake_headers(identifier),
            user_agent_header=defaults.USER_AGENT,
            origin=Origin(defaults.ORIGIN),
            compression="deflate",
            max_size=2**30,
            ping_interval=None,
            ping_timeout=None,
        )
        ping_interval = None
        async with asyncio.timeout(10):
            while (frame := await ws.recv()) != "40":  # open packet, "response" event, 40
                if isinstance(frame, str) and frame.startswith("0{"):
                    ping_interval = json.loads(frame[1:])["pingInterval"] / 1000
        if ping_interval is None:
            raise RuntimeError("no open packet before '40'")
        return cls(ws, decode=decode, ping_interval=ping_interval)

    async def _ping(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.ws.send("2")

    def _result(self, payload: str) -> Any:
        return json.loads(payload) if self.decode else payload

    async def round_trip(self, message: str, payload: Any) -> Any:
        """Send one command and read frames until its ack (no reader task)."""
        ack_id = next(self._ids)
        await self.ws.send(command_frame(ack_id, message, payload))
        async with asyncio.timeout(30):
            while True:
                ack = ack_id_and_payload(await self.ws.recv())
                if ack is not None and ack[0] == ack_id:
                    return self._result(ack[1])

    def start_reader(self) -> None:
        self._reader = asyncio.create_task(self._read(), name="bare-reader")

    async def _read(self) -> None:
        async for frame in self.ws:
            ack = ack_id_and_payload(frame)
            if ack is None:  # not an ack
                continue
            future = self._waiting.pop(ack[0], None)
            if future is not None and not future.done():  # done: timed out, given up on
                future.set_result(self._result(ack[1]))

    async def round_trip_concurrent(self, message: str, payload: Any) -> Any:
        """Send one command; the reader task resolves its future."""
        ack_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[ack_id] = future
        await self.ws.send(command_frame(ack_id, message, payload))
        # Long enough for a 50 MB event:list (5,000 events) on a loaded machine.
        async with asyncio.timeout(ACK_TIMEOUT):
            return await future

    async def close(self) -> None:
        self._heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await self._heartbeat
        await self.ws.close()
        if self._reader is not None:
            await self._reader


@contextlib.contextmanager
def simulator_process(*options: str) -> Iterator[str]:
    """``python -m kwiff_scrapy.simulator --port 0 *options`` in its own process; its URL.

    With the server in another process, a benchmark's figures are the client's alone.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "kwiff_scrapy.simulator", "--port", "0", *options],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        prefix = "Kwiff simulator listening on "
        if not line.startswith(prefix):
            raise RuntimeError(f"the simulator did not start: {line!r}")
        yield line[len(prefix) :].strip()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
