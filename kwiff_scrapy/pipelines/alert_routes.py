"""Alert routes: which changes and signals go where, in which format, and when not.

A :class:`Route` takes raw changes by kind (``moved``, ``event_status``... with the
filters of :class:`~.alert_messages.AlertRules`), signals by rule name (the ``name``
of a rule of ``KWIFF_SIGNALS``), or both; sends them to its :class:`Destination` (a
webhook, or a Telegram chat), or only to the log; and drops what it takes during its
:class:`QuietHours`. ``KWIFF_ALERT_ROUTES`` is a list of routes; the older
``KWIFF_ALERT_WEBHOOK`` / ``KWIFF_ALERT_LOG`` settings make one route for raw changes.

:func:`parse_routes` checks a decoded ``KWIFF_ALERT_ROUTES`` once, at start: every
problem raises ``ValueError`` naming the route (``KWIFF_ALERT_ROUTES[1] 'steam'``) and
saying what to write, with the close match of a misspelt name. Secrets (a webhook
URL, a Telegram token or chat id) are never repeated in a message; any of them may be
written ``$NAME`` to be read from the environment variable ``NAME``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..model.items import EventChange, OddsChange
from ..model.signals import OddsSignal
from . import alert_values as values
from .alert_messages import (
    ALL_KINDS,
    FORMATS,
    TELEGRAM,
    Alertable,
    AlertRules,
    Message,
    describe_webhook,
    format_for_webhook,
    message_body,
    redact,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

SETTING = "KWIFF_ALERT_ROUTES"
#: The route the older ``KWIFF_ALERT_WEBHOOK`` / ``KWIFF_ALERT_LOG`` settings make.
DEFAULT_ROUTE = "default"
#: ``signals`` or ``changes`` of a route: every rule, every kind.
ALL = "all"
ROUTE_FORMATS = (*FORMATS, TELEGRAM)
ROUTE_FIELDS = (
    "name",
    "signals",
    "changes",
    "webhook",
    "format",
    "token",
    "chat_id",
    "log",
    "quiet_hours",
    "timezone",
    "min_change",
    "direction",
    "min_odds",
    "max_odds",
    "markets",
    "competitions",
)
ROUTES_SHAPE = (
    'a JSON list of routes such as [{"name": "steam", "signals": ["steam"], "webhook": '
    '"$STEAM_WEBHOOK"}, {"name": "drops", "changes": ["moved"], "direction": "drops"}], '
    "given inline or as the path of a JSON file"
)
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_TELEGRAM_TOKEN = re.compile(r"[^\s/?#]+")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """From ``start`` to ``end`` (minutes after midnight, in ``zone``): nothing is sent.

    ``end`` before ``start`` spans midnight (``22:00-07:00``)."""

    start: int
    end: int
    zone: str = "UTC"

    def covers(self, moment: datetime) -> bool:
        """True if *moment* (aware) falls in the quiet hours, on the route's clock."""
        local = moment.astimezone(ZoneInfo(self.zone))
        minute = local.hour * 60 + local.minute
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)} {self.zone}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a route's messages are POSTed: a webhook, or Telegram's ``sendMessage``.

    ``url`` carries a secret (a webhook's token; a bot's token for Telegram), as does
    ``chat_id``: logs use :meth:`describe` and :meth:`redact`, never these fields."""

    url: str = field(repr=False)
    format: str
    chat_id: str | None = field(default=None, repr=False)
    #: What else :meth:`redact` hides (a Telegram token, a chat id).
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def telegram(cls, base_url: str, token: str, chat_id: str) -> Destination:
        """Telegram's Bot API: ``<base_url>/bot<token>/sendMessage``."""
        url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        return cls(url, TELEGRAM, chat_id, (token, chat_id))

    def body(self, message: Message) -> dict[str, Any]:
        if self.format == TELEGRAM:
            return {"chat_id": self.chat_id, "text": message.text}
        return message_body(self.format, message)

    def describe(self) -> str:
        """``https://discord.com/…``; ``Telegram (https://api.telegram.org/…)``."""
        where = describe_webhook(self.url)
        return f"Telegram ({where})" if self.format == TELEGRAM else where

    def redact(self, text: str) -> str:
        text = redact(text, self.url)
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "…")
        return text


