"""Every stats key kwiff_scrapy writes, named once, and the one helper that counts.

Components count with :func:`increment`; readers of stats (the ``scrapy kwiff``
command, tests) use the names and helpers here rather than spelling keys out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..connection.session import SessionStat

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

PREFIX = "kwiff/"


def session_key(stat: SessionStat) -> str:
    """The key of a session counter (``kwiff/commands_sent``...)."""
    return f"{PREFIX}{stat.value}"


# -- the connection layer (one per SessionStat) -----------------------------------------

CONNECTIONS_OPENED = session_key(SessionStat.CONNECTIONS_OPENED)
COMMANDS_SENT = session_key(SessionStat.COMMANDS_SENT)
ACKS_RECEIVED = session_key(SessionStat.ACKS_RECEIVED)
BYTES_RECEIVED = session_key(SessionStat.BYTES_RECEIVED)
UNSOLICITED_EVENTS = session_key(SessionStat.UNSOLICITED_EVENTS)
MALFORMED_FRAMES = session_key(SessionStat.MALFORMED_FRAMES)
ACKS_LATE = session_key(SessionStat.ACKS_LATE)
ACKS_DUPLICATE = session_key(SessionStat.ACKS_DUPLICATE)
ACKS_UNKNOWN = session_key(SessionStat.ACKS_UNKNOWN)

# -- the download handler ---------------------------------------------------------------

HANDSHAKES_REFUSED = f"{PREFIX}handshakes_refused/"


def handshakes_refused(status: int) -> str:
    """``kwiff/handshakes_refused/<status>``."""
    return f"{HANDSHAKES_REFUSED}{status}"


def refused_statuses(stats: Mapping[str, Any]) -> list[int]:
    """The HTTP statuses of refused handshakes counted in *stats*, in order."""
    return sorted(
        int(key.removeprefix(HANDSHAKES_REFUSED))
        for key in stats
        if key.startswith(HANDSHAKES_REFUSED) and key.removeprefix(HANDSHAKES_REFUSED).isdigit()
    )


# -- the spiders -------------------------------------------------------------------------

ANSWER_ERRORS = f"{PREFIX}answer_errors"
EVENTS_PARSED = f"{PREFIX}events_parsed"
EVENT_DETAILS_PARSED = f"{PREFIX}event_details_parsed"
EVENT_DETAILS_FALLBACK = f"{PREFIX}event_details_fallback"
EVENTS_NOT_FOUND = f"{PREFIX}events_not_found"
BETBUILDER_PRICED = f"{PREFIX}betbuilder/priced"
BETBUILDER_UNPRICED = f"{PREFIX}betbuilder/unpriced"
BETBUILDER_UNANSWERED = f"{PREFIX}betbuilder/unanswered"
PARSE_SKIPPED = f"{PREFIX}parse/skipped/"


def parse_skipped(reason: str) -> str:
    """``kwiff/parse/skipped/<reason>`` (see :data:`kwiff_scrapy.model.parsing.SKIP_REASONS`)."""
    return f"{PARSE_SKIPPED}{reason}"


# -- the watch spider --------------------------------------------------------------------

WATCH_POLLS = f"{PREFIX}watch/polls"
WATCH_FAILED_POLLS = f"{PREFIX}watch/failed_polls"
WATCH_OVERRUNS = f"{PREFIX}watch/overrun"
WATCH_PUSHED_EVENTS = f"{PREFIX}watch/pushed_events"
WATCH_CHANGES = f"{PREFIX}watch/changes/"
WATCH_EVENT_CHANGES = f"{PREFIX}watch/event_changes/"


def watch_change(kind: str) -> str:
    """``kwiff/watch/changes/<kind>``: odds changes yielded, by kind (new, moved...)."""
    return f"{WATCH_CHANGES}{kind}"


def watch_event_change(kind: str) -> str:
    """``kwiff/watch/event_changes/<kind>``: event changes yielded (new, removed, status)."""
    return f"{WATCH_EVENT_CHANGES}{kind}"


# -- the alerts pipeline -----------------------------------------------------------------

ALERTS_SENT = f"{PREFIX}alerts/sent"
ALERTS_FAILED = f"{PREFIX}alerts/failed"
ALERTS_SUPPRESSED = f"{PREFIX}alerts/suppressed"


# -- the odds history pipeline -----------------------------------------------------------

HISTORY_PRICES_WRITTEN = f"{PREFIX}history/prices_written"
HISTORY_PRICES_UNCHANGED = f"{PREFIX}history/prices_unchanged"
HISTORY_PRICES_SKIPPED = f"{PREFIX}history/prices_skipped"
HISTORY_BATCHES = f"{PREFIX}history/batches"
HISTORY_ERRORS = f"{PREFIX}history/errors"
HISTORY_DROPPED = f"{PREFIX}history/dropped"


def increment(crawler: Crawler, key: str, count: int = 1) -> None:
    """Add *count* to *key* in the crawl's stats (nothing if the crawler has none yet)."""
    if crawler.stats is not None:
        crawler.stats.inc_value(key, count)
