"""What the alerts pipeline says, and to whom (pure: no I/O, no clock, no Scrapy crawl).

- :class:`AlertRules` decides which changes are worth an alert.
- :func:`format_line` writes one change, or one signal, as one line (here cut in two)::

      Arsenal v Juventus · Full Time Result · Arsenal 1.67 → 1.90 (+13.8%)
      · kick-off 2026-12-08 17:45 UTC
      drop: Arsenal v Juventus · Full Time Result · Arsenal 2.00 → 1.80 (-10.0%)
      within 60 min · kick-off 2026-12-08 17:45 UTC

- :func:`split_messages` packs the lines of one batch into messages that each stay
  within Discord's 2,000-character limit.
- :func:`message_body` is the JSON body of one message in a webhook format
  (``discord``, ``slack``, ``json``); :func:`format_for_webhook` picks the format
  from the webhook's host.
- :func:`retry_after_seconds` reads an HTTP ``Retry-After`` header,
  :func:`telegram_retry_after` the wait a Telegram 429 asks for in its body.
- :func:`describe_webhook` and :func:`redact` keep the webhook's token out of logs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .. import defaults
from ..model.changes import relative_change
from ..model.items import EventChange, OddsChange
from ..model.signals import MARGIN, STEAM, SUSPENSIONS, OddsSignal
from ..model.values import minute_utc, parse_service_time

Change = OddsChange | EventChange
#: What an alert line reports: a change of the watch, or a signal of its detectors.
Alertable = OddsChange | EventChange | OddsSignal

#: Kinds of ``OddsChange`` (see :class:`~kwiff_scrapy.model.items.OddsChange`).
ODDS_KINDS = ("new", "moved", "suspended", "resumed", "removed")
#: Kinds of ``EventChange``, as ``KWIFF_ALERT_KINDS`` names them: ``event_`` + its kind.
EVENT_KINDS = ("event_new", "event_removed", "event_status")
ALL_KINDS = ODDS_KINDS + EVENT_KINDS

#: ``KWIFF_ALERT_DIRECTION``: moves whose odds shortened, lengthened, or either.
DROPS = "drops"
DRIFTS = "drifts"
BOTH = "both"
DIRECTIONS = (DROPS, DRIFTS, BOTH)

DISCORD = "discord"
SLACK = "slack"
JSON = "json"
FORMATS = (DISCORD, SLACK, JSON)
#: Telegram's Bot API ``sendMessage`` (a route's format: it needs a token and a chat id).
TELEGRAM = "telegram"

#: Shown for a value the change does not carry.
MISSING = "?"
#: Relative changes this close to ``KWIFF_ALERT_MIN_CHANGE`` count as reaching it
#: (``(1.8 - 2.0) / 2.0`` is ``-0.0999...`` in floating point, and is a 10% move).
_CHANGE_TOLERANCE = 1e-9


def alert_kind(change: Change) -> str:
    """The change's kind as ``KWIFF_ALERT_KINDS`` names it (``moved``, ``event_status``...)."""
    return f"event_{change.kind}" if isinstance(change, EventChange) else change.kind


def change_size(change: OddsChange) -> float | None:
    """The change's ``change``, or the relative change of its odds when the item lacks it."""
    if change.change is not None:
        return change.change
    return relative_change(change.previous_odds, change.odds)


