"""SharedTimeout: asyncio.timeout's behaviour with one loop timer for many uses."""

from __future__ import annotations

import asyncio

import pytest

from kwiff_scrapy.connection.deadlines import SharedTimeout

#: Long enough never to pass during a test; SHORT passes while a test waits on purpose.
LONG = 60.0
SHORT = 0.01


async def never() -> None:
    await asyncio.get_running_loop().create_future()


async def test_a_use_past_its_deadline_raises_timeout_error() -> None:
    shared = SharedTimeout(SHORT)
    with pytest.raises(TimeoutError) as raised, shared.bound() as bound:
        await never()
    assert bound.expired
    assert isinstance(raised.value.__cause__, asyncio.CancelledError)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    shared.close()


async def test_a_use_that_ends_in_time_returns_and_leaves_nothing_queued() -> None:
    shared = SharedTimeout(LONG)
    for _ in range(3):
        with shared.bound() as bound:
            await asyncio.sleep(0)
        assert not bound.expired
    assert len(shared) == 0
    shared.close()


async def test_only_the_uses_past_their_deadline_time_out() -> None:
    shared = SharedTimeout(SHORT)

    async def use(wait: bool) -> str:
        with shared.bound():
            if wait:
                await never()
            await asyncio.sleep(0)
        return "answered"

    results = await asyncio.gather(
        use(True), use(False), use(True), use(False), return_exceptions=True
    )
    assert [type(r) for r in results] == [TimeoutError, str, TimeoutError, str]
    # The timer goes on for uses started after it fired.
    with pytest.raises(TimeoutError), shared.bound():
        await never()
    shared.close()


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    shared = SharedTimeout(LONG)
    started = asyncio.Event()

    async def use() -> None:
        with shared.bound():
            started.set()
            await never()

    task = asyncio.create_task(use())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(shared) == 0
    shared.close()


async def test_a_cancellation_from_outside_with_the_deadline_passed_is_a_cancellation() -> None:
    shared = SharedTimeout(SHORT)
    inside = asyncio.Event()

    async def use() -> None:
        with shared.bound():
            inside.set()
            try:
                await never()
            except asyncio.CancelledError:
                # The deadline's cancel came first; now one from outside too.
                asyncio.current_task().cancel()  # type: ignore[union-attr]
                raise

    task = asyncio.create_task(use())
    await inside.wait()
    with pytest.raises(asyncio.CancelledError):
        await task
    shared.close()


async def test_a_slow_use_does_not_keep_every_finished_one_queued() -> None:
    shared = SharedTimeout(LONG)
    started = asyncio.Event()

    async def slow() -> None:
        with shared.bound():
            started.set()
            await never()

    task = asyncio.create_task(slow())
    await started.wait()
    for _ in range(1000):
        with shared.bound():
            await asyncio.sleep(0)
    assert len(shared) < 100
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(shared) == 0
    shared.close()


async def test_each_bound_is_entered_once() -> None:
    shared = SharedTimeout(LONG)
    bound = shared.bound()
    with bound:
        pass
    with pytest.raises(RuntimeError, match="entered once"), bound:
        pass
    shared.close()


def test_the_timeout_is_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SharedTimeout(0)
