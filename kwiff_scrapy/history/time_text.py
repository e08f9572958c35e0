"""Times as text in UTC, fast: the many rows of an event's table and CSV (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

#: ``"00"`` to ``"59"``, and ``"00:00"`` to ``"23:59"`` by minute of the day.
_TWO_DIGITS = tuple(f"{number:02d}" for number in range(60))
_HOURS_MINUTES = tuple(f"{hours:02d}:{minutes:02d}" for hours in range(24) for minutes in range(60))


class UtcTexts:
    """Times (milliseconds since the epoch) as text in UTC, each day's date made once:
    a busy event's prices are at thousands of distinct seconds of a few days."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def _minute(self, minute: int) -> tuple[str, str]:
        """``("2026-01-20", "15:12")`` of the minute *minute* (minutes since the epoch)."""
        day, minute_of_day = divmod(minute, 1440)
        date = self._days.get(day)
        if date is None:
            date = self._days[day] = datetime.fromtimestamp(day * 86400, UTC).date().isoformat()
        return date, _HOURS_MINUTES[minute_of_day]

    def clock(self, ms: int) -> str:
        """``2026-01-20 15:12:06`` (the seconds' fraction dropped)."""
        minute, millis = divmod(ms, 60_000)
        date, hours_minutes = self._minute(minute)
        return f"{date} {hours_minutes}:{_TWO_DIGITS[millis // 1000]}"

    def iso(self, ms: int) -> str:
        """``2026-01-20T15:12:06.610Z``, as :func:`~kwiff_scrapy.model.values.iso_utc_datetime`."""
        minute, millis = divmod(ms, 60_000)
        seconds, millis = divmod(millis, 1000)
        date, hours_minutes = self._minute(minute)
        return f"{date}T{hours_minutes}:{_TWO_DIGITS[seconds]}.{millis:03d}Z"
