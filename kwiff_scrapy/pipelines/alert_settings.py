"""The ``KWIFF_ALERT_*`` settings, read and checked once into one :class:`AlertSettings`.

A bad value raises ``ValueError`` with one line naming the setting, when the
pipeline is built: before the crawl sends anything. The webhook URL is a secret
(Discord and Slack put the token in it), so no message here repeats it, and a plain
``http://`` one is refused unless it is on this machine (its token would cross the
network unencrypted). A setting that is valid but could never act is refused too
(``KWIFF_ALERT_MIN_CHANGE=15``, meaning 15 %, would be 1,500 %). Two Scrapy
settings apply to webhook requests too: ``USER_AGENT``, and ``HTTPPROXY_ENABLED``
(the proxy environment variables are used unless it is False).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import defaults
from .alert_messages import ALL_KINDS, DIRECTIONS, FORMATS, AlertRules, format_for_webhook
from .alert_transport import is_loopback, tls_context

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Everything the alerts pipeline reads from Scrapy settings, validated."""

    #: ``KWIFF_ALERT_WEBHOOK``: where messages are posted (None: log only).
    webhook: str | None = field(default=None, repr=False)
    #: ``KWIFF_ALERT_LOG``: also log every message at INFO.
    log: bool = False
    #: ``KWIFF_ALERT_FORMAT``, or the one the webhook's host implies.
    format: str = "json"
    rules: AlertRules = field(default_factory=AlertRules)
    #: ``KWIFF_ALERT_MARKETS`` as written (``rules`` has them case-folded).
    market_names: tuple[str, ...] = ()
    #: ``KWIFF_ALERT_COMPETITIONS`` as written.
    competition_names: tuple[str, ...] = ()
    timeout: float = defaults.ALERT_TIMEOUT
    #: ``KWIFF_ALERT_VERIFY_TLS``: refuse a webhook whose certificate does not verify.
    verify_tls: bool = defaults.ALERT_VERIFY_TLS
    #: ``KWIFF_ALERT_CA_FILE``: CA certificates (PEM) trusted instead of the system's.
    ca_file: str | None = None
    #: Scrapy's ``USER_AGENT``.
    user_agent: str | None = None
    #: Scrapy's ``HTTPPROXY_ENABLED``: use the ``http_proxy``/``https_proxy`` variables.
    proxy_from_environment: bool = True
    retry_times: int = defaults.ALERT_RETRY_TIMES
    retry_delay: float = defaults.ALERT_RETRY_DELAY
    max_retry_delay: float = defaults.ALERT_MAX_RETRY_DELAY
    flush_delay: float = defaults.ALERT_FLUSH_DELAY
    quiet_period: float = defaults.ALERT_QUIET_PERIOD
    max_batch_age: float = defaults.ALERT_MAX_BATCH_AGE
    close_timeout: float = defaults.ALERT_CLOSE_TIMEOUT
    message_limit: int = defaults.ALERT_MESSAGE_LIMIT
    max_queued_messages: int = defaults.ALERT_MAX_QUEUED_MESSAGES

    @property
    def enabled(self) -> bool:
        """True when alerts go somewhere: a webhook, the log, or both."""
        return self.webhook is not None or self.log

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> AlertSettings:
        """Read and validate; a bad value raises ``ValueError`` naming the setting."""
        webhook = _webhook(settings.get("KWIFF_ALERT_WEBHOOK"))
        min_odds = _optional_odds(settings, "KWIFF_ALERT_MIN_ODDS")
        max_odds = _optional_odds(settings, "KWIFF_ALERT_MAX_ODDS")
        if min_odds is not None and max_odds is not None and min_odds > max_odds:
            raise ValueError(
                f"KWIFF_ALERT_MIN_ODDS ({min_odds}) must not be above "
                f"KWIFF_ALERT_MAX_ODDS ({max_odds})"
            )
        market_names = tuple(_names(settings.get("KWIFF_ALERT_MARKETS"), "KWIFF_ALERT_MARKETS"))
        competition_names = tuple(
            _names(settings.get("KWIFF_ALERT_COMPETITIONS"), "KWIFF_ALERT_COMPETITIONS")
        )
        rules = AlertRules(
            kinds=_kinds(settings.get("KWIFF_ALERT_KINDS")),
            competitions=frozenset(name.casefold() for name in competition_names),
            markets=frozenset(name.casefold() for name in market_names),
            min_change=_min_change(settings.get("KWIFF_ALERT_MIN_CHANGE")),
            direction=_direction(settings.get("KWIFF_ALERT_DIRECTION")),
            min_odds=min_odds,
            max_odds=max_odds,
        )
        timeout = _number(settings, "KWIFF_ALERT_TIMEOUT", defaults.ALERT_TIMEOUT)
        if timeout == 0:
            raise ValueError("KWIFF_ALERT_TIMEOUT must be more than 0 seconds")
        verify_tls = _bool(settings, "KWIFF_ALERT_VERIFY_TLS", defaults.ALERT_VERIFY_TLS)
        ca_file = _ca_file(settings.get("KWIFF_ALERT_CA_FILE"), verify_tls)
        user_agent = settings.get("USER_AGENT")
        return cls(
            webhook=webhook,
            log=_bool(settings, "KWIFF_ALERT_LOG"),
            format=_format(settings.get("KWIFF_ALERT_FORMAT"), webhook),
            rules=rules,
            market_names=market_names,
            competition_names=competition_names,
            timeout=timeout,
            verify_tls=verify_tls,
            ca_file=ca_file,
            user_agent=user_agent if isinstance(user_agent, str) and user_agent else None,
            proxy_from_environment=settings.getbool("HTTPPROXY_ENABLED", True),
            retry_times=_whole(settings, "KWIFF_ALERT_RETRY_TIMES", defaults.ALERT_RETRY_TIMES),
            retry_delay=_number(settings, "KWIFF_ALERT_RETRY_DELAY", defaults.ALERT_RETRY_DELAY),
            max_retry_delay=_number(
                settings, "KWIFF_ALERT_MAX_RETRY_DELAY", defaults.ALERT_MAX_RETRY_DELAY
            ),
            flush_delay=_number(settings, "KWIFF_ALERT_FLUSH_DELAY", defaults.ALERT_FLUSH_DELAY),
            quiet_period=_number(settings, "KWIFF_ALERT_QUIET_PERIOD", defaults.ALERT_QUIET_PERIOD),
            close_timeout=_number(
                settings, "KWIFF_ALERT_CLOSE_TIMEOUT", defaults.ALERT_CLOSE_TIMEOUT
            ),
        )


