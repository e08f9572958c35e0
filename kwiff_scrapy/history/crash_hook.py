"""Test only: hold one write transaction of the history open, so a test can kill the
process (or cut its database connection) at that exact point.

``KWIFF_HISTORY_TEST_PAUSE=N:FIFO`` (an environment variable, read once when a
:class:`~kwiff_scrapy.history.store.HistoryStore` is made) pauses the store's N-th
transaction (1 is the first) after every statement of its batch has run and before
the commit. There the store's thread writes ``FIFO.json`` (the transaction's number,
the price rows it wrote, the events whose prices it decided), then opens the named
pipe ``FIFO`` (made by the test) for reading and reads it to its end. So the test knows
the writer is paused when its own opening of ``FIFO`` for writing succeeds; it then
either kills the process, or closes its end to let the transaction go on. Other
transactions are not held.

Unset (as in every real crawl), the store holds ``None`` and checks only that, once
per batch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ENVIRONMENT = "KWIFF_HISTORY_TEST_PAUSE"


@dataclass(slots=True)
class PauseBeforeCommit:
    """Holds the *transaction*-th write transaction open until the test lets it go."""

    transaction: int
    fifo: Path
    seen: int = 0

    @classmethod
    def from_environment(cls) -> PauseBeforeCommit | None:
        """The pause ``KWIFF_HISTORY_TEST_PAUSE`` asks for; None when it is unset."""
        value = os.environ.get(ENVIRONMENT, "")
        if not value:
            return None
        number, _, path = value.partition(":")
        if not number.isdigit() or int(number) < 1 or not path:
            raise ValueError(
                f"{ENVIRONMENT} (test only) must be N:FIFO, e.g. 3:/tmp/pause, not {value!r}"
            )
        return cls(int(number), Path(path))

    @property
    def details(self) -> Path:
        return self.fifo.with_name(self.fifo.name + ".json")

    def reached(self, written: int, event_ids: Iterable[int]) -> None:
        """Called inside every transaction, before its commit: block in the chosen one."""
        self.seen += 1
        if self.seen != self.transaction:
            return
        staged = self.details.with_name(self.details.name + ".tmp")
        staged.write_text(
            json.dumps({"transaction": self.seen, "written": written, "events": sorted(event_ids)}),
            encoding="utf-8",
        )
        staged.replace(self.details)
        with self.fifo.open("rb") as pipe:
            pipe.read()
