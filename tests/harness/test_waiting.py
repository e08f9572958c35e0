"""The tests' waits (tests/support/waiting.py) end, and say what never happened."""

from __future__ import annotations

import asyncio

import pytest

from ..support import waiting

SHORT = 0.05


async def test_until_fails_naming_the_condition_that_never_held() -> None:
    flag = False
    with pytest.raises(AssertionError, match=r"`.*lambda: flag.*` never happened within 0\.05 s"):
        await waiting.until(lambda: flag, guard=SHORT)


async def test_until_returns_once_a_change_makes_the_condition_hold() -> None:
    changed = asyncio.Event()
    seen: list[int] = []

    async def change() -> None:
        seen.append(1)
        changed.set()

    task = asyncio.create_task(change())
    await waiting.until(lambda: seen == [1], "the change", changed=changed)
    await task


def test_until_sync_fails_saying_what_never_happened() -> None:
    with pytest.raises(AssertionError, match=r"the flag never happened within 0\.05 s"):
        waiting.until_sync(lambda: False, "the flag", guard=SHORT)


async def test_guarded_fails_saying_what_never_happened() -> None:
    with pytest.raises(AssertionError, match=r"an answer never happened within 0\.05 s"):
        await waiting.guarded(asyncio.Event().wait(), "an answer", guard=SHORT)


async def test_guarded_lets_the_awaitables_own_timeout_through() -> None:
    async def times_out() -> None:
        raise TimeoutError("its own")

    with pytest.raises(TimeoutError, match="its own"):
        await waiting.guarded(times_out(), "nothing")
    assert await waiting.guarded(asyncio.sleep(0, "done"), "a result") == "done"
