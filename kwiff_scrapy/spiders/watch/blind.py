"""A blind watch says so: after ``KWIFF_WATCH_BLIND_AFTER`` failed polls in a row, once,
and once again when it sees again (not per poll).

:class:`Blindness` counts one watch's (or one worker's) polls and says when it went
blind and when it sees again; :func:`failure_reason` names why a poll failed, in a
few words for the notice (``handshake refused with HTTP 403``); :func:`blind_text` and
:func:`seeing_text` are the notices::

    kwiff_watch football GB has seen nothing since 12:03 UTC: handshake refused with
    HTTP 403 (3 polls)
    kwiff_watch football GB sees again at 12:10 UTC, after 7 failed polls (nothing
    seen since 12:03 UTC)

The spider logs each at WARNING, counts it (``kwiff/watch/blind``,
``kwiff/watch/sees_again``) and sends it as the ``watch_notice`` signal, which the
alerts pipeline posts through every route. A shared watch says it once, whichever
worker notices first: the watch's claim in Redis (see ``SharedWatch.claim_notice``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
)
from scrapy.spidermiddlewares.httperror import HttpError

from ... import defaults
from ...model.sports import sport_name

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

SETTING = "KWIFF_WATCH_BLIND_AFTER"
#: The flag of a response that stands for a refused handshake (the download handler's).
HANDSHAKE_REFUSED_FLAG = "kwiff_handshake_refused"


def blind_after(settings: BaseSettings) -> int:
    """``KWIFF_WATCH_BLIND_AFTER``: failed polls in a row before the notice; 0: never."""
    raw = settings.get(SETTING)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return defaults.WATCH_BLIND_AFTER
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = -1
    if value < 0 or isinstance(raw, bool) or (isinstance(raw, float) and raw != value):
        raise ValueError(
            f"{SETTING} must be a whole number of failed polls in a row (3), or 0 for no "
            f"notice, not {raw!r}"
        )
    return value


def failure_reason(error: Any) -> str:
    """Why a poll's command failed, in a few words (never a URL: it may carry a secret)."""
    if isinstance(error, HttpError):
        response = error.response
        if HANDSHAKE_REFUSED_FLAG in response.flags:
            return f"handshake refused with HTTP {response.status}"
        return f"HTTP {response.status}"
    if isinstance(error, DownloadConnectionRefusedError):
        return "connection refused"
    if isinstance(error, CannotResolveHostError):
        return "cannot resolve the service's host"
    if isinstance(error, DownloadTimeoutError):
        return "no answer in time"
    if isinstance(error, DownloadFailedError):
        return "the connection failed"
    if isinstance(error, str):
        return error
    return type(error).__name__


@dataclass
class Transition:
    """The watch went blind (``blind``) or sees again: what to say, once."""

    blind: bool
    #: Failed polls in a row so far (blind), or in all (seeing again).
    failed: int
    #: The last poll that saw (or the watch's start), and now.
    seen_at: datetime
    at: datetime
    reason: str


class Blindness:
    """Failed polls in a row, and whether the watch is blind (said so) now."""

    def __init__(self, after: int, started: datetime) -> None:
        self.after = after
        self.failed = 0
        self.seen_at = started
        self.blind = False
        self.reason = "unknown"

    def note(self, reason: str) -> None:
        """Why the poll in progress failed (the last reason given wins)."""
        self.reason = reason

    def poll(self, failed: bool, now: datetime) -> Transition | None:
        """A poll finished: the transition it makes, if any."""
        if failed:
            self.failed += 1
            if self.after and not self.blind and self.failed >= self.after:
                self.blind = True
                return Transition(True, self.failed, self.seen_at, now, self.reason)
            return None
        transition = None
        if self.blind:
            self.blind = False
            transition = Transition(False, self.failed, self.seen_at, now, self.reason)
        self.failed = 0
        self.seen_at = now
        return transition


def _moment(moment: datetime, now: datetime) -> str:
    """``12:03 UTC``, with the date when it is not *now*'s."""
    text = f"{moment:%H:%M} UTC"
    return text if moment.date() == now.date() else f"{moment:%Y-%m-%d} {text}"


def watch_title(name: str, sport_id: int, country: str) -> str:
    """``kwiff_watch football GB``."""
    sport = sport_name(sport_id)
    return f"{name} {sport.lower() if sport else f'sport {sport_id}'} {country}"


def notice_text(title: str, transition: Transition) -> str:
    seen = _moment(transition.seen_at, transition.at)
    if transition.blind:
        return (
            f"{title} has seen nothing since {seen}: {transition.reason} "
            f"({transition.failed} polls)"
        )
    return (
        f"{title} sees again at {_moment(transition.at, transition.at)}, after "
        f"{transition.failed} failed polls (nothing seen since {seen})"
    )
