"""Helpers of the distributed tests (no tests here): a real Redis, key prefixes, a cuttable link.

Every distributed test talks to a real Redis server (``KWIFF_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/0``) under its own key prefix, deleted afterwards. Where Redis
is not running the tests skip with a message, except in CI (``CI=true``), where an
unreachable Redis is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from itemadapter import ItemAdapter
from scrapy.extensions.feedexport import FileFeedStorage

from .crawl_process import HANG_GUARD, PROJECT_ROOT, crawl_environment
from .extras import require, unavailable

REDIS_URL = os.environ.get("KWIFF_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _require_redis_packages() -> None:
    require("redis", "redis", "the distributed tests")
    require("scrapy_redis", "redis", "the distributed tests")


def redis_client(url: str = REDIS_URL) -> Any:
    """A client that fails at once (no retries), for the tests' own checks."""
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=10, retry=Retry(NoBackoff(), 0)
    )


@pytest.fixture(scope="session")
def redis_packages() -> None:
    """The redis extra is installed (skip where it is not; fail in CI)."""
    _require_redis_packages()


@pytest.fixture(scope="session")
def redis_server() -> Any:
    """A client of the real Redis server; skip (fail in CI) if there is none."""
    _require_redis_packages()
    from redis.exceptions import RedisError

    client = redis_client()
    try:
        client.ping()
    except RedisError as exc:
        unavailable(
            f"Redis at {REDIS_URL} is unreachable ({exc}): "
            "start redis-server to run the distributed tests"
        )
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
    """A TCP forwarder to Redis that a test can cut (Redis "lost") and restore, or make
    silent (:meth:`swallow`: connections accepted, nothing answered).

    It runs in threads of its own, so that it never depends on the event loop under test.
    """

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 6379)) -> None:
        self.target = target
        self.port = _free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.connections = 0
        self.swallowing = threading.Event()
        self.swallowed = 0
        """Chunks of bytes the link swallowed."""
        self._reply_marker: bytes | None = None
        self._drop_next_reply = threading.Event()
        self.replies_dropped = 0
        """Replies dropped by :meth:`drop_reply_after`."""

    def drop_reply_after(self, marker: bytes) -> None:
        """Pass the next request whose bytes hold *marker* to Redis, then drop Redis's
        next reply: the request is carried out and its client never hears of it (a reply
        lost as in a restart or a cut connection)."""
        self._reply_marker = marker

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

    def swallow(self) -> None:
        """From now on, accept connections and pass nothing either way: a Redis that hangs.
        :meth:`down` ends it (the clients waiting then see their connection lost)."""
        self.swallowing.set()

    def down(self) -> None:
        """Refuse new connections and break the open ones."""
        self.swallowing.clear()
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
            for source, sink, replies in ((client, server, False), (server, client, True)):
                threading.Thread(
                    target=_pump, args=(source, sink, self, replies), daemon=True
                ).start()


def _pump(source: socket.socket, sink: socket.socket, link: CuttableLink, replies: bool) -> None:
    try:
        while data := source.recv(65536):
            if link.swallowing.is_set():
                with link._lock:
                    link.swallowed += 1
                continue
            if replies and link._drop_next_reply.is_set():
                with link._lock:
                    link._drop_next_reply.clear()
                    link.replies_dropped += 1
                continue
            marker = link._reply_marker
            if not replies and marker is not None and marker in data:
                link._reply_marker = None
                link._drop_next_reply.set()
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


# -- a moving simulator's changes against the changes the watch reported ----------------------


def change_keys_logged(
    log: list[dict[str, Any]], outcomes: dict[tuple[int, int], set[int]], every_market: bool
) -> Counter[tuple[Any, ...]]:
    """The changes of a simulator's change log the watch can see, as comparable keys.

    ``event:list`` shows some markets, ``event:get`` (*every_market*) all of them. A
    market's own suspension or resumption is one entry, and one change per outcome of
    the market for the watch: *outcomes* maps (event, market) to its outcomes' ids.
    """
    keys: Counter[tuple[Any, ...]] = Counter()
    for entry in log:
        kind, event_id = entry["kind"], entry["event_id"]
        if kind in ("event_new", "event_removed", "event_status"):
            keys[(kind, event_id)] += 1
        elif not (entry["listed"] or every_market):
            continue  # a market event:list does not show
        elif kind == "moved":
            keys[(kind, event_id, entry["outcome_id"], float(entry["odds_after"]))] += 1
        elif entry["outcome_id"] is not None:
            keys[(kind, event_id, entry["outcome_id"])] += 1
        else:
            for outcome_id in outcomes[(event_id, entry["market_id"])]:
                keys[(kind, event_id, outcome_id)] += 1
    return keys