@dataclass(frozen=True, slots=True)
class AlertRules:
    """Which changes are alerted (``KWIFF_ALERT_KINDS``, ``_COMPETITIONS``, ``_MARKETS``,
    ``_MIN_CHANGE``, ``_DIRECTION``, ``_MIN_ODDS``, ``_MAX_ODDS``).

    An ``OddsChange`` passes when all of these hold:

    - its kind is one of ``kinds``;
    - ``competitions`` is empty, or names its competition (case-insensitively);
    - ``markets`` is empty, or names its market (case-insensitively);
    - the odds are within ``min_odds`` .. ``max_odds`` (bounds included): its new
      odds, or its previous odds when it has none now (``removed``);
    - for ``moved`` only: the relative change, in either direction, is at least
      ``min_change``. A move whose size is unknown passes only when ``min_change`` is 0;
    - for ``moved`` only: its direction is ``direction``'s: ``drops`` (the odds
      shortened), ``drifts`` (they lengthened) or ``both``. A move whose direction is
      unknown passes only with ``both``.

    An ``EventChange`` passes when ``event_<kind>`` is one of ``kinds`` and the
    competition rule holds; the market, odds, size and direction rules do not apply
    to it. A value a rule needs but the change does not carry (no competition or
    market name, no odds) fails that rule.
    """

    kinds: frozenset[str] = frozenset(defaults.ALERT_KINDS)
    #: Competition names, case-folded; empty: every competition.
    competitions: frozenset[str] = frozenset()
    #: Market names, case-folded; empty: every market.
    markets: frozenset[str] = frozenset()
    min_change: float = defaults.ALERT_MIN_CHANGE
    direction: str = defaults.ALERT_DIRECTION
    min_odds: float | None = None
    max_odds: float | None = None

    def accepts(self, change: Change) -> bool:
        if alert_kind(change) not in self.kinds or not self._competition_passes(change):
            return False
        if isinstance(change, EventChange):
            return True
        return (
            self._market_passes(change)
            and self._odds_pass(change)
            and self._size_passes(change)
            and self._direction_passes(change)
        )

    def _competition_passes(self, change: Change) -> bool:
        if not self.competitions:
            return True
        name = change.competition_name
        return name is not None and name.casefold() in self.competitions

    def _market_passes(self, change: OddsChange) -> bool:
        if not self.markets:
            return True
        return change.market_name is not None and change.market_name.casefold() in self.markets

    def _odds_pass(self, change: OddsChange) -> bool:
        if self.min_odds is None and self.max_odds is None:
            return True
        odds = change.odds if change.odds is not None else change.previous_odds
        if odds is None:
            return False
        if self.min_odds is not None and odds < self.min_odds:
            return False
        return self.max_odds is None or odds <= self.max_odds

    def _size_passes(self, change: OddsChange) -> bool:
        if change.kind != "moved" or self.min_change <= 0:
            return True
        size = change_size(change)
        return size is not None and abs(size) >= self.min_change - _CHANGE_TOLERANCE

    def _direction_passes(self, change: OddsChange) -> bool:
        if change.kind != "moved" or self.direction == BOTH:
            return True
        shortened = move_direction(change)
        return shortened is not None and shortened == (self.direction == DROPS)


def move_direction(change: OddsChange) -> bool | None:
    """True if the odds shortened (a drop), False if they lengthened (a drift), None
    if unknown: from the odds, else from the sign of the item's ``change``."""
    if change.odds is not None and change.previous_odds is not None:
        if change.odds == change.previous_odds:
            return None
        return change.odds < change.previous_odds
    if change.change:
        return change.change < 0
    return None


# -- one line per change ---------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None or value == "":
        return MISSING
    if isinstance(value, str):
        return value
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _odds(value: float | None) -> str:
    return MISSING if value is None or not math.isfinite(value) else f"{value:.2f}"


def _event_name(change: Alertable) -> str:
    if change.home_team is None and change.away_team is None:
        return f"event {change.event_id}"
    return f"{_text(change.home_team)} v {_text(change.away_team)}"


def _kickoff(change: Alertable) -> str:
    """`` · kick-off 2026-12-08 17:45 UTC``, or nothing when the change has no start time."""
    if not change.start_time:
        return ""
    moment = parse_service_time(change.start_time)
    when = _text(change.start_time) if moment is None else f"{minute_utc(moment)} UTC"
    return f" · kick-off {when}"


