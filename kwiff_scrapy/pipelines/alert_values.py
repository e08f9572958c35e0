"""One alert value checked: what a ``KWIFF_ALERT_*`` setting, or a field of a route in
``KWIFF_ALERT_ROUTES``, may hold (pure: no I/O).

Each function takes the raw value and *name*, the setting or route field it came from
(``KWIFF_ALERT_MIN_CHANGE``, ``KWIFF_ALERT_ROUTES[1] 'steam': min_change``), and raises
``ValueError`` with one line starting with that name and saying what to write. A
webhook URL is a secret: no message repeats it.
"""

from __future__ import annotations

import difflib
from typing import Any
from urllib.parse import urlsplit

from .. import defaults
from .alert_messages import ALL_KINDS, DIRECTIONS
from .alert_transport import is_loopback


def is_unset(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def did_you_mean(name: str, known: tuple[str, ...] | list[str]) -> str:
    """`` (did you mean 'steam'?)`` for the closest of *known*, or nothing."""
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def webhook_url(value: Any, name: str) -> str | None:
    """An ``https://`` URL, or ``http://`` to this machine; None when unset."""
    if is_unset(value):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a URL string, not {type(value).__name__}")
    url = value.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        # Not echoed: a webhook URL carries its token.
        raise ValueError(f"{name} must be an http:// or https:// URL with a host")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(
            f"{name} is a plain http:// URL to {parts.hostname}, so its token "
            "would cross the network unencrypted; the webhook URL is a secret: use https:// "
            "(http:// is only accepted for this machine: localhost, 127.0.0.0/8, ::1)"
        )
    return url


def min_change(raw: Any, name: str, default: float = defaults.ALERT_MIN_CHANGE) -> float:
    """A fraction from 0 to 1 (``0.15``), or a percentage written as text (``"15%"``)."""
    if is_unset(raw):
        return default
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(raw)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a fraction such as 0.15 (15 %), or a percentage such as 15%, "
            f"not {raw!r}"
        ) from None
    if not 0 <= value <= 1:
        raise ValueError(
            f"{name} is a fraction from 0 to 1: 0.15 means 15 % (or write 15%), not {raw!r}"
        )
    return value


def direction(raw: Any, name: str, default: str = defaults.ALERT_DIRECTION) -> str:
    if is_unset(raw):
        return default
    value = str(raw).strip().lower()
    if value not in DIRECTIONS:
        raise ValueError(
            f"{name} must be one of drops (the odds shortened), drifts (they "
            f"lengthened) or both, not {raw!r}{did_you_mean(value, DIRECTIONS)}"
        )
    return value


def optional_odds(raw: Any, name: str) -> float | None:
    if is_unset(raw):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be decimal odds such as 1.5, not {raw!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be decimal odds above 0, not {raw!r}")
    return value


def names(value: Any, name: str) -> list[str]:
    """A list of names: a list or tuple of strings, or one comma-separated string."""
    if is_unset(value):
        return []
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        raise ValueError(f"{name} must be a list of names, not {value!r}")
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"{name} must be a list of names (strings), not {value!r}")
    return [item.strip() for item in items if item.strip()]


def kinds(value: Any, name: str) -> frozenset[str]:
    """Kinds of change (``moved``, ``event_status``...): at least one, each known."""
    found = [kind.lower() for kind in names(value, name)]
    known = ", ".join(ALL_KINDS)
    if not found:
        raise ValueError(f"{name} is empty: name at least one of {known}")
    unknown = [kind for kind in found if kind not in ALL_KINDS]
    if unknown:
        raise ValueError(
            f"{name}: unknown kind {unknown[0]!r}"
            f"{did_you_mean(unknown[0], ALL_KINDS)}: use some of {known}"
        )
    return frozenset(found)


def odds_bounds(
    min_odds: float | None, max_odds: float | None, min_name: str, max_name: str
) -> None:
    if min_odds is not None and max_odds is not None and min_odds > max_odds:
        raise ValueError(f"{min_name} ({min_odds}) must not be above {max_name} ({max_odds})")
