"""The session pool: slots, shared connect attempts, backoff, replacement, close."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kwiff_scrapy.connection.errors import ConnectFailed
from kwiff_scrapy.connection.pool import Backoff, SessionPool

from ..support.waiting import guarded


class FakeSession:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class Connector:
    """Counts connects; fails the first ``failures`` of them."""

    def __init__(
        self, failures: int = 0, delay: float = 0.0, gate: asyncio.Event | None = None
    ) -> None:
        self.calls = 0
        self.failures = failures
        self.delay = delay
        self.gate = gate
        self.sessions: list[FakeSession] = []
        self.called = asyncio.Event()

    async def __call__(self) -> Any:
        self.calls += 1
        self.called.set()
        number = self.calls
        await asyncio.sleep(self.delay)
        if self.gate is not None:
            await self.gate.wait()
        if number <= self.failures:
            raise ConnectFailed(f"connect {number} failed")
        session = FakeSession(number)
        self.sessions.append(session)
        return session


def test_backoff_is_exponential_capped_and_jittered() -> None:
    exact = Backoff(base_delay=0.5, max_delay=4.0, jitter=0.0)
    assert [exact.delay(n) for n in range(7)] == [0.0, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    jittered = Backoff(base_delay=0.5, max_delay=4.0, jitter=0.5)
    assert jittered.delay(3, rng=lambda: 0.0) == 2.0
    assert jittered.delay(3, rng=lambda: 1.0) == 1.0
    assert all(1.0 <= jittered.delay(3) <= 2.0 for _ in range(100))
    assert Backoff(base_delay=0.5, max_delay=30.0).delay(10_000) <= 30.0


async def test_a_burst_of_requests_opens_one_connection_per_slot() -> None:
    connector = Connector(delay=0.05)
    pool = SessionPool(connector, size=3)
    sessions = await asyncio.gather(*(pool.acquire() for _ in range(60)))
    assert connector.calls == 3
    assert {s.number for s in sessions} == {1, 2, 3}  # type: ignore[attr-defined]
    await pool.close()


async def test_failed_connects_back_off_then_recover() -> None:
    connector = Connector(failures=2)
    pool = SessionPool(connector, size=1, backoff=Backoff(base_delay=0.05, jitter=0.0))
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(2):
        with pytest.raises(ConnectFailed):
            await pool.acquire()
    session = await pool.acquire()
    elapsed = loop.time() - started
    assert session.number == 3  # type: ignore[attr-defined]
    # The second and third connects waited 0.05 s and 0.1 s: backoff happened.
    assert elapsed >= 0.15
    await pool.close()


async def test_a_closed_session_is_never_handed_out_again() -> None:
    connector = Connector()
    pool = SessionPool(connector, size=1)
    first = await pool.acquire()
    assert await pool.acquire() is first
    first.closed = True  # type: ignore[misc]
    second = await pool.acquire()
    assert second is not first
    assert connector.calls == 2
    assert pool.open_sessions == [second]
    await pool.close()
    assert second.closed


async def test_a_waiter_that_gives_up_does_not_cancel_the_shared_connect() -> None:
    connect = asyncio.Event()
    connector = Connector(gate=connect)
    pool = SessionPool(connector, size=1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await pool.acquire()
    connect.set()
    session = await guarded(pool.acquire(), "the connect")  # the same attempt, completing
    assert connector.calls == 1
    assert session.number == 1  # type: ignore[attr-defined]
    await pool.close()


async def test_close_cancels_pending_connects_and_refuses_new_work() -> None:
    connector = Connector(delay=10)
    pool = SessionPool(connector, size=2)
    waiter = asyncio.create_task(pool.acquire())
    await guarded(connector.called.wait(), "a connect")
    await pool.close()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    with pytest.raises(RuntimeError, match="closed"):
        await pool.acquire()


async def test_open_session_hands_out_open_sessions_in_turn_without_connecting() -> None:
    connector = Connector()
    pool = SessionPool(connector, size=2)
    assert pool.open_session() is None  # nothing open yet, and no connect started
    assert connector.calls == 0
    first, second = await pool.acquire(), await pool.acquire()
    assert [pool.open_session() for _ in range(3)] == [first, second, first]
    assert await pool.acquire() is second  # open_session took the turns it served
    first.closed = True  # type: ignore[attr-defined]
    assert pool.open_session() is None  # the turn is left to acquire(), which reconnects
    replacement = await pool.acquire()
    assert replacement not in (first, second)
    assert connector.calls == 3
    await pool.close()
    assert pool.open_session() is None