@dataclass(frozen=True, slots=True)
class Route:
    """One route: what it takes, where it sends it, and when it keeps quiet."""

    name: str
    #: The raw changes it takes, with their filters (None: none).
    changes: AlertRules | None = None
    #: The names of the signal rules it takes (None: none).
    signals: frozenset[str] | None = None
    #: None: the log only.
    destination: Destination | None = None
    #: Also log every message at INFO.
    log: bool = False
    quiet: QuietHours | None = None
    #: Market and competition names as written (``changes`` has them case-folded).
    market_names: tuple[str, ...] = ()
    competition_names: tuple[str, ...] = ()

    def takes(self, item: Alertable) -> bool:
        """True if this route looks at items of *item*'s sort (changes, or signals)."""
        if isinstance(item, OddsSignal):
            return self.signals is not None
        return self.changes is not None

    def accepts(self, item: Alertable) -> bool:
        """True if *item* passes this route's rules (quiet hours aside)."""
        if isinstance(item, OddsSignal):
            return self.signals is not None and item.rule in self.signals
        if isinstance(item, OddsChange | EventChange) and self.changes is not None:
            return self.changes.accepts(item)
        return False

    def quiet_at(self, moment: datetime) -> bool:
        return self.quiet is not None and self.quiet.covers(moment)

    def describe(self) -> str:
        return "the log" if self.destination is None else self.destination.describe()


def parse_routes(
    raw: Any,
    where: str,
    *,
    signal_rules: Sequence[str] | None,
    filters: AlertRules,
    telegram_url: str,
    environ: dict[str, str] | None = None,
) -> list[Route]:
    """The routes of a decoded ``KWIFF_ALERT_ROUTES``.

    *signal_rules* are the names of the watch's signal rules (None: signals are off);
    *filters* the ``KWIFF_ALERT_*`` filters a route's own ``min_change``... replace.
    """
    if not isinstance(raw, list | tuple):
        raise ValueError(f"{where} must be {ROUTES_SHAPE}, not {type(raw).__name__}")
    routes: list[Route] = []
    for index, entry in enumerate(raw):
        route = _RouteReader(
            entry, f"{where}[{index}]", signal_rules, filters, telegram_url, environ
        ).read()
        if route.name in {DEFAULT_ROUTE, *(other.name for other in routes)}:
            raise ValueError(
                f"{where}[{index}]: the name {route.name!r} is taken"
                + (
                    " (by the route of KWIFF_ALERT_WEBHOOK / KWIFF_ALERT_LOG)"
                    if route.name == DEFAULT_ROUTE
                    else " by an earlier route"
                )
                + ": give each route its own name"
            )
        routes.append(route)
    return routes


