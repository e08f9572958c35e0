"""The Scrapy download handler for ``kwiff://`` command requests.

Scrapy calls :meth:`KwiffDownloadHandler.download_request` for each request; the
handler sends the command over a pooled, kept-alive session and returns the ack
as a :class:`~kwiff_scrapy.http.KwiffResponse`. Session errors are translated
into Scrapy's own exceptions here and nowhere else, so ``RetryMiddleware``,
``HttpErrorMiddleware`` and the stats work unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
)
from scrapy.http import Response

from . import signals
from .config import KwiffSettings
from .endpoint import SIMULATOR_ENDPOINT
from .errors import ConnectFailed, ConnectionLost, HandshakeRefused
from .http import KwiffResponse, message_of, payload_of
from .pool import Backoff, SessionPool
from .proxy import choose_proxy, redact
from .resolver import EndpointResolver
from .session import KwiffSession, SessionOptions

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

PoolKey = tuple[str, str | None, bytes | None]


class KwiffDownloadHandler(BaseDownloadHandler):
    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._settings = KwiffSettings.from_settings(crawler.settings)
        self._ssl_context = self._settings.ssl_context()
        self._pools: dict[PoolKey, SessionPool] = {}
        self._pools_lock = asyncio.Lock()
        self._resolver = EndpointResolver(self._settings.simulator_options)
        self._env_proxies = crawler.settings.getbool("HTTPPROXY_ENABLED")
        self._refusals_logged: set[tuple[str, int]] = set()

    async def download_request(self, request: Request) -> Response:
        message = message_of(request.url)
        if message == "robots.txt":
            # A robots.txt lookup through the custom scheme: there is none.
            return Response(request.url, status=404, request=request, flags=["kwiff"])
        try:
            payload = payload_of(request.body)
        except ValueError as exc:
            raise ValueError(f"the body of {request} is not a JSON payload: {exc}") from exc
        timeout: float = request.meta.get("download_timeout", self._settings.download_timeout)
        endpoint: str = request.meta.get("kwiff_endpoint") or self._settings.endpoint

        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                pool = await self._pool(endpoint, request)
                session = await pool.acquire()
                ack = await session.command(message, payload)
        except TimeoutError as exc:
            raise DownloadTimeoutError(
                f"Kwiff command {message!r} got no answer from {endpoint} within {timeout:g} s "
                f"(DOWNLOAD_TIMEOUT or the download_timeout meta key)"
            ) from exc
        except HandshakeRefused as exc:
            return self._refused(request, exc)
        except ConnectFailed as exc:
            raise _scrapy_connect_error(exc) from exc
        except ConnectionLost as exc:
            raise DownloadFailedError(
                f"Kwiff command {message!r} to {endpoint} lost its connection before the "
                f"answer: {exc}"
            ) from exc
        request.meta["download_latency"] = time.monotonic() - started

        response = KwiffResponse.from_ack(
            request,
            ack.raw_args,
            ack.args,
            ip_address=session.peer_ip,
            protocol="socket.io/eio3",
        )
        self._check_size(request, len(response.body))
        return response

    async def close(self) -> None:
        pools, self._pools = self._pools, {}
        await asyncio.gather(*(pool.close() for pool in pools.values()))
        await self._resolver.close()

    # -- sessions ----------------------------------------------------------------

    async def _pool(self, endpoint: str, request: Request) -> SessionPool:
        """The pool for this endpoint and proxy (the built-in simulator is never proxied)."""
        url = await self._resolver.url(endpoint)
        meta_proxy: str | None = request.meta.get("proxy")
        proxy_authorization: bytes | None = request.headers.get(b"Proxy-Authorization")
        key = (url, meta_proxy, proxy_authorization)
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        async with self._pools_lock:
            if key not in self._pools:
                proxy = choose_proxy(
                    url,
                    meta_proxy=meta_proxy,
                    proxy_authorization=proxy_authorization,
                    use_environment=self._env_proxies and endpoint != SIMULATOR_ENDPOINT,
                )
                if proxy:
                    logger.info("Connecting to %s through the proxy %s", url, redact(proxy))
                options = SessionOptions(
                    endpoint=url,
                    identifier=self._settings.identifier,
                    user_agent=self._settings.user_agent,
                    webapp_version=self._settings.webapp_version,
                    max_frame_size=self._settings.max_frame_size,
                    max_in_flight=self._settings.max_in_flight,
                    open_timeout=self._settings.download_timeout,
                    proxy=proxy,
                    ssl_context=self._ssl_context,
                )
                self._pools[key] = SessionPool(
                    lambda: self._open_session(options),
                    self._settings.connections_per_endpoint,
                    Backoff(self._settings.reconnect_delay, self._settings.reconnect_max_delay),
                )
            return self._pools[key]

    async def _open_session(self, options: SessionOptions) -> KwiffSession:
        def on_event(name: str, args: list[Any]) -> None:
            self.crawler.signals.send_catch_log(
                signals.unsolicited_event, name=name, args=args, endpoint=options.endpoint
            )

        return await KwiffSession.open(options, on_stat=self._count, on_event=on_event)

    def _count(self, key: str, count: int) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"kwiff/{key}", count)

    # -- results -----------------------------------------------------------------

    def _refused(self, request: Request, error: HandshakeRefused) -> Response:
        """A refused handshake becomes a response with its status, for Scrapy's middlewares."""
        self._count(f"handshakes_refused/{error.status}", 1)
        key = (error.url, error.status)
        if key not in self._refusals_logged:
            self._refusals_logged.add(key)
            logger.warning("%s", error)
        return Response(
            request.url,
            status=error.status,
            headers=error.headers,
            body=error.body,
            request=request,
            flags=["kwiff_handshake_refused"],
        )

    def _check_size(self, request: Request, size: int) -> None:
        maxsize: int = request.meta.get("download_maxsize", self._settings.download_maxsize)
        warnsize: int = request.meta.get("download_warnsize", self._settings.download_warnsize)
        if maxsize and size > maxsize:
            text = (
                f"Received {size} bytes which is larger than download max size ({maxsize}) "
                f"in request {request}."
            )
            logger.warning(text)
            raise DownloadCancelledError(text)
        if warnsize and size > warnsize:
            logger.warning(
                "Received %d bytes which is larger than download warn size (%d) in request %s.",
                size,
                warnsize,
                request,
            )


def _scrapy_connect_error(error: ConnectFailed) -> Exception:
    cause = error.__cause__
    text = str(error)
    if isinstance(cause, ConnectionRefusedError):
        return DownloadConnectionRefusedError(text)
    if isinstance(cause, socket.gaierror):
        return CannotResolveHostError(
            f"{text} (no network or DNS? Offline, use -s KWIFF_ENDPOINT=simulator)"
        )
    if isinstance(cause, TimeoutError):
        return DownloadTimeoutError(text)
    return DownloadFailedError(text)
