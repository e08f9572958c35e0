"""The ``KWIFF_ALERT_*`` settings, read and checked once into one :class:`AlertSettings`.

A bad value raises ``ValueError`` with one line naming the setting, when the
pipeline is built: before the crawl sends anything. The webhook URL is a secret
(Discord and Slack put the token in it), so no message here repeats it, and a plain
``http://`` one is refused unless it is on this machine (its token would cross the
network unencrypted). A setting that is valid but could never act is refused too
(``KWIFF_ALERT_MIN_CHANGE=15``, meaning 15 %, would be 1,500 %). Two Scrapy
settings apply to webhook requests too: ``USER_AGENT``, and ``HTTPPROXY_ENABLED``
(the proxy environment variables are used unless it is False).

``KWIFF_ALERT_ROUTES`` is read here too (:mod:`.alert_routes` checks each route), after
the one route ``KWIFF_ALERT_WEBHOOK`` / ``KWIFF_ALERT_LOG`` make for raw changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import defaults
from ..integration.json_setting import read_json_setting
from ..integration.signal_settings import SignalSettings
from . import alert_values as values
from .alert_messages import FORMATS, AlertRules, format_for_webhook
from .alert_routes import DEFAULT_ROUTE, ROUTES_SHAPE, Destination, Route, parse_routes
from .alert_transport import tls_context
from .alert_values import is_unset

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
    #: ``KWIFF_ALERT_ROUTES``, after the route of ``KWIFF_ALERT_WEBHOOK`` / ``_LOG`` if set.
    routes: tuple[Route, ...] = ()
    #: True when ``KWIFF_ALERT_ROUTES`` is set: each route counts its own stats too.
    named_routes: bool = False
    #: ``KWIFF_ALERT_TELEGRAM_URL``: the Bot API's base URL (a local server in tests).
    telegram_url: str = defaults.ALERT_TELEGRAM_URL

    @property
    def enabled(self) -> bool:
        """True when alerts go somewhere: a webhook, the log, or both."""
        return bool(self.routes) or self.webhook is not None or self.log

    def route_list(self) -> tuple[Route, ...]:
        """The routes, made from the ``KWIFF_ALERT_WEBHOOK`` / ``_LOG`` fields when the
        settings were not read by :meth:`from_settings` (tests build them by hand)."""
        if self.routes or not (self.webhook is not None or self.log):
            return self.routes
        return (self._default_route(),)

    def _default_route(self) -> Route:
        destination = Destination(self.webhook, self.format) if self.webhook else None
        return Route(
            DEFAULT_ROUTE,
            changes=self.rules,
            destination=destination,
            log=self.log,
            market_names=self.market_names,
            competition_names=self.competition_names,
        )

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> AlertSettings:
        """Read and validate; a bad value raises ``ValueError`` naming the setting."""
        webhook = values.webhook_url(settings.get("KWIFF_ALERT_WEBHOOK"), "KWIFF_ALERT_WEBHOOK")
        min_odds, max_odds = (
            values.optional_odds(settings.get(name), name)
            for name in ("KWIFF_ALERT_MIN_ODDS", "KWIFF_ALERT_MAX_ODDS")
        )
        values.odds_bounds(min_odds, max_odds, "KWIFF_ALERT_MIN_ODDS", "KWIFF_ALERT_MAX_ODDS")
        market_names = tuple(
            values.names(settings.get("KWIFF_ALERT_MARKETS"), "KWIFF_ALERT_MARKETS")
        )
        competition_names = tuple(
            values.names(settings.get("KWIFF_ALERT_COMPETITIONS"), "KWIFF_ALERT_COMPETITIONS")
        )
        kinds = settings.get("KWIFF_ALERT_KINDS")
        rules = AlertRules(
            kinds=(
                frozenset(defaults.ALERT_KINDS)
                if kinds is None
                else values.kinds(kinds, "KWIFF_ALERT_KINDS")
            ),
            competitions=frozenset(name.casefold() for name in competition_names),
            markets=frozenset(name.casefold() for name in market_names),
            min_change=values.min_change(
                settings.get("KWIFF_ALERT_MIN_CHANGE"), "KWIFF_ALERT_MIN_CHANGE"
            ),
            direction=values.direction(
                settings.get("KWIFF_ALERT_DIRECTION"), "KWIFF_ALERT_DIRECTION"
            ),
            min_odds=min_odds,
            max_odds=max_odds,
        )
        timeout = _number(settings, "KWIFF_ALERT_TIMEOUT", defaults.ALERT_TIMEOUT)
        if timeout == 0:
            raise ValueError("KWIFF_ALERT_TIMEOUT must be more than 0 seconds")
        verify_tls = _bool(settings, "KWIFF_ALERT_VERIFY_TLS", defaults.ALERT_VERIFY_TLS)
        ca_file = _ca_file(settings.get("KWIFF_ALERT_CA_FILE"), verify_tls)
        user_agent = settings.get("USER_AGENT")
        telegram_url = (
            values.webhook_url(settings.get("KWIFF_ALERT_TELEGRAM_URL"), "KWIFF_ALERT_TELEGRAM_URL")
            or defaults.ALERT_TELEGRAM_URL
        )
        log = _bool(settings, "KWIFF_ALERT_LOG")
        given = settings.get("KWIFF_ALERT_ROUTES")
        routes: list[Route] = []
        if webhook is not None or log:
            fmt = _format(settings.get("KWIFF_ALERT_FORMAT"), webhook)
            routes.append(
                Route(
                    DEFAULT_ROUTE,
                    changes=rules,
                    destination=Destination(webhook, fmt) if webhook is not None else None,
                    log=log,
                    market_names=market_names,
                    competition_names=competition_names,
                )
            )
        if not is_unset(given):
            raw, where = read_json_setting(given, "KWIFF_ALERT_ROUTES", ROUTES_SHAPE)
            signals = SignalSettings.from_settings(settings)
            routes += parse_routes(
                raw,
                where,
                signal_rules=[rule.name for rule in signals.rules] if signals.enabled else None,
                filters=rules,
                telegram_url=telegram_url,
            )
        return cls(
            routes=tuple(routes),
            named_routes=not is_unset(given),
            telegram_url=telegram_url,
            webhook=webhook,
            log=log,
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


def _bool(settings: BaseSettings, name: str, default: bool = False) -> bool:
    try:
        return settings.getbool(name, default)
    except ValueError:
        raise ValueError(
            f"{name} must be True or False (or 1/0, true/false), not {settings.get(name)!r}"
        ) from None


def _ca_file(value: Any, verify_tls: bool) -> str | None:
    if is_unset(value):
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
    if is_unset(raw):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a number of 0 or more, not {raw!r}")
    return value


def _whole(settings: BaseSettings, name: str, default: int) -> int:
    raw = settings.get(name)
    if is_unset(raw):
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
    if is_unset(raw):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be decimal odds such as 1.5, not {raw!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be decimal odds above 0, not {raw!r}")
    return value


def _format(value: Any, webhook: str | None) -> str:
    if is_unset(value):
        return format_for_webhook(webhook) if webhook is not None else "json"
    name = str(value).strip().lower()
    if name not in FORMATS:
        raise ValueError(f"KWIFF_ALERT_FORMAT must be one of {', '.join(FORMATS)}, not {value!r}")
    return name
