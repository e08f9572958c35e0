"""How an alert message reaches its webhook: one POST, with aiohttp (which Scrapy brings).

Alert requests do not go through Scrapy's downloader, for two reasons:

- **Certificates.** Scrapy 2.19 verifies TLS certificates for the whole crawl or not
  at all (``DOWNLOAD_VERIFY_CERTIFICATES``, off by default, with the system's CAs
  only), and has no way to verify them for some requests: its Twisted handler asks
  its context factory per host and port, its aiohttp handler holds one SSL context.
  A webhook's token must only go to the webhook, so its certificate is verified here
  (:func:`tls_context`), whatever the crawl does for its pages.
- **Logs.** The engine logs every download at ``DEBUG`` with its full URL, and a
  handler's errors repeat it (``Getting <url> took longer than...``). Here the URL
  stays in this module: what it raises (:class:`WebhookFailure`) says what happened in
  words of its own, never in the text of aiohttp's exceptions.

What Scrapy's downloader would have added for a webhook is kept: ``USER_AGENT``, and
the proxy that ``HttpProxyMiddleware`` takes from the environment (``https_proxy``,
``http_proxy``, ``no_proxy``; :func:`environment_proxy`).
"""

from __future__ import annotations

import ipaddress
import ssl
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

#: Bytes of an answer's body kept, for the log (Discord explains its 4xx there).
BODY_EXCERPT_BYTES = 1024


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """What the pipeline needs of the webhook's answer."""

    status: int
    #: The ``Retry-After`` header, if any.
    retry_after: str | None
    #: The start of the body (at most :data:`BODY_EXCERPT_BYTES`).
    body: bytes


class WebhookFailure(Exception):
    """The request got no HTTP answer. The message never contains the URL.

    ``retriable`` is False when trying again cannot help (a refused certificate).
    """

    def __init__(self, message: str, *, retriable: bool = True) -> None:
        super().__init__(message)
        self.retriable = retriable


def tls_context(*, verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
    """The TLS context of webhook requests: certificates and host names checked against
    the system's CAs, or *ca_file*'s only; nothing checked without *verify*.

    Raises ``OSError`` (``ssl.SSLError`` included) when *ca_file* cannot be loaded.
    """
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_file)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ``::1``)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def environment_proxy(url: str) -> str | None:
    """The proxy for *url* from the environment, as Scrapy's ``HttpProxyMiddleware``
    reads it (``urllib``'s ``getproxies`` and ``proxy_bypass``); None for none.

    A plain ``http://`` webhook (only accepted on this machine) never goes through a
    proxy on another host: its token would cross the network unencrypted, to a proxy
    that could not reach this machine's loopback address anyway.
    """
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or (parts.hostname and urllib.request.proxy_bypass(parts.hostname)):
        return None
    if parts.scheme == "http" and not is_loopback(urlsplit(proxy).hostname or ""):
        return None
    return proxy


def _certificate_problem(error: Exception) -> str:
    """The reason OpenSSL gave, e.g. ``self-signed certificate`` or ``Hostname mismatch...``."""
    reason = getattr(error, "verify_message", None) or getattr(error, "reason", None)
    return str(reason or error)


class WebhookClient:
    """Posts JSON bodies to one webhook URL over one aiohttp session.

    Create it while the event loop runs; :meth:`close` it when done.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        tls: ssl.SSLContext,
        proxy: str | None = None,
        user_agent: str | None = None,
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._tls = tls
        self._proxy = proxy
        self._headers = {"Content-Type": "application/json"}
        if user_agent:
            self._headers["User-Agent"] = user_agent
        self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())

    async def post(self, body: bytes) -> WebhookReply:
        """POST *body*; the answer, whatever its status, or :class:`WebhookFailure`."""
        try:
            async with self._session.post(
                self._url,
                data=body,
                headers=self._headers,
                ssl=self._tls,
                proxy=self._proxy,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                allow_redirects=False,
            ) as response:
                excerpt = await response.content.read(BODY_EXCERPT_BYTES)
                return WebhookReply(response.status, response.headers.get("Retry-After"), excerpt)
        except aiohttp.ClientConnectorCertificateError as exc:
            raise WebhookFailure(
                "the webhook's TLS certificate was refused "
                f"({_certificate_problem(exc.certificate_error)}), so nothing was sent: "
                "if this is the right server, give its CA certificate with "
                "KWIFF_ALERT_CA_FILE (for a public host such as discord.com, a CA bundle: "
                "python -m certifi prints the path of one)",
                retriable=False,
            ) from None
        except TimeoutError:
            raise WebhookFailure(f"no answer within {self._timeout:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            raise WebhookFailure(f"cannot connect ({exc.os_error})") from None
        except aiohttp.ClientError as exc:
            # aiohttp's own texts may quote the URL: only the kind of error is told.
            raise WebhookFailure(f"the connection failed ({type(exc).__name__})") from None

    async def close(self) -> None:
        await self._session.close()
