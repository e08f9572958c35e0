"""The test's end of ``KWIFF_HISTORY_TEST_PAUSE``: hold a history write transaction open
(:mod:`kwiff_scrapy.history.crash_hook`), know exactly when it is held, then kill the
process or let the transaction go on."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path
from typing import Any

from kwiff_scrapy.history.crash_hook import ENVIRONMENT

from .crawl_process import HANG_GUARD


class PausedWriter:
    """A named pipe in *folder* on which the *transaction*-th write transaction waits."""

    def __init__(self, folder: Path, transaction: int) -> None:
        self.fifo = folder / "history-pause"
        os.mkfifo(self.fifo)
        self.transaction = transaction
        self._held: int | None = None

    @property
    def environment(self) -> dict[str, str]:
        """The variable that makes a store made after it is set pause here."""
        return {ENVIRONMENT: f"{self.transaction}:{self.fifo}"}

    def wait(self, alive: Any = None) -> dict[str, Any]:
        """Block until the transaction is held; what it wrote (``transaction``, ``written``
        price rows, the ``events`` whose prices it decided).

        *alive*, if given, is called while waiting and says whether the writer can still
        get there (a crawl process that has ended cannot).
        """
        deadline = time.monotonic() + HANG_GUARD
        while True:
            try:
                # Succeeds only once the writer has opened the pipe for reading.
                self._held = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
            assert alive is None or alive(), "the writer ended before the paused transaction"
            assert time.monotonic() < deadline, (
                f"the history never reached write transaction {self.transaction}"
            )
            time.sleep(0.01)
        details: dict[str, Any] = json.loads(
            self.fifo.with_name(self.fifo.name + ".json").read_text(encoding="utf-8")
        )
        assert details["transaction"] == self.transaction
        return details

    def release(self) -> None:
        """Let the held transaction go on (to its commit)."""
        assert self._held is not None, "release() before wait()"
        os.close(self._held)
        self._held = None

    def close(self) -> None:
        if self._held is not None:
            self.release()