def format_line(change: Alertable) -> str:
    """One change as one line, e.g. ``Arsenal v Juventus · Full Time Result · Arsenal 1.67 →
    1.90 (+13.8%) · kick-off 2026-12-08 17:45 UTC``. A value the change does not carry is
    shown as ``?``; the kick-off, when the service sent it, in UTC. A signal's line is
    :func:`signal_line`'s."""
    if isinstance(change, OddsSignal):
        return signal_line(change)
    if isinstance(change, EventChange):
        return f"{_event_name(change)} · {_event_what(change)}{_kickoff(change)}"
    what = f"{_text(change.market_name)} · {_outcome_what(change)}"
    return f"{_event_name(change)} · {what}{_kickoff(change)}"


def _outcome_what(change: OddsChange) -> str:
    outcome = _text(change.outcome_name)
    odds, previous = _odds(change.odds), _odds(change.previous_odds)
    if change.kind == "moved":
        size = change_size(change)
        percent = MISSING if size is None else f"{size:+.1%}"
        return f"{outcome} {previous} → {odds} ({percent})"
    if change.kind == "new":
        return f"{outcome} new at {odds}"
    if change.kind == "suspended":
        was = previous if change.previous_odds is not None else odds
        return f"{outcome} suspended (was {was})"
    if change.kind == "resumed":
        moved = change.previous_odds is not None and change.previous_odds != change.odds
        return f"{outcome} resumed at {odds}" + (f" (was {previous})" if moved else "")
    if change.kind == "removed":
        return f"{outcome} removed (was {previous})"
    return f"{outcome} {_text(change.kind)}: {previous} → {odds}"


def _event_what(change: EventChange) -> str:
    if change.kind == "new":
        return "new event"
    if change.kind == "removed":
        return "event removed"
    if change.kind == "status":
        play = {True: "in play", False: "not in play", None: None}.get(change.in_play)
        if change.betting_status == change.previous_betting_status:
            # The watch reports a status change when either differs: here, in play.
            return f"now {play}" if play else f"status {_text(change.betting_status)}"
        previous, current = _text(change.previous_betting_status), _text(change.betting_status)
        return f"status {previous} → {current}" + (" · in play" if change.in_play else "")
    return f"event {_text(change.kind)}"


def _window(seconds: float) -> str:
    """``60 min``, ``45 s``, ``1.5 min``: a rule's window as the docs write it."""
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _rule_name(signal: OddsSignal) -> str:
    """``drop``, or ``early drop (drop)`` for a rule named apart from its kind."""
    return signal.rule if signal.rule == signal.kind else f"{signal.rule} ({signal.kind})"


def _price_move(signal: OddsSignal) -> str:
    """``Arsenal 2.00 → 1.80 (-10.0%)``: the outcome, from → to, and the change."""
    change = signal.change
    if change is None:
        change = relative_change(signal.from_odds, signal.to_odds)
    percent = MISSING if change is None else f"{change:+.1%}"
    return (
        f"{_text(signal.outcome_name)} {_odds(signal.from_odds)} → {_odds(signal.to_odds)} "
        f"({percent})"
    )


