"""The ``KWIFF_*`` settings, read and checked once when the handler starts."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .endpoint import (
    DEFAULT_ENDPOINT,
    DEFAULT_USER_AGENT,
    DEFAULT_WEBAPP_VERSION,
    SIMULATOR_ENDPOINT,
    connect_url,
)

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KwiffSettings:
    endpoint: str = DEFAULT_ENDPOINT
    identifier: str | None = None
    user_agent: str = DEFAULT_USER_AGENT
    webapp_version: str = DEFAULT_WEBAPP_VERSION
    country: str = "GB"
    connections_per_endpoint: int = 1
    max_in_flight: int = 256
    max_frame_size_setting: int | None = None
    reconnect_delay: float = 0.5
    reconnect_max_delay: float = 30.0
    verify_tls: bool = True
    simulator_options: dict[str, Any] = field(default_factory=dict)
    download_timeout: float = 180.0
    download_maxsize: int = 1024 * 1024 * 1024
    download_warnsize: int = 32 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> KwiffSettings:
        """Read and validate; a bad value raises ``ValueError`` naming the setting."""
        parsed = cls(
            endpoint=settings.get("KWIFF_ENDPOINT") or DEFAULT_ENDPOINT,
            identifier=settings.get("KWIFF_IDENTIFIER") or None,
            user_agent=settings.get("KWIFF_USER_AGENT") or DEFAULT_USER_AGENT,
            webapp_version=settings.get("KWIFF_WEBAPP_VERSION") or DEFAULT_WEBAPP_VERSION,
            country=(settings.get("KWIFF_COUNTRY") or "GB").upper(),
            connections_per_endpoint=settings.getint("KWIFF_CONNECTIONS_PER_ENDPOINT", 1),
            max_in_flight=settings.getint("KWIFF_MAX_IN_FLIGHT", 256),
            max_frame_size_setting=_optional_int(settings.get("KWIFF_MAX_FRAME_SIZE")),
            reconnect_delay=settings.getfloat("KWIFF_RECONNECT_DELAY", 0.5),
            reconnect_max_delay=settings.getfloat("KWIFF_RECONNECT_MAX_DELAY", 30.0),
            verify_tls=settings.getbool("KWIFF_VERIFY_TLS", True),
            simulator_options=settings.getdict("KWIFF_SIMULATOR_OPTIONS"),
            download_timeout=settings.getfloat("DOWNLOAD_TIMEOUT", 180.0),
            download_maxsize=settings.getint("DOWNLOAD_MAXSIZE"),
            download_warnsize=settings.getint("DOWNLOAD_WARNSIZE"),
        )
        parsed.validate()
        return parsed

    def validate(self) -> None:
        if self.connections_per_endpoint < 1:
            raise ValueError(
                f"KWIFF_CONNECTIONS_PER_ENDPOINT must be 1 or more, not "
                f"{self.connections_per_endpoint}"
            )
        if self.max_in_flight < 1:
            raise ValueError(f"KWIFF_MAX_IN_FLIGHT must be 1 or more, not {self.max_in_flight}")
        if self.max_frame_size_setting is not None and self.max_frame_size_setting < 0:
            raise ValueError(
                "KWIFF_MAX_FRAME_SIZE must be 0 (no limit) or more, "
                f"not {self.max_frame_size_setting}"
            )
        if self.reconnect_delay < 0 or self.reconnect_max_delay < self.reconnect_delay:
            raise ValueError(
                "KWIFF_RECONNECT_DELAY must be 0 or more and at most KWIFF_RECONNECT_MAX_DELAY"
            )
        if self.endpoint != SIMULATOR_ENDPOINT:
            connect_url(self.endpoint, "check")  # raises ValueError naming KWIFF_ENDPOINT
        if len(self.country) != 2 or not self.country.isalpha():
            raise ValueError(
                f"KWIFF_COUNTRY must be an ISO 3166 alpha-2 code such as GB, not {self.country!r}"
            )
        if self.download_timeout <= 0:
            raise ValueError(f"DOWNLOAD_TIMEOUT must be positive, not {self.download_timeout}")

    @property
    def max_frame_size(self) -> int | None:
        """The WebSocket frame limit (``None``: no limit).

        ``KWIFF_MAX_FRAME_SIZE`` if set, else twice ``DOWNLOAD_MAXSIZE``: an answer
        somewhat over ``DOWNLOAD_MAXSIZE`` is still read, so that only its own request
        fails and the connection's other commands go on; a frame beyond this limit
        ends the connection, which bounds what a hostile server can make us hold.
        """
        if self.max_frame_size_setting is not None:
            return self.max_frame_size_setting or None
        return 2 * self.download_maxsize or None

    def ssl_context(self) -> ssl.SSLContext | None:
        """``None`` (the default verifying context) unless verification is turned off."""
        return tls_context(self.verify_tls, self.endpoint, switch="KWIFF_VERIFY_TLS")


def _optional_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"KWIFF_MAX_FRAME_SIZE must be a whole number of bytes, not {value!r}"
        ) from exc


def tls_context(verify: bool, endpoint: str, *, switch: str) -> ssl.SSLContext | None:
    """``None`` (websockets' default, verifying context) or, when *verify* is off, a
    context that checks nothing, with a warning naming the *switch* that turned it off."""
    if verify:
        return None
    logger.warning(
        "%s is False: TLS certificates of %s are not verified. Use this only for debugging.",
        switch,
        endpoint,
    )
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
