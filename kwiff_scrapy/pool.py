"""A fixed number of session slots per endpoint, refilled when a session ends."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable

from .session import KwiffSession

SessionFactory = Callable[[], Awaitable[KwiffSession]]


class SessionPool:
    """Hands out open sessions round-robin over ``size`` slots.

    Each slot holds one connect attempt at a time, shared by every request that
    lands on it while it runs: N concurrent requests on an empty pool open at most
    ``size`` connections, not N. A slot whose session ended, or whose attempt
    failed, connects again on its next use.
    """

    def __init__(self, connect: SessionFactory, size: int = 1) -> None:
        if size < 1:
            raise ValueError(f"a session pool needs at least one slot, not {size}")
        self._connect = connect
        self._slots: list[asyncio.Task[KwiffSession] | None] = [None] * size
        self._turn = itertools.cycle(range(size))
        self._closed = False

    async def acquire(self) -> KwiffSession:
        if self._closed:
            raise RuntimeError("the session pool is closed")
        index = next(self._turn)
        attempt = self._slots[index]
        if attempt is None or _is_spent(attempt):
            attempt = asyncio.create_task(self._connect(), name=f"kwiff-connect-{index}")
            self._slots[index] = attempt
        # Shielded: a request that times out must not cancel the attempt others wait on.
        return await asyncio.shield(attempt)

    @property
    def open_sessions(self) -> list[KwiffSession]:
        return [
            slot.result()
            for slot in self._slots
            if slot is not None and slot.done() and not _is_spent(slot)
        ]

    async def close(self) -> None:
        self._closed = True
        slots, self._slots = self._slots, [None] * len(self._slots)
        for attempt in slots:
            if attempt is None:
                continue
            if not attempt.done():
                attempt.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                session = await attempt
                await session.close()


def _is_spent(attempt: asyncio.Task[KwiffSession]) -> bool:
    """True if the slot needs a new connect: its attempt failed or its session ended."""
    if not attempt.done():
        return False
    if attempt.cancelled() or attempt.exception() is not None:
        return True
    return attempt.result().closed