def change_keys_reported(
    items: list[Any], initial_events: set[int]
) -> tuple[Counter[tuple[Any, ...]], dict[tuple[int, int], set[int]]]:
    """The same keys for the items the workers yielded (items or feed records), and the
    outcomes of each market seen (for :func:`change_keys_logged`)."""
    keys: Counter[tuple[Any, ...]] = Counter()
    outcomes: dict[tuple[int, int], set[int]] = defaultdict(set)
    for item in items:
        record = ItemAdapter(item).asdict()
        kind, event_id = record["kind"], record["event_id"]
        if "betting_status" in record:  # an EventChange
            if kind == "status":
                keys[("event_status", event_id)] += 1
            elif kind == "removed":
                keys[("event_removed", event_id)] += 1
            elif event_id not in initial_events:  # the baseline's are not changes
                keys[("event_new", event_id)] += 1
            continue
        outcomes[(event_id, record["market_id"])].add(record["outcome_id"])
        if kind == "moved":
            keys[(kind, event_id, record["outcome_id"], float(record["odds"]))] += 1
        elif kind in ("suspended", "resumed"):
            keys[(kind, event_id, record["outcome_id"])] += 1
    return keys, outcomes


def assert_each_change_reported_once(
    log: list[dict[str, Any]], items: list[Any], initial_events: set[int], every_market: bool
) -> None:
    """Each change the simulator logged was reported once, by one worker, and nothing else."""
    reported, outcomes = change_keys_reported(items, initial_events)
    logged = change_keys_logged(log, outcomes, every_market)
    assert logged, "the simulator changed nothing: the test proves nothing"
    assert reported == logged, (
        f"missing: {dict(logged - reported)}; reported twice or wrongly: {dict(reported - logged)}"
    )


# -- processes -------------------------------------------------------------------------------


class UnbufferedFileStorage(FileFeedStorage):
    """``unbuffered:///path``: a feed file each item reaches at once (for workers that a
    test SIGKILLs: Scrapy's own file storage buffers, and a kill loses the buffer)."""

    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None) -> None:
        super().__init__(uri.removeprefix("unbuffered://"), feed_options=feed_options)

    def open(self, spider: Any) -> Any:
        return Path(self.path).open(self.write_mode, buffering=0)


def unbuffered_feed(path: Path) -> list[str]:
    """``-s`` arguments that write the crawl's items to *path* as JSON lines, unbuffered."""
    storages = {"unbuffered": f"{__name__}.UnbufferedFileStorage"}
    feeds = {f"unbuffered://{path}": {"format": "jsonlines", "overwrite": True}}
    return ["-s", f"FEED_STORAGES={json.dumps(storages)}", "-s", f"FEEDS={json.dumps(feeds)}"]


def feed_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@contextlib.contextmanager
def simulator_process(log: Path, *options: str) -> Iterator[str]:
    """``python -m kwiff_scrapy.simulator --port 0 OPTIONS``; yields the URL it prints."""
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "kwiff_scrapy.simulator", "--port", "0", *options],
            cwd=PROJECT_ROOT,
            env=crawl_environment("default"),
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            prefix = "Kwiff simulator listening on "
            assert line.startswith(prefix), f"the simulator said {line!r}: see {log}"
            yield line.removeprefix(prefix).strip()
        finally:
            process.terminate()
            process.wait(timeout=HANG_GUARD)
            if process.stdout is not None:
                process.stdout.close()


def stat_in_log(log: Path, key: str) -> int:
    """The value of *key* in the stats a ``scrapy crawl`` log ends with (0 if absent)."""
    found = re.findall(
        rf"'{re.escape(key)}': (\d+)", log.read_text(encoding="utf-8", errors="replace")
    )
    return int(found[-1]) if found else 0
