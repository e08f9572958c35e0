"""Which proxy a WebSocket connection goes through (pure).

Explicit rather than the ``websockets`` default (``proxy=True``, which silently
reads the environment): a request's ``proxy`` meta key wins (Scrapy's
``HttpProxyMiddleware`` fills it from ``kwiff_proxy`` and moves its credentials
into a ``Proxy-Authorization`` header, which is folded back into the URL here);
otherwise, when ``HTTPPROXY_ENABLED`` is on, the usual environment variables
(``wss_proxy``/``ws_proxy``, ``socks_proxy``, ``https_proxy``, ``http_proxy``
for ``ws://``, and ``no_proxy``) are consulted the way ``websockets`` documents.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote, urlsplit, urlunsplit

from websockets.proxy import get_proxy
from websockets.uri import parse_uri


def choose_proxy(
    url: str,
    *,
    meta_proxy: str | None,
    proxy_authorization: bytes | None = None,
    use_environment: bool = True,
) -> str | None:
    """The proxy URL for a connection to *url*, or ``None`` for a direct connection."""
    if meta_proxy:
        return with_credentials(meta_proxy, proxy_authorization)
    if use_environment:
        return get_proxy(parse_uri(url))
    return None


def with_credentials(proxy: str, proxy_authorization: bytes | None) -> str:
    """*proxy* with the user and password of a ``Basic`` Proxy-Authorization header."""
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if not proxy_authorization or parts.username:
        return urlunsplit(parts)
    scheme, _, token = proxy_authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        return urlunsplit(parts)
    try:
        user, _, password = base64.b64decode(token, validate=True).decode("latin-1").partition(":")
    except (binascii.Error, ValueError):
        return urlunsplit(parts)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


def redact(proxy: str) -> str:
    """*proxy* without its credentials, for messages and logs."""
    parts = urlsplit(proxy)
    if parts.password is None and parts.username is None:
        return proxy
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
