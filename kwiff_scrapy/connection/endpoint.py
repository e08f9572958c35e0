"""Where and how to open a Kwiff connection: URL and browser-like headers (pure)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .. import defaults


def connect_url(endpoint: str, identifier: str) -> str:
    """The endpoint URL with the query the web app sends (identifier, EIO=3, websocket).

    Query parameters already in *endpoint* are kept unless the protocol needs its own.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(
            f"KWIFF_ENDPOINT must be a ws:// or wss:// URL or {defaults.SIMULATOR_ENDPOINT!r}, "
            f"not {endpoint!r}"
        )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("device", defaults.DEVICE)
    query.setdefault("version", defaults.CLIENT_VERSION)
    query.update(identifier=identifier, EIO="3", transport="websocket")
    path = parts.path or "/socket.io/"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def handshake_headers(
    identifier: str, accept_language: str = defaults.ACCEPT_LANGUAGE
) -> list[tuple[str, str]]:
    """Headers a browser sends and the service was seen to need (besides User-Agent and Origin)."""
    return [
        ("Cookie", f"uuid={identifier}"),
        ("Accept-Language", accept_language),
        ("Pragma", "no-cache"),
        ("Cache-Control", "no-cache"),
    ]