def signal_line(signal: OddsSignal) -> str:
    """One signal as one line: its rule, the teams, the market, the outcome, from → to
    with the change, the rule's window and the kick-off (one example per kind, each
    without its ``· kick-off 2026-12-08 17:45 UTC``)::

        drop: Arsenal v Juventus · Full Time Result · Arsenal 2.00 → 1.80 (-10.0%) within 60 min
        drift: Arsenal v Juventus · Full Time Result · Draw 3.40 → 3.95 (+16.2%) within 60 min
        steam: Arsenal v Juventus · Full Time Result · Arsenal 2.00 → 1.88 (-6.0%), Draw and
            Juventus drifting, within 30 min
        steam: Arsenal v Juventus · 3 outcomes shortening together within 30 min, the most:
            Full Time Result · Arsenal 2.00 → 1.88 (-6.0%)
        margin: Arsenal v Juventus · Full Time Result · overround +3.4 points within 30 min
        suspensions: Arsenal v Juventus · 5 markets suspended within 60 s: Full Time Result,
            Both Teams To Score, ...
    """
    head = f"{_rule_name(signal)}: {_event_name(signal)}"
    within = f"within {_window(signal.window)}"
    market = _text(signal.market_name)
    if signal.kind == MARGIN:
        points = MISSING
        if signal.probability_change is not None:
            points = f"{signal.probability_change * 100:+.1f} points"
        what = f"{market} · overround {points} {within}"
    elif signal.kind == SUSPENSIONS:
        names = ", ".join(_text(name) for name in signal.markets)
        what = f"{len(signal.markets)} markets suspended {within}: {names}"
    elif signal.kind == STEAM and signal.outcomes[:1] not in ([], [signal.outcome_name or ""]):
        # Across an event: the outcomes are "market / outcome", the strongest one shown.
        what = (
            f"{len(signal.outcomes)} outcomes shortening together {within}, the most: "
            f"{market} · {_price_move(signal)}"
        )
    elif signal.kind == STEAM:
        others = [_text(name) for name in signal.outcomes[1:]]
        drifting = " and ".join([", ".join(others[:-1]), others[-1]] if len(others) > 1 else others)
        what = f"{market} · {_price_move(signal)}, {drifting or 'the others'} drifting, {within}"
    else:  # drop, drift
        what = f"{market} · {_price_move(signal)} {within}"
    return f"{head} · {what}{_kickoff(signal)}"


# -- messages --------------------------------------------------------------------------


def message_length(text: str) -> int:
    """Length as Discord counts it (UTF-16 code units: never less than ``len(text)``)."""
    return len(text.encode("utf-16-le")) // 2


def _clip(line: str, limit: int) -> str:
    """*line* cut to *limit* (with an ellipsis) if it is longer."""
    if message_length(line) <= limit:
        return line
    clipped = line[: limit - 1]  # code points: at least as many UTF-16 units
    while message_length(clipped) > limit - 1:
        clipped = clipped[:-1]
    return clipped + "…"


@dataclass(frozen=True, slots=True)
class Message:
    """One webhook message: its text (one line per change or signal) and what it reports.

    A *notice* (the watch went blind, or sees again) reports no change: ``changes`` is
    empty and its text is the notice.
    """

    text: str
    changes: tuple[Alertable, ...]
    notice: bool = False

    @property
    def count(self) -> int:
        return len(self.changes)


def split_messages(
    changes: list[Alertable] | tuple[Alertable, ...], limit: int = defaults.ALERT_MESSAGE_LIMIT
) -> list[Message]:
    """The lines of *changes*, in order, packed into as few messages as fit in *limit*
    characters each (lines joined by newlines; a line longer than *limit* is cut)."""
    if limit < 2:
        raise ValueError(f"a message limit must be 2 or more, not {limit}")
    messages: list[Message] = []
    lines: list[str] = []
    batch: list[Alertable] = []
    length = 0
    for change in changes:
        line = _clip(format_line(change), limit)
        added = message_length(line) + (1 if lines else 0)
        if lines and length + added > limit:
            messages.append(Message("\n".join(lines), tuple(batch)))
            lines, batch, length = [], [], 0
            added = message_length(line)
        lines.append(line)
        batch.append(change)
        length += added
    if lines:
        messages.append(Message("\n".join(lines), tuple(batch)))
    return messages


