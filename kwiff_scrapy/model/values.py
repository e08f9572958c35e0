"""Coercions of single JSON values shared by the answer envelope and the item parsers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

# The service is JavaScript: a larger integer cannot have come from it intact.
MAX_INTEGER = 2**53 - 1
#: Far beyond any bookmaker's price; anything above is garbage, not a long shot.
MAX_DECIMAL_ODDS = 1_000_000
_INTEGER_TEXT = re.compile(r"[0-9]{1,16}")
_EPOCH = datetime(1970, 1, 1)
#: Status values that mean "open" (the service sends none for an open market or outcome).
OPEN_STATUSES = frozenset({"open", "active"})


def as_integer(value: Any) -> int | None:
    """A non-negative integer from a JSON integer or a digit string; bools are not integers."""
    if type(value) is int and 0 <= value <= MAX_INTEGER:  # the usual case, first
        return value
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INTEGER:
        return value
    return None


def iso_utc(timestamp_ms: int) -> str | None:
    """Milliseconds since the epoch as ``2026-01-20T15:12:06.610Z``; None if out of range."""
    try:
        moment = _EPOCH + timedelta(milliseconds=timestamp_ms)
    except OverflowError:
        return None
    return moment.isoformat(timespec="milliseconds") + "Z"


def is_open(status: str | None) -> bool:
    """Whether a market's or outcome's status means it can be backed (None: open)."""
    return status is None or status.strip().lower() in OPEN_STATUSES