def _is_unset(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _webhook(value: Any) -> str | None:
    if _is_unset(value):
        return None
    if not isinstance(value, str):
        raise ValueError(f"KWIFF_ALERT_WEBHOOK must be a URL string, not {type(value).__name__}")
    url = value.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        # Not echoed: a webhook URL carries its token.
        raise ValueError("KWIFF_ALERT_WEBHOOK must be an http:// or https:// URL with a host")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(
            f"KWIFF_ALERT_WEBHOOK is a plain http:// URL to {parts.hostname}, so its token "
            "would cross the network unencrypted; the webhook URL is a secret: use https:// "
            "(http:// is only accepted for this machine: localhost, 127.0.0.0/8, ::1)"
        )
    return url


def _bool(settings: BaseSettings, name: str, default: bool = False) -> bool:
    try:
        return settings.getbool(name, default)
    except ValueError:
        raise ValueError(
            f"{name} must be True or False (or 1/0, true/false), not {settings.get(name)!r}"
        ) from None


def _ca_file(value: Any, verify_tls: bool) -> str | None:
    if _is_unset(value):
        return None
    if not isinstance(value, str | Path):
        raise ValueError(f"KWIFF_ALERT_CA_FILE must be a file path, not {type(value).__name__}")
    if not verify_tls:
        raise ValueError(
            "KWIFF_ALERT_CA_FILE is set but KWIFF_ALERT_VERIFY_TLS is False: "
            "unset one of them (certificates are either verified against the file or not at all)"
        )
    path = str(Path(value).expanduser())
    try:
        tls_context(verify=True, ca_file=path)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"KWIFF_ALERT_CA_FILE: cannot load CA certificates (PEM) from {path!r}: {exc}"
        ) from None
    return path


def _number(settings: BaseSettings, name: str, default: float) -> float:
    """A number of 0 or more (seconds, or a fraction)."""
    raw = settings.get(name)
    if _is_unset(raw):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a number of 0 or more, not {raw!r}")
    return value


def _min_change(raw: Any) -> float:
    """``KWIFF_ALERT_MIN_CHANGE``: a fraction from 0 to 1 (``0.15``), or a percentage
    written as text (``"15%"``)."""
    name = "KWIFF_ALERT_MIN_CHANGE"
    if _is_unset(raw):
        return defaults.ALERT_MIN_CHANGE
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


def _direction(raw: Any) -> str:
    if _is_unset(raw):
        return defaults.ALERT_DIRECTION
    direction = str(raw).strip().lower()
    if direction not in DIRECTIONS:
        raise ValueError(
            "KWIFF_ALERT_DIRECTION must be one of drops (the odds shortened), drifts (they "
            f"lengthened) or both, not {raw!r}{_did_you_mean(direction, DIRECTIONS)}"
        )
    return direction


def _did_you_mean(name: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _whole(settings: BaseSettings, name: str, default: int) -> int:
    raw = settings.get(name)
    if _is_unset(raw):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0 or (isinstance(raw, float) and raw != value):
        raise ValueError(f"{name} must be a whole number of 0 or more, not {raw!r}")
    return value


def _optional_odds(settings: BaseSettings, name: str) -> float | None:
    raw = settings.get(name)
    if _is_unset(raw):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be decimal odds such as 1.5, not {raw!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be decimal odds above 0, not {raw!r}")
    return value


def _names(value: Any, name: str) -> list[str]:
    """A list setting: a list or tuple of strings, or one comma-separated string."""
    if _is_unset(value):
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


def _kinds(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset(defaults.ALERT_KINDS)
    kinds = [kind.lower() for kind in _names(value, "KWIFF_ALERT_KINDS")]
    known = ", ".join(ALL_KINDS)
    if not kinds:
        raise ValueError(f"KWIFF_ALERT_KINDS is empty: name at least one of {known}")
    unknown = [kind for kind in kinds if kind not in ALL_KINDS]
    if unknown:
        raise ValueError(
            f"KWIFF_ALERT_KINDS: unknown kind {unknown[0]!r}"
            f"{_did_you_mean(unknown[0], ALL_KINDS)}: use some of {known}"
        )
    return frozenset(kinds)


def _format(value: Any, webhook: str | None) -> str:
    if _is_unset(value):
        return format_for_webhook(webhook) if webhook is not None else "json"
    name = str(value).strip().lower()
    if name not in FORMATS:
        raise ValueError(f"KWIFF_ALERT_FORMAT must be one of {', '.join(FORMATS)}, not {value!r}")
    return name
