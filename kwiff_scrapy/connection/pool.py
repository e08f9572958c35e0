"""A fixed number of session slots per endpoint, refilled when a session ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .. import defaults
from .errors import KwiffError
from .session import KwiffSession

logger = logging.getLogger(__name__)

SessionFactory = Callable[[], Awaitable[KwiffSession]]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reconnecting after consecutive failed connects: exponential, capped, jittered.

    The n-th consecutive failure waits ``min(max_delay, base_delay * 2**(n-1))``
    scaled by a random factor in ``[1 - jitter, 1]``, so that many clients that
    failed together do not come back together.
    """

    base_delay: float = defaults.RECONNECT_DELAY
    max_delay: float = defaults.RECONNECT_MAX_DELAY
    jitter: float = defaults.RECONNECT_JITTER

    def delay(self, failures: int, rng: Callable[[], float] = random.random) -> float:
        if failures <= 0 or self.base_delay <= 0:
            return 0.0
        ceiling = min(self.max_delay, self.base_delay * (1 << min(failures - 1, 62)))
        return ceiling * (1 - self.jitter * rng())


class SessionPool:
    """Hands out open sessions round-robin over ``size`` slots.

    Each slot holds one connect attempt at a time, shared by every request that
    lands on it while it runs: N concurrent requests on an empty pool open at most
    ``size`` connections, not N. A slot whose session ended, or whose attempt
    failed, connects again on its next use, after a :class:`Backoff` delay when
    its previous attempts failed.
    """

    def __init__(
        self, connect: SessionFactory, size: int = 1, backoff: Backoff | None = None
    ) -> None:
        if size < 1:
            raise ValueError(f"a session pool needs at least one slot, not {size}")
        self._connect = connect
        self._backoff = backoff or Backoff()
        self._slots: list[asyncio.Task[KwiffSession] | None] = [None] * size
        self._failures = [0] * size
        self._turn = 0
        self._closed = False

    def open_session(self) -> KwiffSession | None:
        """The next slot's session if it is open (its turn taken), without awaiting.

        None (no turn taken) if the slot has no open session: :meth:`acquire` then
        connects it.
        """
        if self._closed:
            return None
        index = self._turn
        attempt = self._slots[index]
        if attempt is None or not attempt.done() or _is_spent(attempt):
            return None
        self._turn = (index + 1) % len(self._slots)
        return attempt.result()

    async def acquire(self) -> KwiffSession:
        if self._closed:
            raise RuntimeError("the session pool is closed")
        session = self.open_session()
        if session is not None:
            return session
        index = self._turn
        self._turn = (index + 1) % len(self._slots)
        attempt = self._slots[index]
        if attempt is None or _is_spent(attempt):
            attempt = asyncio.create_task(self._connect_slot(index), name=f"kwiff-connect-{index}")
            self._slots[index] = attempt
        # Shielded: a request that times out must not cancel the attempt others wait on.
        return await asyncio.shield(attempt)

    async def _connect_slot(self, index: int) -> KwiffSession:
        delay = self._backoff.delay(self._failures[index])
        if delay:
            logger.debug("Reconnecting slot %d in %.2f s", index, delay)
            await asyncio.sleep(delay)
        try:
            session = await self._connect()
        except KwiffError:
            self._failures[index] += 1
            raise
        self._failures[index] = 0
        return session

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
