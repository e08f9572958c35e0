"""python-socketio 4.6.1 as a third client: its own virtualenv, a worker process per client.

python-socketio 4.x / python-engineio 3.x are the last generic Python clients of
Engine.IO 3, and they pin old versions (engineio 3 wants aiohttp for websockets):
installing them into the project's environment would fight its dependencies. So
the benchmark makes ``.venv-bench-socketio/`` (gitignored) on first use with
``python -m venv`` and ``pip install python-socketio==4.6.1 python-engineio==3.14.2
aiohttp``, and drives ``bench/_socketio_worker.py`` in that environment over a pipe:
one line per job in, its seconds (timed in the worker) out.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from kwiff_scrapy import defaults
from kwiff_scrapy.connection.endpoint import handshake_headers

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-bench-socketio"
REQUIREMENTS = ("python-socketio==4.6.1", "python-engineio==3.14.2", "aiohttp")
WORKER = Path(__file__).resolve().parent / "_socketio_worker.py"
LABEL = "python-socketio 4.6.1"


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> Path | None:
    """The virtualenv's python, made on first use; None (with a note) if it cannot be made."""
    python = venv_python()
    marker = VENV / ".bench-requirements"
    wanted = "\n".join(REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"making {VENV.name}/ for {LABEL} (once) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                *REQUIREMENTS,
            ],
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"note: no {LABEL} column ({exc})", flush=True)
        return None
    marker.write_text(wanted)
    return python


def worker_config(url: str) -> dict[str, Any]:
    """The worker's connection: the session's query, browser headers and envelope fields."""
    parts = urlsplit(url)
    identifier = str(uuid.uuid4())
    query = urlencode(
        {"device": defaults.DEVICE, "version": defaults.CLIENT_VERSION, "identifier": identifier}
    )
    scheme = "https" if parts.scheme == "wss" else "http"
    headers = dict(handshake_headers(identifier))
    headers.update({"User-Agent": defaults.USER_AGENT, "Origin": defaults.ORIGIN})
    return {
        "url": f"{scheme}://{parts.netloc}/?{query}",
        "path": parts.path.strip("/") or "socket.io",
        "headers": headers,
        "user_agent": defaults.USER_AGENT,
        "webapp_version": defaults.WEBAPP_VERSION,
    }


class SocketIOWorker:
    """One python-socketio client in its own process; :meth:`run` returns a job's wall and CPU
    seconds."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    @classmethod
    def start(cls, python: Path, url: str) -> SocketIOWorker:
        process = subprocess.Popen(
            [str(python), str(WORKER), json.dumps(worker_config(url))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        worker = cls(process)
        if worker._line() != "ready":
            worker.close()
            raise RuntimeError(f"{LABEL} did not connect")
        return worker

    def _line(self) -> str:
        assert self._process.stdout is not None
        return self._process.stdout.readline().strip()

    def _job(self, job: dict[str, Any]) -> tuple[float, float]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(job) + "\n")
        self._process.stdin.flush()
        line = self._line()
        if not line:
            raise RuntimeError(f"{LABEL} worker exited ({self._process.wait()})")
        figures = json.loads(line)
        return float(figures["seconds"]), float(figures["cpu"])

    async def run(
        self, op: str, message: str, payload: Any, count: int, in_flight: int = 1
    ) -> tuple[float, float]:
        job = {"op": op, "message": message, "payload": payload, "count": count}
        job["in_flight"] = in_flight
        return await asyncio.to_thread(self._job, job)

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                assert self._process.stdin is not None
                self._process.stdin.write('{"op": "quit"}\n')
                self._process.stdin.close()
                self._process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
