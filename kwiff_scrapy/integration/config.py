"""The ``KWIFF_*`` settings, read and checked once into one :class:`KwiffSettings`.

The download handler, the spiders and the ``scrapy kwiff`` command all take their
values from it (:meth:`KwiffSettings.of` reads a crawler's settings once). Each
optional feature parses its own group the same way, once, in its own module:
``KWIFF_ALERT_*`` (:mod:`kwiff_scrapy.pipelines.alert_settings`),
``KWIFF_SIGNALS*`` (:mod:`kwiff_scrapy.integration.signal_settings`) and
``KWIFF_HISTORY_*`` (:mod:`kwiff_scrapy.history.config`). No other module reads a raw setting.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import defaults
from ..connection.connector import ConnectionConfig, tls_context
from ..connection.endpoint import connect_url
from ..connection.pool import Backoff
from ..model.sports import country_code

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings


@dataclass(frozen=True, slots=True)
class KwiffSettings:
    """Everything kwiff_scrapy reads from Scrapy settings, validated."""

    connection: ConnectionConfig
    country: str = defaults.COUNTRY
    download_timeout: float = defaults.DOWNLOAD_TIMEOUT
    download_maxsize: int = 1024 * 1024 * 1024
    download_warnsize: int = 32 * 1024 * 1024

    @property
    def endpoint(self) -> str:
        return self.connection.endpoint

    @classmethod
    def of(cls, crawler: Crawler) -> KwiffSettings:
        """The crawler's settings, parsed on first use and kept for the crawl."""
        parsed = _PARSED.get(crawler)
        if parsed is None:
            parsed = _PARSED[crawler] = cls.from_settings(crawler.settings)
        return parsed

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> KwiffSettings:
        """Read and validate; a bad value raises ``ValueError`` naming the setting."""
        endpoint = settings.get("KWIFF_ENDPOINT") or defaults.ENDPOINT
        if endpoint != defaults.SIMULATOR_ENDPOINT:
            connect_url(endpoint, "check")  # raises ValueError naming KWIFF_ENDPOINT
        download_timeout = settings.getfloat("DOWNLOAD_TIMEOUT", defaults.DOWNLOAD_TIMEOUT)
        if download_timeout <= 0:
            raise ValueError(f"DOWNLOAD_TIMEOUT must be positive, not {download_timeout}")
        download_maxsize = settings.getint("DOWNLOAD_MAXSIZE")
        connection = ConnectionConfig(
            endpoint=endpoint,
            identifier=settings.get("KWIFF_IDENTIFIER") or None,
            user_agent=settings.get("KWIFF_USER_AGENT") or defaults.USER_AGENT,
            webapp_version=settings.get("KWIFF_WEBAPP_VERSION") or defaults.WEBAPP_VERSION,
            connections_per_endpoint=_at_least_one(settings, "KWIFF_CONNECTIONS_PER_ENDPOINT"),
            max_in_flight=_at_least_one(settings, "KWIFF_MAX_IN_FLIGHT"),
            max_frame_size=_max_frame_size(settings.get("KWIFF_MAX_FRAME_SIZE"), download_maxsize),
            open_timeout=download_timeout,
            backoff=_backoff(settings),
            trust_env=settings.getbool("HTTPPROXY_ENABLED", True),
            ssl_context=tls_context(
                settings.getbool("KWIFF_VERIFY_TLS", True), endpoint, switch="KWIFF_VERIFY_TLS"
            ),
            simulator_options=settings.getdict("KWIFF_SIMULATOR_OPTIONS"),
        )
        return cls(
            connection=connection,
            country=_country(settings.get("KWIFF_COUNTRY") or defaults.COUNTRY),
            download_timeout=download_timeout,
            download_maxsize=download_maxsize,
            download_warnsize=settings.getint("DOWNLOAD_WARNSIZE"),
        )


#: Each crawler's settings, parsed once (settings are frozen once a crawl starts).
_PARSED: weakref.WeakKeyDictionary[Crawler, KwiffSettings] = weakref.WeakKeyDictionary()

_AT_LEAST_ONE_DEFAULTS: dict[str, int] = {
    "KWIFF_CONNECTIONS_PER_ENDPOINT": defaults.CONNECTIONS_PER_ENDPOINT,
    "KWIFF_MAX_IN_FLIGHT": defaults.MAX_IN_FLIGHT,
}


def _at_least_one(settings: BaseSettings, name: str) -> int:
    value = settings.getint(name, _AT_LEAST_ONE_DEFAULTS[name])
    if value < 1:
        raise ValueError(f"{name} must be 1 or more, not {value}")
    return value


def _max_frame_size(value: Any, download_maxsize: int) -> int | None:
    """The WebSocket frame limit (``None``: no limit).

    ``KWIFF_MAX_FRAME_SIZE`` if set, else twice ``DOWNLOAD_MAXSIZE``: an answer
    somewhat over ``DOWNLOAD_MAXSIZE`` is still read, so that only its own request
    fails and the connection's other commands go on; a frame beyond this limit
    ends the connection, which bounds what a hostile server can make us hold.
    """
    if value is None or value == "":
        return 2 * download_maxsize or None
    try:
        size = int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"KWIFF_MAX_FRAME_SIZE must be a whole number of bytes, not {value!r}"
        ) from exc
    if size < 0:
        raise ValueError(f"KWIFF_MAX_FRAME_SIZE must be 0 (no limit) or more, not {size}")
    return size or None


def _backoff(settings: BaseSettings) -> Backoff:
    delay = settings.getfloat("KWIFF_RECONNECT_DELAY", defaults.RECONNECT_DELAY)
    max_delay = settings.getfloat("KWIFF_RECONNECT_MAX_DELAY", defaults.RECONNECT_MAX_DELAY)
    if delay < 0 or max_delay < delay:
        raise ValueError(
            "KWIFF_RECONNECT_DELAY must be 0 or more and at most KWIFF_RECONNECT_MAX_DELAY"
        )
    return Backoff(delay, max_delay)


def _country(value: str) -> str:
    try:
        return country_code(value)
    except ValueError as exc:
        raise ValueError(f"KWIFF_COUNTRY: {exc}") from None
