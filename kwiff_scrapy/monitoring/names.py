"""Which Prometheus metric each stats key becomes: names, types and labels, in one place.

Scrapy's stats are a flat dict (``kwiff/watch/changes/moved``: 12). A key becomes a
sample of a metric family, by the first rule that matches:

- a family with a tail (:data:`TAIL_FAMILIES`): the tail becomes a label
  (``kwiff/watch/changes/moved`` -> ``kwiff_watch_changes_total{kind="moved"}``);
- one of Scrapy's main stats (:data:`SCRAPY_METRICS`), under its own name;
- any other ``kwiff/*`` key: a counter named after it (``kwiff/watch/polls`` ->
  ``kwiff_watch_polls_total``), except the gauges of :data:`KWIFF_GAUGES`.

Other keys are not exported. The families of :data:`TAIL_FAMILIES` and
:data:`SCRAPY_METRICS` are always listed (without samples until counted), and the
counters of :data:`ZERO_KEYS` start at 0. Every family also has the labels ``spider`` and
``worker`` (:data:`COMMON_LABELS`). No I/O here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..integration import stats

Kind = Literal["counter", "gauge"]

#: The labels every metric has: the spider's name and this worker's id.
COMMON_LABELS = ("spider", "worker")


@dataclass(frozen=True, slots=True)
class Family:
    """A metric family: its name (without ``_total``), type, help, and its extra label."""

    name: str
    kind: Kind
    help: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """Where one stats key goes: its family, and the value of the family's extra label."""

    family: Family
    label_value: str | None = None


#: Stats keys ending in a name (a kind, a rule, a status): prefix -> family, label.
TAIL_FAMILIES: dict[str, Family] = {
    stats.WATCH_CHANGES: Family(
        "kwiff_watch_changes", "counter", "Odds changes the watch yielded, by kind", "kind"
    ),
    stats.WATCH_EVENT_CHANGES: Family(
        "kwiff_watch_event_changes", "counter", "Event changes the watch yielded, by kind", "kind"
    ),
    stats.WATCH_SIGNALS: Family(
        "kwiff_watch_signals", "counter", "Odds signals the watch yielded, by rule", "rule"
    ),
    stats.HANDSHAKES_REFUSED: Family(
        "kwiff_handshakes_refused",
        "counter",
        "WebSocket handshakes refused, by HTTP status",
        "status",
    ),
    stats.PARSE_SKIPPED: Family(
        "kwiff_parse_skipped", "counter", "Parts of answers skipped, by reason", "reason"
    ),
    "log_count/": Family("scrapy_log_messages", "counter", "Log messages, by level", "level"),
    "downloader/response_status_count/": Family(
        "scrapy_responses_by_status", "counter", "Responses downloaded, by status", "status"
    ),
    "downloader/exception_type_count/": Family(
        "scrapy_download_errors_by_type", "counter", "Download errors, by exception", "type"
    ),
    "retry/reason_count/": Family(
        "scrapy_retries_by_reason", "counter", "Requests retried, by reason", "reason"
    ),
    "item_dropped_reasons_count/": Family(
        "scrapy_items_dropped_by_reason", "counter", "Items dropped, by reason", "reason"
    ),
}

#: Scrapy's main stats: key -> family.
SCRAPY_METRICS: dict[str, Family] = {
    "downloader/request_count": Family("scrapy_requests", "counter", "Requests downloaded"),
    "downloader/response_count": Family("scrapy_responses", "counter", "Responses downloaded"),
    "downloader/request_bytes": Family("scrapy_request_bytes", "counter", "Bytes of requests"),
    "downloader/response_bytes": Family("scrapy_response_bytes", "counter", "Bytes of responses"),
    "downloader/exception_count": Family(
        "scrapy_download_errors", "counter", "Downloads that raised"
    ),
    "response_received_count": Family(
        "scrapy_responses_received", "counter", "Responses received by the engine"
    ),
    "item_scraped_count": Family("scrapy_items_scraped", "counter", "Items scraped"),
    "item_dropped_count": Family("scrapy_items_dropped", "counter", "Items dropped"),
    "retry/count": Family("scrapy_retries", "counter", "Requests retried"),
    "retry/max_reached": Family(
        "scrapy_retries_given_up", "counter", "Requests given up after their last retry"
    ),
    "scheduler/enqueued": Family("scrapy_scheduler_enqueued", "counter", "Requests scheduled"),
    "scheduler/dequeued": Family(
        "scrapy_scheduler_dequeued", "counter", "Requests taken from the scheduler"
    ),
    "memusage/max": Family("scrapy_memory_max_bytes", "gauge", "Largest resident memory seen"),
}

#: ``kwiff/*`` keys that are gauges (a state, not a count).
KWIFF_GAUGES: frozenset[str] = frozenset({stats.NO_ANSWER})

#: Counters shown (at 0) before anything counted them, so that a dashboard and an alert
#: rule find them from the start (Prometheus' advice for known series).
ZERO_KEYS: tuple[str, ...] = (
    stats.COMMANDS_SENT,
    stats.ACKS_RECEIVED,
    stats.CONNECTIONS_OPENED,
    stats.WATCH_POLLS,
    stats.WATCH_FAILED_POLLS,
    stats.WATCH_OVERRUNS,
    stats.ALERTS_SENT,
    stats.ALERTS_FAILED,
    stats.HISTORY_PRICES_WRITTEN,
    stats.HISTORY_DROPPED,
    stats.REDIS_OUTAGES,
)

#: Computed from the stats rather than read from one key.
SESSIONS_OPEN = Family(
    "kwiff_sessions_open", "gauge", "WebSocket sessions open now (opened minus closed)"
)
UPTIME = Family("scrapy_uptime_seconds", "gauge", "Seconds since the crawl started")
#: The histogram of command round trips (observed, not read from the stats).
COMMAND_SECONDS = "kwiff_command_seconds"
COMMAND_LABEL = "command"

_NOT_A_NAME = re.compile(r"[^a-zA-Z0-9_]+")


def metric_name(key: str) -> str:
    """``kwiff_watch_polls`` for ``kwiff/watch/polls``: a valid Prometheus name."""
    return _NOT_A_NAME.sub("_", key).strip("_")


def sample_of(key: str) -> Sample | None:
    """Where the stats key *key* goes, or None if it is not exported."""
    for prefix, family in TAIL_FAMILIES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return Sample(family, key[len(prefix) :])
    scrapy_family = SCRAPY_METRICS.get(key)
    if scrapy_family is not None:
        return Sample(scrapy_family)
    if key.startswith(stats.PREFIX):
        kind: Kind = "gauge" if key in KWIFF_GAUGES else "counter"
        return Sample(Family(metric_name(key), kind, f"The stat {key}"))
    return None
