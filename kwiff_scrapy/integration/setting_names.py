"""Every ``KWIFF_*`` setting kwiff_scrapy reads, and the start-up check of a crawl's names.

Scrapy ignores a setting nobody reads, so a misspelt name is silently lost:
``-s KWIFF_URL=ws://127.0.0.1:9000`` (the endpoint setting is ``KWIFF_ENDPOINT``) would
send a test crawl to the live service. :func:`check_setting_names` logs one WARNING per
``KWIFF_*`` name not in :data:`KNOWN_SETTINGS`, with the close matches, once per crawl;
and stops the crawl when the name looks like an endpoint and the crawl would go to the
live service (:func:`endpoint_typo`).

:data:`KNOWN_SETTINGS` is the one list of them: ``tests/integration/test_setting_names.py``
checks that the package reads no other ``KWIFF_*`` setting and that ``docs/settings.md``
documents exactly these.
"""

from __future__ import annotations

import difflib
import logging
import weakref
from typing import TYPE_CHECKING

from .. import defaults

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

PREFIX = "KWIFF_"

#: Every ``KWIFF_*`` setting kwiff_scrapy reads (environment variables such as
#: ``KWIFF_HISTORY_TEST_PAUSE`` are not settings).
KNOWN_SETTINGS: frozenset[str] = frozenset(
    {
        # where to connect, and how (integration/config.py)
        "KWIFF_ENDPOINT",
        "KWIFF_SIMULATOR_OPTIONS",
        "KWIFF_IDENTIFIER",
        "KWIFF_USER_AGENT",
        "KWIFF_WEBAPP_VERSION",
        "KWIFF_COUNTRY",
        "KWIFF_CONNECTIONS_PER_ENDPOINT",
        "KWIFF_MAX_IN_FLIGHT",
        "KWIFF_MAX_FRAME_SIZE",
        "KWIFF_RECONNECT_DELAY",
        "KWIFF_RECONNECT_MAX_DELAY",
        "KWIFF_VERIFY_TLS",
        # the watch (spiders/watch, integration/signal_settings.py)
        "KWIFF_WATCH_GROUP",
        "KWIFF_WATCH_BLIND_AFTER",
        "KWIFF_WATCH_CHECKPOINT",
        "KWIFF_SIGNALS",
        "KWIFF_SIGNALS_ENABLED",
        "KWIFF_PERIODIC_LOG",
        # the alerts pipeline (pipelines/alert_settings.py)
        "KWIFF_ALERT_WEBHOOK",
        "KWIFF_ALERT_LOG",
        "KWIFF_ALERT_ROUTES",
        "KWIFF_ALERT_FORMAT",
        "KWIFF_ALERT_KINDS",
        "KWIFF_ALERT_DIRECTION",
        "KWIFF_ALERT_MIN_CHANGE",
        "KWIFF_ALERT_MIN_ODDS",
        "KWIFF_ALERT_MAX_ODDS",
        "KWIFF_ALERT_MARKETS",
        "KWIFF_ALERT_COMPETITIONS",
        "KWIFF_ALERT_TIMEOUT",
        "KWIFF_ALERT_VERIFY_TLS",
        "KWIFF_ALERT_CA_FILE",
        "KWIFF_ALERT_RETRY_TIMES",
        "KWIFF_ALERT_RETRY_DELAY",
        "KWIFF_ALERT_MAX_RETRY_DELAY",
        "KWIFF_ALERT_FLUSH_DELAY",
        "KWIFF_ALERT_QUIET_PERIOD",
        "KWIFF_ALERT_CLOSE_TIMEOUT",
        "KWIFF_ALERT_TELEGRAM_URL",
        # the odds history (history/config.py)
        "KWIFF_HISTORY_URI",
        "KWIFF_HISTORY_BATCH_SIZE",
        "KWIFF_HISTORY_FLUSH_INTERVAL",
        "KWIFF_HISTORY_BUFFER_SIZE",
        "KWIFF_HISTORY_RETRY_DELAY",
        "KWIFF_HISTORY_MAX_RETRY_DELAY",
        "KWIFF_HISTORY_CLOSE_TIMEOUT",
        "KWIFF_HISTORY_KEEP",
        # Prometheus metrics (monitoring/config.py)
        "KWIFF_METRICS_PORT",
        "KWIFF_METRICS_HOST",
        # crawls and watches shared through Redis (distributed/config.py)
        "KWIFF_REDIS_KEY",
        "KWIFF_REDIS_SECRET",
        "KWIFF_REDIS_TIMEOUT",
        "KWIFF_REDIS_IDLE_POLL",
        "KWIFF_REDIS_WORKER_TIMEOUT",
        "KWIFF_REDIS_RETRY_DELAY",
        "KWIFF_REDIS_RETRY_MAX_DELAY",
        "KWIFF_WORKER_ID",
        "KWIFF_WATCH_LEASE",
    }
)

