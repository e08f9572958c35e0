"""Errors of a Kwiff session, independent of Scrapy.

The Scrapy download handler translates them into Scrapy's own exceptions at one
boundary (``kwiff_scrapy.integration.handler``); the async client lets them through.
"""

from __future__ import annotations

from collections.abc import Mapping


class KwiffError(Exception):
    """Base class of every error a Kwiff session raises."""


class HandshakeRefused(KwiffError):
    """The server answered the WebSocket upgrade with an HTTP error status."""

    def __init__(
        self, url: str, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        self.url = url
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        super().__init__(f"handshake refused with HTTP {status} by {url}: {handshake_hint(status)}")


def handshake_hint(status: int) -> str:
    """What a user can do about a refused handshake with this status."""
    if status == 403:
        return (
            "the service wants browser headers: the Cookie uuid must equal the identifier "
            "query parameter and a browser User-Agent must be sent (check KWIFF_USER_AGENT "
            "and KWIFF_IDENTIFIER)"
        )
    if status == 429:
        return (
            "too many connections from this address; lower KWIFF_CONNECTIONS_PER_ENDPOINT or wait"
        )
    if status in (502, 503, 504):
        return "the service is unavailable; it is worth retrying later"
    if status == 404:
        return "no Socket.IO endpoint at this path; check KWIFF_ENDPOINT"
    return "check KWIFF_ENDPOINT and the connection settings"


class ConnectFailed(KwiffError):
    """The connection could not be opened (network error, timeout, bad handshake).

    ``__cause__`` holds the underlying error (``ConnectionRefusedError``,
    ``socket.gaierror``, ``TimeoutError``, a ``websockets`` exception...).
    """


class ConnectionLost(KwiffError):
    """An open session ended before the command was answered."""


class SessionClosed(ConnectionLost):
    """A command was sent on a session that is closed or closing."""
