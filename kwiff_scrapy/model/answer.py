"""The answer envelope of every command: the first element of an ACK's arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .values import as_integer, iso_utc


@dataclass(frozen=True, slots=True)
class Answer:
    """The first element of an ACK's arguments: ``{"timestamp": ms, "data": ..., "error": ...}``."""

    timestamp_ms: int | None = None
    data: Any = None
    error: Any = None

    @property
    def fetched_at(self) -> str | None:
        """The answer's timestamp as ISO 8601 UTC with milliseconds, or None."""
        if self.timestamp_ms is None:
            return None
        return iso_utc(self.timestamp_ms)


def parse_answer(args: Any) -> Answer:
    """Read an ACK's argument array; malformed input gives an Answer of Nones."""
    first = args[0] if isinstance(args, list) and args else None
    if not isinstance(first, dict):
        return Answer()
    return Answer(as_integer(first.get("timestamp")), first.get("data"), first.get("error"))