#: The settings that choose where a crawl goes (:func:`endpoint_typo`).
ENDPOINT_SETTINGS: frozenset[str] = frozenset({"KWIFF_ENDPOINT", "KWIFF_SIMULATOR_OPTIONS"})
#: Words (between underscores) of a name meant to say where to connect.
ENDPOINT_WORDS: frozenset[str] = frozenset(
    {"URL", "HOST", "ENDPOINT", "SERVER", "SIMULATOR", "SIM", "WS", "WSS", "SOCKET", "ADDRESS"}
)

#: The crawlers already checked: the add-on and the handler both check, once per crawl.
_CHECKED: weakref.WeakSet[Crawler] = weakref.WeakSet()


class EndpointTypoError(ValueError):
    """An unknown, endpoint-like ``KWIFF_*`` setting in a crawl bound for the live service."""


def unknown_settings(settings: BaseSettings) -> list[str]:
    """The ``KWIFF_*`` names set in *settings* that kwiff_scrapy does not read, sorted;
    in any case, as settings' names are case-sensitive: ``kwiff_endpoint`` is one of them."""
    return sorted(
        name for name in settings if name.upper().startswith(PREFIX) and name not in KNOWN_SETTINGS
    )


def close_matches(name: str) -> list[str]:
    """Known settings *name* may have meant, best first; ``KWIFF_ENDPOINT`` last for a
    name that says where to connect (``KWIFF_URL``, ``KWIFF_HISTORY_URL``)."""
    matches = _spelling_matches(name)
    if _has_endpoint_word(name) and "KWIFF_ENDPOINT" not in matches:
        matches.append("KWIFF_ENDPOINT")
    return matches


def endpoint_typo(name: str) -> bool:
    """Whether the unknown *name* was likely meant to say where the crawl goes: its closest
    spelling is ``KWIFF_ENDPOINT`` or ``KWIFF_SIMULATOR_OPTIONS``, or it has none and says
    ``URL``, ``HOST``... (``KWIFF_HISTORY_URL`` is taken for ``KWIFF_HISTORY_URI``)."""
    matches = _spelling_matches(name)
    if matches:
        return matches[0] in ENDPOINT_SETTINGS
    return _has_endpoint_word(name)


def _spelling_matches(name: str) -> list[str]:
    # The shared prefix would make every name look alike: compare what follows it.
    suffixes = {known.removeprefix(PREFIX): known for known in KNOWN_SETTINGS}
    return [suffixes[suffix] for suffix in difflib.get_close_matches(_words(name), suffixes, n=3)]


def _has_endpoint_word(name: str) -> bool:
    return not ENDPOINT_WORDS.isdisjoint(_words(name).split("_"))


def _words(name: str) -> str:
    """``ENDPOINT`` for ``KWIFF_ENDPOINT`` and ``kwiff_endpoint``."""
    return name.upper().removeprefix(PREFIX)


def check_setting_names(crawler: Crawler, settings: BaseSettings | None = None) -> None:
    """Warn of each unknown ``KWIFF_*`` setting of the crawl, once per crawl.

    Raises :class:`EndpointTypoError` (for the caller to log: the add-on stops the crawl,
    the handler refuses to load) when ``KWIFF_ENDPOINT`` is not set, so that the crawl
    would go to the live service, and an unknown name looks like an endpoint: a test crawl
    sent to the live service by a typo is worse than a stopped one; that name is then in
    the error, not in a warning. *settings*: the crawler's, by default (the add-on is given
    the settings being built).
    """
    if crawler in _CHECKED:
        return
    _CHECKED.add(crawler)
    settings = crawler.settings if settings is None else settings
    unknown = unknown_settings(settings)
    bound_for_live = not settings.get("KWIFF_ENDPOINT")
    typos = [name for name in unknown if bound_for_live and endpoint_typo(name)]
    for name in unknown:
        if name not in typos:  # those are the error's
            logger.warning("%s", unknown_setting_message(name))
    if typos:
        raise EndpointTypoError(endpoint_typo_message(typos))


def unknown_setting_message(name: str) -> str:
    """The warning for the unknown setting *name*."""
    return (
        f"Unknown setting {name}: kwiff_scrapy reads no such setting, so it has no effect"
        f"{_meant(name)}; every KWIFF_* setting is listed in docs/settings.md"
    )


def endpoint_typo_message(names: list[str]) -> str:
    """Why a crawl with the endpoint-like unknown settings *names* does not start."""
    unknown = "; ".join(f"{name} is not a setting{_meant(name)}" for name in names)
    return (
        f"{unknown}; KWIFF_ENDPOINT is not set, so this crawl would go to the live service "
        f"{defaults.ENDPOINT}: set KWIFF_ENDPOINT (e.g. -s KWIFF_ENDPOINT=ws://127.0.0.1:9000,"
        f" or {defaults.SIMULATOR_ENDPOINT} for the built-in simulator) in place of "
        f"{', '.join(names)}"
    )


def _meant(name: str) -> str:
    matches = close_matches(name)
    return f" (did you mean {' or '.join(matches)}?)" if matches else ""
