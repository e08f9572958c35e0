"""The items' times: ISO 8601 UTC text, as the service sends them; and as a spreadsheet
reads them (``2026-12-08 17:45:00``, UTC), for CSV feeds."""

from __future__ import annotations

from datetime import UTC, datetime

#: The fields of the items that hold a time (ISO 8601 UTC text).
TIME_FIELDS = frozenset({"start_time", "fetched_at", "previous_fetched_at"})


def parse_service_time(text: object) -> datetime | None:
    """A time as the service sends it (``2026-12-08T17:45:00.000Z``), aware, in UTC;
    None if it is not one (a naive time is taken as UTC)."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def spreadsheet_time(text: object) -> object:
    """``2026-12-08T17:45:00.000Z`` as ``2026-12-08 17:45:00`` (UTC), which spreadsheets
    read as a date and time; milliseconds kept when there are some. Anything that is
    not such a time is returned as it is."""
    moment = parse_service_time(text)
    if moment is None:
        return text
    timespec = "milliseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec=timespec)
