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
CONNECTIONS_CLOSED = session_key(SessionStat.CONNECTIONS_CLOSED)

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


#: Batches of commands sent as one request (:mod:`~kwiff_scrapy.integration.batch`).
BATCH_REQUESTS = f"{PREFIX}batch/requests"
#: The commands those batches held.
BATCH_COMMANDS = f"{PREFIX}batch/commands"
#: The commands of batches that got no answer (a timeout, a lost connection).
BATCH_COMMANDS_FAILED = f"{PREFIX}batch/commands_failed"


# -- the crawl as a whole ----------------------------------------------------------------

#: 1 when the crawl sent Kwiff commands and none was answered (``scrapy crawl`` exits 1).
NO_ANSWER = f"{PREFIX}no_answer"

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


WATCH_SIGNALS = f"{PREFIX}watch/signals/"


def watch_signal(rule: str) -> str:
    """An ``OddsSignal`` of the rule named *rule* the watch yielded."""
    return f"{WATCH_SIGNALS}{rule}"


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
HISTORY_SIGNALS_WRITTEN = f"{PREFIX}history/signals_written"
#: KWIFF_HISTORY_KEEP: price rows and whole events deleted as older than the setting.
HISTORY_PRICES_DELETED = f"{PREFIX}history/prices_deleted"
HISTORY_EVENTS_DELETED = f"{PREFIX}history/events_deleted"


def increment(crawler: Crawler, key: str, count: int = 1) -> None:
    """Add *count* to *key* in the crawl's stats (nothing if the crawler has none yet)."""
    if crawler.stats is not None:
        crawler.stats.inc_value(key, count)


# -- several workers sharing crawls and watches through Redis (kwiff_scrapy.distributed) --

#: Requests pushed to / popped from the shared queue (scrapy-redis's own names).
REDIS_ENQUEUED = "scheduler/enqueued/redis"
REDIS_DEQUEUED = "scheduler/dequeued/redis"
REDIS_PREFIX = f"{PREFIX}redis/"
#: Redis calls that failed (connection lost, timeout): each is retried with backoff.
REDIS_ERRORS = f"{REDIS_PREFIX}errors"
#: Times Redis became unreachable, and times it came back.
REDIS_OUTAGES = f"{REDIS_PREFIX}outages"
REDIS_RECOVERIES = f"{REDIS_PREFIX}recoveries"
#: Requests yielded while Redis was away: kept by the worker, queued once Redis is back.
REDIS_KEPT_DURING_OUTAGE = f"{REDIS_PREFIX}requests_kept_during_outage"
#: Requests taken from the shared queue that could not be read back: logged and dropped.
REDIS_UNDECODABLE = f"{REDIS_PREFIX}requests_undecodable"
#: Queue entries not signed with ``KWIFF_REDIS_SECRET`` (forged): dropped unread.
REDIS_FORGED = f"{REDIS_PREFIX}forged_entries"
#: Shared watch snapshots that could not be read (not kwiff_scrapy's): ignored, replaced.
REDIS_SNAPSHOTS_UNREADABLE = f"{REDIS_PREFIX}snapshots_unreadable"
#: Requests that cannot be serialised for the shared queue: kept and sent by this worker.
REDIS_KEPT_LOCAL = f"{REDIS_PREFIX}requests_kept_local"
#: Start requests of a worker that joined a crawl another worker had seeded: not sent.
REDIS_START_SKIPPED = f"{REDIS_PREFIX}start_requests_skipped"
#: Workers found gone (no sign of life for ``KWIFF_REDIS_WORKER_TIMEOUT``) with work taken.
REDIS_WORKERS_LOST = f"{REDIS_PREFIX}workers_lost"
#: Shared watch: polls claimed by this worker, leases found expired and handed on (taken
#: over from a worker gone), answers not compared because the poll's lease was lost, and
#: compare-and-set attempts that found the state changed under them (then retried).
WATCH_CLAIMED = f"{PREFIX}watch/claimed"
WATCH_LEASES_EXPIRED = f"{PREFIX}watch/leases_expired"
WATCH_LEASES_LOST = f"{PREFIX}watch/leases_lost"
WATCH_COMMIT_CONFLICTS = f"{PREFIX}watch/commit_conflicts"


# -- alert routes (KWIFF_ALERT_ROUTES) and the watch's notices -----------------------------

#: Items a route took during its quiet hours: dropped.
ALERTS_QUIET = f"{PREFIX}alerts/quiet"
#: The watch's notices (blind, seeing again) sent to a route, failed, or quiet (dropped).
ALERTS_NOTICES_SENT = f"{PREFIX}alerts/notices/sent"
ALERTS_NOTICES_FAILED = f"{PREFIX}alerts/notices/failed"
ALERTS_NOTICES_QUIET = f"{PREFIX}alerts/notices/quiet"
ALERT_ROUTES = f"{PREFIX}alerts/routes/"


def alert_route(route: str, key: str) -> str:
    """A route's own count of *key*: ``kwiff/alerts/routes/<route>/sent`` for
    ``kwiff/alerts/sent``."""
    return f"{ALERT_ROUTES}{route}/{key.removeprefix(f'{PREFIX}alerts/')}"


#: Times the watch went blind (``KWIFF_WATCH_BLIND_AFTER`` failed polls in a row), and
#: times it saw again; counted by the worker that said so.
WATCH_BLIND = f"{PREFIX}watch/blind"
WATCH_SEES_AGAIN = f"{PREFIX}watch/sees_again"
