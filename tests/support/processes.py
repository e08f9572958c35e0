"""Servers in their own processes, as deployments run them: the simulator, a free port."""

from __future__ import annotations

import contextlib
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from .crawl_process import PROJECT_ROOT
from .waiting import HANG_GUARD

LISTENING = "Kwiff simulator listening on "


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a server that cannot bind port 0 itself."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that refuses connections for as long as the block runs:
    bound and never listening, so no other process can take it meanwhile (as it could a
    port found free and let go)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])


@contextlib.contextmanager
def simulator_process(log: Path, *options: str) -> Iterator[str]:
    """``python -m kwiff_scrapy.simulator --port 0 OPTIONS`` in its own process, its stderr
    in *log*: its URL. Stopped with SIGTERM (killed if it does not stop) on exit."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "kwiff_scrapy.simulator", "--port", "0", *options],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], HANG_GUARD)
        assert ready, f"the simulator never said where it listens within {HANG_GUARD} s"
        line = process.stdout.readline()
        assert line.startswith(LISTENING), (line, log.read_text(errors="replace")[-2000:])
        yield line[len(LISTENING) :].strip()
    finally:
        stop(process)


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> int:
    """SIGTERM *process*, kill it if it is still running 10 s later: its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
    return process.returncode