class _RouteReader:
    def __init__(
        self,
        entry: Any,
        where: str,
        signal_rules: Sequence[str] | None,
        filters: AlertRules,
        telegram_url: str,
        environ: dict[str, str] | None,
    ) -> None:
        self.entry = entry
        self.where = where
        self.signal_rules = signal_rules
        self.filters = filters
        self.telegram_url = telegram_url
        self.environ = os.environ if environ is None else environ

    def read(self) -> Route:
        entry = self.entry
        if not isinstance(entry, dict):
            raise ValueError(
                f"{self.where} must be an object such as "
                f'{{"name": "steam", "signals": ["steam"]}}, not {type(entry).__name__}'
            )
        unknown = [key for key in entry if key not in ROUTE_FIELDS]
        if unknown:
            key = str(unknown[0])
            raise ValueError(
                f"{self.where}: unknown field {key!r}{values.did_you_mean(key, ROUTE_FIELDS)}: "
                f"a route takes {', '.join(ROUTE_FIELDS)}"
            )
        name = entry.get("name", self.where.rsplit("[", 1)[-1].rstrip("]"))
        name = f"route{name}" if isinstance(name, str) and name.isdigit() else name
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(
                f"{self.where}: name must be 1 to 40 letters, digits, '_', '.' or '-' "
                f"(it names the route's stats), not {name!r}"
            )
        self.where = f"{self.where} {name!r}"
        signals = self._signals(entry.get("signals"))
        changes = self._changes(entry)
        if signals is None and changes is None:
            raise ValueError(
                f"{self.where} takes nothing: give it signals (rule names of KWIFF_SIGNALS, "
                f'or "all") and/or changes (kinds such as "moved", or "all")'
            )
        destination = self._destination(entry)
        log = entry.get("log", destination is None)
        if not isinstance(log, bool):
            raise ValueError(f"{self.where}: log must be true or false, not {log!r}")
        if destination is None and not log:
            raise ValueError(
                f"{self.where} goes nowhere: give it a webhook, a Telegram token and chat_id, "
                "or leave log unset (the log only)"
            )
        return Route(
            name=name,
            changes=changes[0] if changes is not None else None,
            signals=signals,
            destination=destination,
            log=log,
            quiet=self._quiet(entry.get("quiet_hours"), entry.get("timezone")),
            market_names=changes[1] if changes is not None else (),
            competition_names=changes[2] if changes is not None else (),
        )

    def _field(self, key: str) -> str:
        return f"{self.where}: {key}"

    def _signals(self, raw: Any) -> frozenset[str] | None:
        if values.is_unset(raw):
            return None
        known = list(self.signal_rules or ())
        if self.signal_rules is None:
            raise ValueError(
                f"{self.where} takes signals, but signals are off: set KWIFF_SIGNALS (or "
                "KWIFF_SIGNALS_ENABLED=True for the default rules)"
            )
        if raw == ALL:
            return frozenset(known)
        names = values.names(raw, self._field("signals"))
        for name in names:
            if name not in known:
                raise ValueError(
                    f"{self._field('signals')}: no signal rule is named {name!r}"
                    f"{values.did_you_mean(name, known)}: the rules of KWIFF_SIGNALS are "
                    f"{', '.join(known) or 'none'}"
                )
        return frozenset(names)

    def _changes(
        self, entry: dict[str, Any]
    ) -> tuple[AlertRules, tuple[str, ...], tuple[str, ...]] | None:
        raw = entry.get("changes")
        if values.is_unset(raw):
            for key in (
                "min_change",
                "direction",
                "min_odds",
                "max_odds",
                "markets",
                "competitions",
            ):
                if key in entry:
                    raise ValueError(
                        f"{self._field(key)} filters changes, but the route takes none: "
                        'give it changes (kinds such as "moved")'
                    )
            return None
        kinds = frozenset(ALL_KINDS) if raw == ALL else values.kinds(raw, self._field("changes"))
        base = self.filters
        min_odds = values.optional_odds(entry.get("min_odds"), self._field("min_odds"))
        max_odds = values.optional_odds(entry.get("max_odds"), self._field("max_odds"))
        min_odds = base.min_odds if "min_odds" not in entry else min_odds
        max_odds = base.max_odds if "max_odds" not in entry else max_odds
        values.odds_bounds(min_odds, max_odds, self._field("min_odds"), self._field("max_odds"))
        markets = tuple(values.names(entry.get("markets"), self._field("markets")))
        competitions = tuple(values.names(entry.get("competitions"), self._field("competitions")))
        rules = AlertRules(
            kinds=kinds,
            competitions=(
                frozenset(name.casefold() for name in competitions)
                if "competitions" in entry
                else base.competitions
            ),
            markets=(
                frozenset(name.casefold() for name in markets)
                if "markets" in entry
                else base.markets
            ),
            min_change=values.min_change(
                entry.get("min_change"), self._field("min_change"), base.min_change
            ),
            direction=values.direction(
                entry.get("direction"), self._field("direction"), base.direction
            ),
            min_odds=min_odds,
            max_odds=max_odds,
        )
        return rules, markets, competitions

    def _secret(self, key: str) -> str | None:
        """A secret field: as written, or ``$NAME``: the environment variable ``NAME``."""
        raw = self.entry.get(key)
        if isinstance(raw, int) and not isinstance(raw, bool) and key == "chat_id":
            raw = str(raw)
        if values.is_unset(raw):
            return None
        if not isinstance(raw, str):
            raise ValueError(f"{self._field(key)} must be a string, not {type(raw).__name__}")
        text = raw.strip()
        if text.startswith("$") and len(text) > 1:
            variable = text[1:]
            value = self.environ.get(variable, "").strip()
            if not value:
                raise ValueError(
                    f"{self._field(key)} is read from the environment variable {variable}, "
                    "which is not set (or empty)"
                )
            return value
        return text

    def _destination(self, entry: dict[str, Any]) -> Destination | None:
        fmt = entry.get("format")
        if not values.is_unset(fmt):
            fmt = str(fmt).strip().lower()
            if fmt not in ROUTE_FORMATS:
                raise ValueError(
                    f"{self._field('format')} must be one of {', '.join(ROUTE_FORMATS)}, "
                    f"not {entry['format']!r}{values.did_you_mean(fmt, ROUTE_FORMATS)}"
                )
        webhook = values.webhook_url(self._secret("webhook"), self._field("webhook"))
        token, chat_id = self._secret("token"), self._secret("chat_id")
        if webhook is not None and (token is not None or chat_id is not None):
            raise ValueError(f"{self.where}: a webhook, or a Telegram token and chat_id, not both")
        if token is not None or chat_id is not None or fmt == TELEGRAM:
            if token is None or chat_id is None:
                missing = "token" if token is None else "chat_id"
                raise ValueError(
                    f"{self.where}: Telegram needs a bot token and a chat_id; {missing} is "
                    'missing (write "$NAME" to read it from the environment)'
                )
            if fmt not in (None, TELEGRAM):
                raise ValueError(
                    f"{self._field('format')} is {fmt!r}, but a token and chat_id are for "
                    "Telegram: leave format out, or use a webhook"
                )
            if not _TELEGRAM_TOKEN.fullmatch(token):
                # Not echoed: the token is a secret.
                raise ValueError(
                    f"{self._field('token')} is not a Telegram bot token (it has a space, "
                    "'/', '?' or '#'): copy the token BotFather gave, such as 123456:ABC-DEF"
                )
            return Destination.telegram(self.telegram_url, token, chat_id)
        if webhook is None:
            if fmt is not None:
                raise ValueError(f"{self._field('format')} is set, but the route has no webhook")
            return None
        return Destination(webhook, fmt or format_for_webhook(webhook))

    def _quiet(self, raw: Any, zone: Any) -> QuietHours | None:
        name = "UTC"
        if not values.is_unset(zone):
            if not isinstance(zone, str):
                raise ValueError(f"{self._field('timezone')} must be a name such as Europe/London")
            name = zone.strip()
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                close = values.did_you_mean(name, sorted(available_timezones()))
                raise ValueError(
                    f"{self._field('timezone')}: no time zone is named {name!r}{close}: use an "
                    "IANA name such as Europe/London or UTC"
                ) from None
        if values.is_unset(raw):
            if not values.is_unset(zone):
                raise ValueError(
                    f"{self._field('timezone')} is the quiet hours' time zone, but quiet_hours "
                    'is not set: give it as "22:00-07:00"'
                )
            return None
        parts = str(raw).split("-")
        clocks = [_CLOCK.fullmatch(part.strip()) for part in parts] if len(parts) == 2 else []
        minutes = [
            int(match[1]) * 60 + int(match[2])
            for match in clocks
            if match and int(match[2]) < 60 and int(match[1]) * 60 + int(match[2]) <= 24 * 60
        ]
        if len(minutes) != 2 or minutes[0] == 24 * 60:
            raise ValueError(
                f"{self._field('quiet_hours')} must be two times of day, from-to, such as "
                f'"22:00-07:00" (in the route\'s timezone, UTC by default), not {raw!r}'
            )
        start, end = minutes
        if start == end % (24 * 60):
            raise ValueError(
                f"{self._field('quiet_hours')} starts when it ends ({raw!r}): a route that is "
                "never to send needs no route"
            )
        return QuietHours(start, end, name)
