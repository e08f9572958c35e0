"""Private Redis and PostgreSQL servers for bench/soak_watch.py, on free ports in temp dirs.

The soak restarts them as faults. The machine's own servers are shared with other work
and are never touched. PostgreSQL's ``initdb`` refuses to run as root: as root, the
server runs as the ``postgres`` user (or ``KWIFF_SOAK_PG_USER``), which owns its folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("KWIFF_SOAK_PG_BIN", "/usr/lib/postgresql/15/bin"))
#: Longest a server may take to start or stop on a loaded machine.
START_GUARD = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, guard: float, what: str) -> None:
    deadline = time.monotonic() + guard
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {guard:g} s")


class PrivateRedis:
    """``redis-server`` with an append-only file (a restart keeps the watch's state, as
    docs/distributed.md asks of a Redis that must survive restarts)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("a shared soak needs redis-server: apt-get install redis-server")
        self.starts += 1
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.folder), "--appendonly", "yes", "--save", "",
            "--daemonize", "no", "--protected-mode", "no",
        ]  # fmt: skip
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, START_GUARD, "the private redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=START_GUARD)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class PrivatePostgres:
    """A PostgreSQL cluster of its own (``initdb``, ``pg_ctl``), database ``soak``."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kwiff-soak-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/soak"
        self.user = self._user()
        self.starts = 0

    @staticmethod
    def _user() -> str | None:
        """Whom to run the server as: ``None`` (this user) unless this is root."""
        if os.geteuid() != 0:
            return None
        name = os.environ.get("KWIFF_SOAK_PG_USER", "postgres")
        try:
            pwd.getpwnam(name)
        except KeyError:
            raise RuntimeError(
                f"initdb refuses root, and there is no user {name!r} to run PostgreSQL as: "
                "create one, or set KWIFF_SOAK_PG_USER"
            ) from None
        return name

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run(
            [*prefix, *command],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=START_GUARD,
        )

    def create(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"no PostgreSQL binaries in {PG_BIN}: set KWIFF_SOAK_PG_BIN")
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync")  # fmt: skip
        self.start()
        import psycopg

        url = self.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE DATABASE soak")

    def start(self) -> None:
        self.starts += 1
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.folder / "postgres.log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: clients' connections cut, as a restart does."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
