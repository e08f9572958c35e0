"""The ``KWIFF_HISTORY_*`` settings, read and checked once into one :class:`HistorySettings`.

A bad value raises ``ValueError`` with one line naming the setting, when the
pipeline is built: before the crawl sends anything. Only the URI's presence is
checked here; whether it names a database that can be opened is the store's
business (:mod:`kwiff_scrapy.history.schema`), when the spider opens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .. import defaults
from ..model.values import parse_duration
from .writer import WriterLimits

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

URI_SETTING = "KWIFF_HISTORY_URI"
KEEP_SETTING = "KWIFF_HISTORY_KEEP"


@dataclass(frozen=True, slots=True)
class HistorySettings:
    """Everything the history pipeline reads from Scrapy settings, validated."""

    #: ``KWIFF_HISTORY_URI``: where the history goes (None: the history is off).
    uri: str | None = None
    limits: WriterLimits = field(default_factory=WriterLimits)

    @property
    def enabled(self) -> bool:
        return self.uri is not None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> HistorySettings:
        """Read and validate; a bad value raises ``ValueError`` naming the setting."""
        uri = history_uri(settings.get(URI_SETTING))
        batch_size = _whole(settings, "KWIFF_HISTORY_BATCH_SIZE", defaults.HISTORY_BATCH_SIZE)
        buffer_size = _whole(settings, "KWIFF_HISTORY_BUFFER_SIZE", defaults.HISTORY_BUFFER_SIZE)
        if buffer_size < batch_size:
            raise ValueError(
                f"KWIFF_HISTORY_BUFFER_SIZE ({buffer_size}) must be at least "
                f"KWIFF_HISTORY_BATCH_SIZE ({batch_size})"
            )
        retry_delay = _seconds(settings, "KWIFF_HISTORY_RETRY_DELAY", defaults.HISTORY_RETRY_DELAY)
        max_retry_delay = _seconds(
            settings, "KWIFF_HISTORY_MAX_RETRY_DELAY", defaults.HISTORY_MAX_RETRY_DELAY
        )
        if max_retry_delay < retry_delay:
            raise ValueError(
                "KWIFF_HISTORY_MAX_RETRY_DELAY must be at least KWIFF_HISTORY_RETRY_DELAY"
            )
        limits = WriterLimits(
            batch_size=batch_size,
            flush_interval=_seconds(
                settings, "KWIFF_HISTORY_FLUSH_INTERVAL", defaults.HISTORY_FLUSH_INTERVAL
            ),
            buffer_size=buffer_size,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
            close_timeout=_seconds(
                settings, "KWIFF_HISTORY_CLOSE_TIMEOUT", defaults.HISTORY_CLOSE_TIMEOUT, zero=True
            ),
            keep=history_keep(settings.get(KEEP_SETTING)),
        )
        return cls(uri=uri, limits=limits)


def history_uri(value: Any) -> str | None:
    """``KWIFF_HISTORY_URI``: None when unset or empty, else a string."""
    if value is None or value is False or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(
            f"{URI_SETTING} must be a database URI such as sqlite:///odds.sqlite, not {value!r}"
        )
    return value.strip()


def history_keep(value: Any) -> timedelta | None:
    """``KWIFF_HISTORY_KEEP``: how long prices are kept (``90d``); None: for ever."""
    if value is None or value is False or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, timedelta) and value > timedelta(0):
        return value
    found = parse_duration(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(
            f"{KEEP_SETTING} must be a duration such as 90d, 12w or 36h, not {value!r}"
        )
    return found


def _whole(settings: BaseSettings, name: str, default: int) -> int:
    value = settings.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or isinstance(value, bool) or str(number) != str(value).strip():
        raise ValueError(f"{name} must be a whole number, 1 or more, not {value!r}")
    return number


def _seconds(settings: BaseSettings, name: str, default: float, *, zero: bool = False) -> float:
    value = settings.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    least = "0 or more" if zero else "more than 0"
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero):
        raise ValueError(f"{name} must be a number of seconds, {least}, not {value!r}")
    return number
