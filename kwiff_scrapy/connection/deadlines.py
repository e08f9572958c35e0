"""One timeout for many awaits, with one loop timer for them all.

``asyncio.timeout`` schedules a loop timer for every use and cancels it at the end:
about 10 µs of Python per use, as much as a tenth of a small command's round trip.
When every use has the same timeout, the deadlines come in the order the uses
start, so a :class:`SharedTimeout` keeps them in a FIFO queue and sets a single
timer, for the oldest use still running. A use that ends only marks itself done;
the timer, when it fires, cancels the uses whose deadline has passed and sets
itself for the next one still running. In a steady stream of short uses it fires
about once per timeout.

A use that times out behaves as in ``asyncio.timeout``: its task is cancelled and
the ``CancelledError`` leaving the ``with`` block becomes a :class:`TimeoutError`,
unless the task was also cancelled from outside (then the cancellation goes on).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType

_NEW, _RUNNING, _DONE, _EXPIRED = 0, 1, 2, 3

#: Done uses a queue may hold behind a slow one before it is compacted: at most
#: twice the uses running, plus this.
_SLACK = 64


class SharedTimeout:
    """Bound awaits by the same *seconds*: ``with shared.bound(): await ...``.

    The ``with`` block must run in a task of the loop that runs the timer (the
    running loop at the first use). :meth:`close` cancels the timer.
    """

    __slots__ = ("_loop", "_queue", "_running", "_timer", "seconds")

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"a timeout is a positive number of seconds, not {seconds!r}")
        self.seconds = seconds
        self._queue: deque[Bound] = deque()
        self._running = 0
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def bound(self) -> Bound:
        """A context manager bounding its block by :attr:`seconds` (use each once)."""
        return Bound(self)

    def close(self) -> None:
        """Cancel the timer: uses still running are no longer bounded (until the next use)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def __len__(self) -> int:
        """Uses held in the queue: running ones and done ones not yet dropped."""
        return len(self._queue)

    def _start(self, use: Bound, loop: asyncio.AbstractEventLoop) -> float:
        deadline = loop.time() + self.seconds
        self._queue.append(use)
        self._running += 1
        if self._timer is None:
            # Any timer already set is for an earlier deadline: it sets the next one.
            self._loop = loop
            self._timer = loop.call_at(deadline, self._expire)
        return deadline

    def _end(self) -> None:
        self._running -= 1
        queue = self._queue
        while queue and queue[0].state != _RUNNING:
            queue.popleft()
        if len(queue) > 2 * self._running + _SLACK:  # a slow use holds many done ones
            self._queue = deque(use for use in queue if use.state == _RUNNING)

    def _expire(self) -> None:
        assert self._loop is not None
        self._timer = None
        now = self._loop.time()
        queue = self._queue
        while queue:
            use = queue[0]
            if use.state == _RUNNING:
                if use.deadline > now:
                    self._timer = self._loop.call_at(use.deadline, self._expire)
                    return
                use.state = _EXPIRED
                self._running -= 1
                use.task.cancel()
            queue.popleft()


class Bound:
    """One use of a :class:`SharedTimeout` (made by :meth:`SharedTimeout.bound`)."""

    __slots__ = ("_cancelling", "_shared", "deadline", "state", "task")

    def __init__(self, shared: SharedTimeout) -> None:
        self._shared = shared
        self.state = _NEW

    @property
    def expired(self) -> bool:
        """True if the deadline passed before the block ended."""
        return self.state == _EXPIRED

    def __enter__(self) -> Bound:
        if self.state != _NEW:
            raise RuntimeError("each bound() is entered once")
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a timeout is used inside a task")
        self.task = task
        self.state = _RUNNING
        self._cancelling = task.cancelling()
        self.deadline = self._shared._start(self, loop)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.state == _RUNNING:
            self.state = _DONE
            self._shared._end()
        elif (
            self.task.uncancel() <= self._cancelling
            and exc_type is not None
            and issubclass(exc_type, asyncio.CancelledError)
        ):
            raise TimeoutError from exc
