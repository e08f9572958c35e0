"""Coercions of single JSON values shared by the answer envelope and the item parsers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

# The service is JavaScript: a larger integer cannot have come from it intact.
MAX_INTEGER = 2**53 - 1
#: Far beyond any bookmaker's price; anything above is garbage, not a long shot.
MAX_DECIMAL_ODDS = 1_000_000
_INTEGER_TEXT = re.compile(r"[0-9]{1,16}")
_EPOCH = datetime(1970, 1, 1)
#: The fields of the items that hold a time (ISO 8601 UTC text, as the service sends it).
TIME_FIELDS = frozenset({"start_time", "fetched_at", "previous_fetched_at"})
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


def parse_service_time(text: object) -> datetime | None:
    """A time as the service writes it (ISO 8601: ``2026-01-20T15:12:06.610Z``), in UTC;
    one without a zone is taken to be in UTC. None if it is not such a time."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def spreadsheet_time(text: object) -> object:
    """``2026-12-08T17:45:00.000Z`` as ``2026-12-08 17:45:00`` (UTC), which spreadsheets
    read as a date and time (CSV feeds); milliseconds kept when there are some. Anything
    that is not such a time is returned as it is."""
    moment = parse_service_time(text)
    if moment is None:
        return text
    timespec = "milliseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec=timespec)


def minute_utc(moment: datetime) -> str:
    """*moment* in UTC to the minute, ``2026-12-08 17:45``: how times are shown to people
    (a kick-off in an alert line; a naive *moment* is taken to be in UTC already)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M}"


def iso_utc(timestamp_ms: int) -> str | None:
    """Milliseconds since the epoch as ``2026-01-20T15:12:06.610Z``; None if out of range."""
    try:
        moment = _EPOCH + timedelta(milliseconds=timestamp_ms)
    except OverflowError:
        return None
    return iso_utc_datetime(moment)


def iso_utc_datetime(moment: datetime) -> str:
    """*moment* the way the service writes times: ``2026-01-20T15:12:06.610Z``.

    In UTC, to the millisecond (finer digits are dropped, not rounded); a naive *moment*
    is taken to be in UTC already. The one place the package writes this format.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def is_open(status: str | None) -> bool:
    """Whether a market's or outcome's status means it can be backed (None: open)."""
    return status is None or status.strip().lower() in OPEN_STATUSES


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta | None:
    """``90s``, ``15m``, ``2h``, ``90d``, ``1w`` or a sum such as ``1h30m``; None if *text*
    is not such a duration (or is not more than zero)."""
    compact = str(text).strip().lower()
    position, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(compact):
        if match.start() != position or compact[position : match.start()].strip():
            break
        seconds += float(match[1]) * _UNIT_SECONDS[match[2]]
        position = match.end()
        while position < len(compact) and compact[position] == " ":
            position += 1
    if not compact or position != len(compact) or seconds <= 0:
        return None
    return timedelta(seconds=seconds)
