"""Helpers of the distributed tests (no tests here): a real Redis, key prefixes, a cuttable link.

Every distributed test talks to a real Redis server (``KWIFF_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/0``) under its own key prefix, deleted afterwards. Where Redis
is not running the tests skip with a message, except in CI (``CI=true``), where an
unreachable Redis is a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .support.crawl_process import HANG_GUARD

REDIS_URL = os.environ.get("KWIFF_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _require_redis_packages() -> None:
    try:
        import redis  # noqa: F401
        import scrapy_redis  # noqa: F401
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"the redis extra is not installed in CI: {exc}")
        pytest.skip(f"the redis extra is not installed ({exc}): pip install -e '.[redis]'")


def redis_client(url: str = REDIS_URL) -> Any:
    """A client that fails at once (no retries), for the tests' own checks."""
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=10, retry=Retry(NoBackoff(), 0)
    )


@pytest.fixture(scope="session")
def redis_server() -> Any:
    """A client of the real Redis server; skip (fail in CI) if there is none."""
    _require_redis_packages()
    from redis.exceptions import RedisError

    client = redis_client()
    try:
        client.ping()
    except RedisError as exc:
        message = f"Redis at {REDIS_URL} is unreachable ({exc})"
        if IN_CI:
            pytest.fail(f"{message}: CI must run Redis for the distributed tests")
        pytest.skip(f"{message}: start redis-server to run the distributed tests")
    return client


@pytest.fixture
def redis_prefix(redis_server: Any) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"kwiff-test:{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(redis_server.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        redis_server.delete(*keys)


def keys_under(server: Any, prefix: str) -> list[str]:
    return sorted(key.decode() for key in server.scan_iter(match=f"{prefix}:*", count=1000))


def distributed_settings(prefix: str, url: str = REDIS_URL, **more: Any) -> dict[str, Any]:
    """Settings of a worker sharing crawls under *prefix*."""
    return {
        "SCHEDULER": "kwiff_scrapy.distributed.Scheduler",
        "REDIS_URL": url,
        "KWIFF_REDIS_KEY": f"{prefix}:%(spider)s",
        **more,
    }


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Return once ``condition()`` holds (checked every 20 ms); fail if it never does."""
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


class CuttableLink:
    """A TCP forwarder to Redis that a test can cut (Redis "lost") and restore.

    It runs in threads of its own: the clients under test call Redis synchronously
    from the event loop, so the forwarder must not need that loop.
    """

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 6379)) -> None:
        self.target = target
        self.port = _free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.connections = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and break the open ones."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._sockets |= {client, server}
                self.connections += 1
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
