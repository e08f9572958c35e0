"""Waiting in tests: for a condition, with a deadline whose failure says what never happened.

A deadline here is a hang guard, not a speed claim: it only turns a stuck test into a
failure with a message. pytest's own timeout (pyproject.toml) ends the whole run instead,
with stacks but no such message, so every guard stays well below it
(tests/harness/test_timeout.py checks this).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: Seconds after which a wait, a crawl or a process is taken as stuck.
HANG_GUARD = 120.0
#: How often a condition nothing signals is checked again.
RECHECK = 0.02


async def until(
    condition: Callable[[], bool],
    what: str | None = None,
    *,
    changed: asyncio.Event | None = None,
    guard: float = HANG_GUARD,
) -> None:
    """Return once ``condition()`` holds, checked each time *changed* is set and every
    ``RECHECK`` seconds; fail saying that *what* (by default the condition's source line)
    never happened after *guard* seconds."""
    deadline = asyncio.timeout(guard)
    try:
        async with deadline:
            while not condition():
                if changed is None:
                    await asyncio.sleep(RECHECK)
                    continue
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RECHECK):
                        await changed.wait()
    except TimeoutError:
        if deadline.expired():
            what = what or source(condition)
            raise AssertionError(f"{what} never happened within {guard} s") from None
        raise


def until_sync(
    condition: Callable[[], bool], what: str | None = None, *, guard: float = HANG_GUARD
) -> None:
    """``until`` for code outside an event loop: blocks, checking every ``RECHECK`` seconds."""
    deadline = time.monotonic() + guard
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or source(condition)} never happened within {guard} s")
        time.sleep(RECHECK)


async def guarded(awaitable: Awaitable[T], what: str, *, guard: float = HANG_GUARD) -> T:
    """``await awaitable``, failing saying that *what* never happened after *guard* seconds."""
    deadline = asyncio.timeout(guard)
    try:
        async with deadline:
            return await awaitable
    except TimeoutError:
        if deadline.expired():
            raise AssertionError(f"{what} never happened within {guard} s") from None
        raise


def source(condition: Callable[[], bool]) -> str:
    """The source line of *condition* (a lambda), to say what was waited for."""
    try:
        return f"`{inspect.getsource(condition).strip()}`"
    except (OSError, TypeError):
        return repr(condition)