def _slack_escape(text: str) -> str:
    """Slack reads ``&``, ``<`` and ``>`` as markup: they must be sent as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message_body(format_name: str, message: Message) -> dict[str, Any]:
    """The JSON body of *message* for a webhook of *format_name*.

    ``discord``: ``{"content": text, "allowed_mentions": {"parse": []}}`` (names from the
    service can never ping anyone); ``slack``: ``{"text": text}`` (with ``&<>`` escaped
    as Slack requires); ``json``: ``{"text": text, "changes": [each change as a dict]}``,
    plus ``"signals": [each signal as a dict]`` when the message reports signals, and
    ``"notice": true`` for a notice of the watch (it went blind, or sees again).
    """
    if format_name == DISCORD:
        return {"content": message.text, "allowed_mentions": {"parse": []}}
    if format_name == SLACK:
        return {"text": _slack_escape(message.text)}
    if format_name == JSON:
        body: dict[str, Any] = {
            "text": message.text,
            "changes": [
                dataclasses.asdict(change)
                for change in message.changes
                if not isinstance(change, OddsSignal)
            ],
        }
        signals = [
            dataclasses.asdict(item) for item in message.changes if isinstance(item, OddsSignal)
        ]
        if signals:
            body["signals"] = signals
        if message.notice:
            body["notice"] = True
        return body
    raise ValueError(f"unknown alert format {format_name!r}: use one of {', '.join(FORMATS)}")


# -- webhooks --------------------------------------------------------------------------


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def format_for_webhook(url: str) -> str:
    """``discord`` for a Discord webhook, ``slack`` for a Slack one, else ``json``."""
    host = _host(url)
    if any(host == name or host.endswith(f".{name}") for name in ("discord.com", "discordapp.com")):
        return DISCORD
    if host == "slack.com" or host.endswith(".slack.com"):
        return SLACK
    return JSON


def describe_webhook(url: str) -> str:
    """The webhook URL without its path, query or credentials, for logs: a webhook URL
    is a secret (Discord and Slack put the token in the path)."""
    parts = urlsplit(url)
    host = parts.hostname or MISSING
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


#: Parts of a webhook URL shorter than this are not looked for in a text: they would
#: match ordinary words and numbers (Discord's ids and tokens, Slack's, are far longer).
_SHORTEST_SECRET = 6
#: A path segment made of letters only and shorter than this (``api``, ``webhooks``,
#: ``services``) names a place, not a secret.
_LONGEST_WORD = 16


def redact(text: str, url: str) -> str:
    """*text* with the webhook *url* written as :func:`describe_webhook` writes it, and
    every secret-looking part of it (credentials, the path, a path segment that is not
    a plain word, the query and its values) replaced by ``…``; each as given, or with
    any of its characters percent-encoded."""
    text = _spelled_any_way(unquote(url)).sub(lambda _: describe_webhook(url), text)
    for secret in _secrets(url):
        text = _spelled_any_way(secret).sub("…", text)
    return text


def _secrets(url: str) -> list[str]:
    """The parts of *url* :func:`redact` hides, decoded, longest first."""
    parts = urlsplit(url)
    pieces = [parts.username, parts.password, parts.path, parts.query, parts.fragment]
    pieces += [
        segment
        for segment in parts.path.split("/")
        if not (segment.isalpha() and len(segment) < _LONGEST_WORD)
    ]
    pieces += [value for _, value in parse_qsl(parts.query)]
    secrets = {unquote(piece) for piece in pieces if piece}
    return sorted((s for s in secrets if len(s) >= _SHORTEST_SECRET), key=len, reverse=True)


def _spelled_any_way(text: str) -> re.Pattern[str]:
    """Matches *text* with any of its characters percent-encoded (UTF-8, either case)."""
    return re.compile(
        "".join(
            f"(?:{re.escape(char)}|{''.join(f'%{byte:02x}' for byte in char.encode())})"
            for char in text
        ),
        re.IGNORECASE,
    )


def retry_after_seconds(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header (delay seconds, which may
    have a fraction, or an HTTP date); None if absent or unreadable. Never negative."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def telegram_retry_after(body: bytes) -> float | None:
    """Seconds to wait according to a Telegram error answer (``{"ok": false,
    "parameters": {"retry_after": 3}, ...}``, its 429); None if it says nothing."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    parameters = answer.get("parameters") if isinstance(answer, dict) else None
    seconds = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return max(0.0, float(seconds)) if math.isfinite(seconds) else None
