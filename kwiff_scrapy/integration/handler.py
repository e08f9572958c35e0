"""The Scrapy download handler for ``kwiff://`` command requests.

Scrapy calls :meth:`KwiffDownloadHandler.download_request` for each request; the
handler sends the command over a pooled, kept-alive session and returns the ack
as a :class:`~kwiff_scrapy.integration.http.KwiffResponse`. Session errors are translated
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
    NotConfigured,
)
from scrapy.http import Response

from ..connection.connector import Connector
from ..connection.deadlines import SharedTimeout
from ..connection.errors import ConnectFailed, ConnectionLost, HandshakeRefused
from ..connection.session import SessionStat
from . import signals, stats
from .batch import BatchAnswer, KwiffBatchRequest, KwiffBatchResponse
from .config import KwiffSettings
from .http import KwiffResponse, message_of, payload_of
from .scrapy_internals import stats_incrementer
from .setting_names import EndpointTypoError, check_setting_names

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from scrapy import Request
    from scrapy.crawler import Crawler

    from ..connection.session import KwiffSession
    from ..protocol.client import AckReceived

logger = logging.getLogger(__name__)

#: The stats key of every session counter.
_SESSION_KEYS = {stat: stats.session_key(stat) for stat in SessionStat}

#: What :meth:`KwiffDownloadHandler._command` turns a session error into.
_COMMAND_ERRORS = (
    DownloadTimeoutError,
    DownloadFailedError,
    DownloadConnectionRefusedError,
    CannotResolveHostError,
)

#: Distinct download timeouts given a shared timer each; requests with yet others
#: (a spider drawing them per request) fall back to ``asyncio.timeout``.
_MAX_SHARED_TIMEOUTS = 16


class KwiffDownloadHandler(BaseDownloadHandler):
    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        try:
            check_setting_names(crawler)  # done already when the add-on is on
        except EndpointTypoError as exc:
            # Without the add-on the crawl cannot be stopped from here: the scheme is left
            # unconfigured, so that every command fails with this reason and none is sent.
            logger.error("%s", exc)
            raise NotConfigured(str(exc)) from None
        self._settings = KwiffSettings.of(crawler)
        self._connector = Connector(
            self._settings.connection, on_stat=self._count, on_event=self._send_event_signal
        )
        self._refusals_logged: set[tuple[str, int]] = set()
        self._increment: Callable[[str, int], None] | None = None
        #: One loop timer per distinct download timeout rather than one per request.
        self._timeouts: dict[float, SharedTimeout] = {}

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
        if isinstance(request, KwiffBatchRequest):
            return await self._download_batch(request, message, payload, timeout, endpoint)
        started = time.monotonic()
        try:
            session, ack = await self._command(request, message, payload, timeout, endpoint)
        except HandshakeRefused as exc:
            return self._refused(request, exc)
        request.meta["download_latency"] = time.monotonic() - started

        response = KwiffResponse.from_ack(
            request,
            ack.body,
            ack.args_if_decoded,
            ip_address=session.peer_ip,
            protocol="socket.io/eio3",
        )
        self._check_size(request, len(response.body))
        return response

    async def _command(
        self,
        request: Request,
        message: str,
        payload: Any,
        seconds: float,
        endpoint: str,
        decode: bool = True,
    ) -> tuple[KwiffSession, AckReceived]:
        """Send one command and wait for its ack within *seconds*; a session error
        becomes Scrapy's exception (a refused handshake is left to the caller).
        *decode*: as :meth:`KwiffSession.command`'s."""
        shared = self._timeouts.get(seconds)
        if shared is None:  # (not `or`: a SharedTimeout with no use running is falsy)
            shared = self._shared_timeout(seconds)
        try:
            if shared is not None:  # the usual case: no timer of its own
                with shared.bound():
                    session = await self._session(request, endpoint)
                    return session, await session.command(message, payload, decode=decode)
            async with asyncio.timeout(seconds):
                session = await self._session(request, endpoint)
                return session, await session.command(message, payload, decode=decode)
        except TimeoutError as exc:
            raise DownloadTimeoutError(
                f"Kwiff command {message!r} got no answer from {endpoint} within {seconds:g} s "
                f"(DOWNLOAD_TIMEOUT or the download_timeout meta key)"
            ) from exc
        except ConnectFailed as exc:
            raise _scrapy_connect_error(exc) from exc
        except ConnectionLost as exc:
            raise DownloadFailedError(
                f"Kwiff command {message!r} to {endpoint} lost its connection before the "
                f"answer: {exc}"
            ) from exc

    async def _download_batch(
        self,
        request: KwiffBatchRequest,
        message: str,
        payloads: Any,
        seconds: float,
        endpoint: str,
    ) -> Response:
        """Send a batch's commands concurrently, each within *seconds*: one response with
        every command's outcome, or one error if none was answered (see :mod:`.batch`)."""
        if not isinstance(payloads, list) or not payloads:
            raise ValueError(f"the body of {request} is not a JSON array of payloads")
        started = time.monotonic()
        # Undecoded: a batch's reader parses each answer from its bytes (the watch's
        # event:get straight into typed objects), or decodes it when it asks.
        outcomes = await asyncio.gather(
            *(
                self._command(request, message, payload, seconds, endpoint, decode=False)
                for payload in payloads
            ),
            return_exceptions=True,
        )
        request.meta["download_latency"] = time.monotonic() - started
        answers: list[BatchAnswer] = []
        session: KwiffSession | None = None
        failures: list[BaseException] = []
        for payload, outcome in zip(payloads, outcomes, strict=True):
            if isinstance(outcome, tuple):
                session, ack = outcome
                try:  # DOWNLOAD_MAXSIZE and _WARNSIZE: of each answer, as for one command
                    self._check_size(request, len(ack.body))
                except DownloadCancelledError as exc:
                    failures.append(exc)
                    answers.append(BatchAnswer(payload, failure=exc))
                    continue
                answers.append(BatchAnswer(payload, ack.body, ack.args_if_decoded))
                continue
            if isinstance(outcome, HandshakeRefused):
                return self._refused(request, outcome)
            if not isinstance(outcome, _COMMAND_ERRORS):  # not a session error: a bug, raised
                raise outcome
            failures.append(outcome)
            answers.append(BatchAnswer(payload, failure=outcome))
        stats.increment(self.crawler, stats.BATCH_REQUESTS)
        stats.increment(self.crawler, stats.BATCH_COMMANDS, len(payloads))
        if failures:
            stats.increment(self.crawler, stats.BATCH_COMMANDS_FAILED, len(failures))
        if session is None:  # no answer at all: one error, for RetryMiddleware
            raise failures[0]
        return KwiffBatchResponse.of(
            request, answers, ip_address=session.peer_ip, protocol="socket.io/eio3"
        )

    async def close(self) -> None:
        for shared in self._timeouts.values():
            shared.close()
        await self._connector.close()

    def _shared_timeout(self, timeout: float) -> SharedTimeout | None:
        """The shared timer of a download timeout seen for the first time, if it gets one.

        A :class:`SharedTimeout` per distinct timeout (uses of one timeout end in the
        order they start): one loop timer per timeout rather than one per request.
        Other values (none, zero or negative, or one distinct value too many) get
        ``None``: ``asyncio.timeout``, as before.
        """
        if (
            type(timeout) not in (int, float)
            or not timeout > 0
            or len(self._timeouts) >= _MAX_SHARED_TIMEOUTS
        ):
            return None
        shared = self._timeouts[timeout] = SharedTimeout(timeout)
        return shared

    def _session(self, request: Request, endpoint: str) -> Awaitable[KwiffSession]:
        return self._connector.session(
            endpoint,
            proxy=request.meta.get("proxy"),
            proxy_authorization=request.headers.get(b"Proxy-Authorization"),
        )

    def _send_event_signal(self, name: str, args: list[Any], endpoint: str) -> None:
        self.crawler.signals.send_catch_log(
            signals.unsolicited_event, name=name, args=args, endpoint=endpoint
        )

    def _count(self, stat: SessionStat, count: int) -> None:
        # Three counts per command: the stats collector's method, looked up once.
        increment = self._increment
        if increment is None:
            collector = self.crawler.stats
            if collector is None:
                return
            increment = self._increment = stats_incrementer(collector)
        increment(_SESSION_KEYS[stat], count)

    # -- results -----------------------------------------------------------------

    def _refused(self, request: Request, error: HandshakeRefused) -> Response:
        """A refused handshake becomes a response with its status, for Scrapy's middlewares."""
        stats.increment(self.crawler, stats.handshakes_refused(error.status))
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
