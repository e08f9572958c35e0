"""One Kwiff connection over ``websockets.asyncio``: handshake, readiness, commands, heartbeat.

A single reader task owns the socket and feeds every frame to the sans-I/O
:class:`~kwiff_scrapy.protocol.ClientProtocol`; commands wait on futures keyed by
ack id, so many can be in flight on one connection. When the connection ends,
for whatever reason, every waiting command fails at once with
:class:`~kwiff_scrapy.errors.ConnectionLost`: nothing is left to time out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import ssl
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.protocol import State
from websockets.typing import Origin

from .. import defaults
from ..protocol import (
    AckReceived,
    ClientProtocol,
    EventReceived,
    NamespaceError,
    Opened,
    OpenInfo,
    PongReceived,
    ProtocolError,
    ServerClosed,
    command_envelope,
    excerpt,
)
from .endpoint import connect_url, handshake_headers
from .errors import ConnectFailed, ConnectionLost, HandshakeRefused, SessionClosed

logger = logging.getLogger(__name__)


class SessionStat(StrEnum):
    """What a session counts, reported through its ``on_stat`` hook.

    The Scrapy integration turns each into a stats key (``kwiff/<value>``,
    :mod:`kwiff_scrapy.integration.stats`).
    """

    CONNECTIONS_OPENED = "connections_opened"
    COMMANDS_SENT = "commands_sent"
    ACKS_RECEIVED = "acks_received"
    BYTES_RECEIVED = "bytes_received"
    UNSOLICITED_EVENTS = "unsolicited_events"
    MALFORMED_FRAMES = "malformed_frames"
    ACKS_LATE = "acks_late"
    ACKS_DUPLICATE = "acks_duplicate"
    ACKS_UNKNOWN = "acks_unknown"


StatHook = Callable[[SessionStat, int], None]
EventHook = Callable[[str, list[Any]], None]

#: How many ack ids of abandoned (timed-out or cancelled) and of answered commands
#: are remembered, so that a late or repeated ack is told apart from an unknown one.
RECENT_IDS_KEPT = 4096


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """How to open a session. ``identifier=None`` draws a fresh UUID4 per connection."""

    endpoint: str
    identifier: str | None = None
    user_agent: str = defaults.USER_AGENT
    webapp_version: str = defaults.WEBAPP_VERSION
    origin: str = defaults.ORIGIN
    accept_language: str = defaults.ACCEPT_LANGUAGE
    max_frame_size: int | None = defaults.MAX_FRAME_SIZE
    max_in_flight: int = defaults.MAX_IN_FLIGHT
    """Commands awaiting their ack at once; more wait their turn (never dropped)."""
    open_timeout: float = defaults.OPEN_TIMEOUT
    close_timeout: float = defaults.CLOSE_TIMEOUT
    proxy: str | None = None
    ssl_context: ssl.SSLContext | None = None


@dataclass(frozen=True, slots=True)
class Ack:
    """The answer to one command: the ACK's arguments, parsed and as received."""

    ack_id: int
    args: list[Any]
    raw_args: str


def _ignore_stat(key: SessionStat, count: int) -> None:
    pass


def _ignore_event(name: str, args: list[Any]) -> None:
    pass


class KwiffSession:
    """An open, ready connection. Create it with :meth:`open`; end it with :meth:`close`."""

    def __init__(
        self,
        connection: ClientConnection,
        options: SessionOptions,
        *,
        on_stat: StatHook = _ignore_stat,
        on_event: EventHook = _ignore_event,
    ) -> None:
        self._ws = connection
        self._options = options
        self._on_stat = on_stat
        self._on_event = on_event
        self._protocol = ClientProtocol()
        self._pending: dict[int, asyncio.Future[Ack]] = {}
        self._abandoned: deque[int] = deque(maxlen=RECENT_IDS_KEPT)
        self._answered: deque[int] = deque(maxlen=RECENT_IDS_KEPT)
        self._slots = asyncio.Semaphore(options.max_in_flight)
        self._failure: ConnectionLost | None = None
        self._pong = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[OpenInfo] = loop.create_future()
        self._heartbeat: asyncio.Task[None] | None = None
        self._reader = asyncio.create_task(self._read_frames(), name="kwiff-session-reader")

    @classmethod
    async def open(
        cls,
        options: SessionOptions,
        *,
        on_stat: StatHook = _ignore_stat,
        on_event: EventHook = _ignore_event,
    ) -> KwiffSession:
        """Connect, perform the handshake and wait for the opening sequence.

        Raises :class:`HandshakeRefused` for an HTTP error status and
        :class:`ConnectFailed` for anything else that prevents a ready session.
        """
        connection = await _connect(options)
        session = cls(connection, options, on_stat=on_stat, on_event=on_event)
        try:
            async with asyncio.timeout(options.open_timeout):
                info = await session._ready
        except TimeoutError as exc:
            await session.close()
            raise ConnectFailed(
                f"{options.endpoint} accepted the WebSocket but did not complete the Socket.IO "
                f"opening sequence (open packet and '40') within {options.open_timeout:g} s"
            ) from exc
        except ConnectionLost as exc:
            await session.close()
            raise ConnectFailed(
                f"{options.endpoint} closed the connection during the opening sequence: {exc}"
            ) from exc
        except BaseException:
            await session.close()
            raise
        session._heartbeat = asyncio.create_task(
            session._send_heartbeats(info.ping_interval, info.ping_timeout),
            name="kwiff-session-heartbeat",
        )
        on_stat(SessionStat.CONNECTIONS_OPENED, 1)
        logger.debug("Kwiff session %s ready on %s", info.sid, options.endpoint)
        return session

    @property
    def closed(self) -> bool:
        """True once the connection has ended or is ending: never send on it again."""
        return self._failure is not None

    @functools.cached_property
    def peer_ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The server's IP address (the proxy's, when connected through one)."""
        try:
            return ipaddress.ip_address(self._ws.remote_address[0])
        except (TypeError, ValueError, IndexError):
            return None

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def command(self, message: str, payload: Any) -> Ack:
        """Send one command and wait for its ack (no timeout here: the caller sets one)."""
        async with self._slots:
            return await self._command(message, payload)

    async def _command(self, message: str, payload: Any) -> Ack:
        if self._failure is not None:
            raise SessionClosed(f"the session is closed ({self._failure})")
        envelope = command_envelope(
            message,
            payload,
            timestamp_ms=time.time_ns() // 1_000_000,
            user_agent=self._options.user_agent,
            webapp_version=self._options.webapp_version,
        )
        ack_id, frame = self._protocol.command_frame(envelope)
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending[ack_id] = future
        try:
            try:
                await self._ws.send(frame)
            except ConnectionClosed as exc:
                raise self._failure or ConnectionLost(_describe_close(exc)) from exc
            self._on_stat(SessionStat.COMMANDS_SENT, 1)
            return await future
        finally:
            if self._pending.pop(ack_id, None) is not None:
                # Not answered: cancelled (a timeout) or failed to send. Remember the id
                # so that an ack arriving later is recognised as late.
                self._abandoned.append(ack_id)

    async def close(self) -> None:
        """Close the connection; every command still waiting fails with :class:`SessionClosed`."""
        if self._failure is None:
            self._fail(SessionClosed("the session was closed by the client"))
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        with contextlib.suppress(Exception):
            await self._ws.close()
        tasks = [t for t in (self._reader, self._heartbeat) if t is not None]
        for task in tasks:
            if task is not asyncio.current_task():
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def __aenter__(self) -> KwiffSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- reading ---------------------------------------------------------------

    async def _read_frames(self) -> None:
        reason = "the server closed the connection"
        try:
            async for frame in self._ws:
                self._on_stat(SessionStat.BYTES_RECEIVED, _size(frame))
                self._handle_frame(frame)
                if self._failure is not None:
                    break
            else:
                reason = _closed_by_server(self._ws.close_code, self._ws.close_reason)
        except ConnectionClosed as exc:
            reason = _describe_close(exc)
        finally:
            self._fail(ConnectionLost(reason))
            if not self._ready.done():
                self._ready.set_exception(ConnectionLost(reason))
        if self._ws.state is not State.CLOSED:
            with contextlib.suppress(Exception):
                await self._ws.close()

    def _handle_frame(self, frame: str | bytes) -> None:
        try:
            event = self._protocol.receive(frame)
        except ProtocolError as exc:
            self._on_stat(SessionStat.MALFORMED_FRAMES, 1)
            logger.warning("Skipped a malformed frame from %s: %s", self._options.endpoint, exc)
            return
        match event:
            case AckReceived():
                self._resolve(event)
            case EventReceived(name=name, args=args):
                self._on_stat(SessionStat.UNSOLICITED_EVENTS, 1)
                try:
                    self._on_event(name, args)
                except Exception:
                    logger.exception("The unsolicited event handler failed on %r", name)
            case PongReceived():
                self._pong.set()
            case Opened():
                pass
            case ServerClosed(reason=reason):
                self._fail(ConnectionLost(reason))
            case NamespaceError(data=data):
                error = f"the server sent a Socket.IO ERROR packet: {data!r:.200}"
                self._fail(ConnectionLost(error))
            case _:
                pass
        if self._protocol.ready and not self._ready.done():
            assert self._protocol.open_info is not None
            self._ready.set_result(self._protocol.open_info)

    def _resolve(self, ack: AckReceived) -> None:
        future = self._pending.pop(ack.ack_id, None)
        if future is None or future.done():
            if ack.ack_id in self._abandoned:
                self._on_stat(SessionStat.ACKS_LATE, 1)
                logger.debug("Dropped the late ack %d (its command had given up)", ack.ack_id)
            elif ack.ack_id in self._answered:
                self._on_stat(SessionStat.ACKS_DUPLICATE, 1)
                logger.warning("Dropped a second ack for command %d", ack.ack_id)
            else:
                self._on_stat(SessionStat.ACKS_UNKNOWN, 1)
                logger.warning(
                    "Dropped an ack with an unknown id %d: %s",
                    ack.ack_id,
                    excerpt(ack.raw_args, 80),
                )
            return
        self._on_stat(SessionStat.ACKS_RECEIVED, 1)
        self._answered.append(ack.ack_id)
        future.set_result(Ack(ack.ack_id, ack.args, ack.raw_args))

    def _fail(self, error: ConnectionLost) -> None:
        """Mark the session dead and fail every waiting command with *error*."""
        if self._failure is None:
            self._failure = error
            if not isinstance(error, SessionClosed):
                logger.info("Kwiff connection to %s ended: %s", self._options.endpoint, error)
        pending, self._pending = self._pending, {}
        for ack_id, future in pending.items():
            self._abandoned.append(ack_id)
            if not future.done():
                future.set_exception(self._failure)

    # -- heartbeat ---------------------------------------------------------------

    async def _send_heartbeats(self, interval: float, pong_timeout: float) -> None:
        """EIO 3: the client pings every ``pingInterval``; no pong in ``pingTimeout`` = dead."""
        while self._failure is None:
            await asyncio.sleep(interval)
            self._pong.clear()
            try:
                await self._ws.send(self._protocol.ping_frame())
            except ConnectionClosed:
                return
            try:
                async with asyncio.timeout(pong_timeout):
                    await self._pong.wait()
            except TimeoutError:
                self._fail(ConnectionLost(f"no pong within {pong_timeout:g} s of a ping"))
                self._ws.transport.abort()
                return


async def _connect(options: SessionOptions) -> ClientConnection:
    identifier = options.identifier or str(uuid.uuid4())
    url = connect_url(options.endpoint, identifier)
    extra: dict[str, Any] = {}
    if options.ssl_context is not None:
        extra["ssl"] = options.ssl_context
    try:
        return await connect(
            url,
            additional_headers=handshake_headers(identifier, options.accept_language),
            user_agent_header=options.user_agent or None,
            origin=Origin(options.origin) if options.origin else None,
            compression="deflate",
            max_size=options.max_frame_size,
            open_timeout=options.open_timeout,
            # EIO 3 has its own heartbeat; browsers send no WebSocket pings.
            ping_interval=None,
            ping_timeout=None,
            close_timeout=options.close_timeout,
            proxy=options.proxy,
            **extra,
        )
    except InvalidStatus as exc:
        response = exc.response
        raise HandshakeRefused(
            options.endpoint,
            response.status_code,
            bytes(response.body or b""),
            _plain(response.headers),
        ) from exc
    except TimeoutError as exc:
        raise ConnectFailed(
            f"no WebSocket handshake with {options.endpoint} within {options.open_timeout:g} s"
        ) from exc
    except (OSError, WebSocketException) as exc:
        raise ConnectFailed(f"could not connect to {options.endpoint}: {exc}") from exc


def _plain(headers: Headers) -> dict[str, str]:
    return {name: value for name, value in headers.raw_items()}


def _size(frame: str | bytes) -> int:
    if isinstance(frame, bytes):
        return len(frame)
    return len(frame) if frame.isascii() else len(frame.encode("utf-8", "surrogatepass"))


def _describe_close(exc: ConnectionClosed) -> str:
    sent, received = exc.sent, exc.rcvd
    if sent is not None and sent.code == 1009:  # we refused a frame over max_size
        return (
            "a frame exceeded the frame size limit (KWIFF_MAX_FRAME_SIZE, by default twice "
            "DOWNLOAD_MAXSIZE); raise it if answers are legitimately this large"
        )
    if received is None:
        return "the connection dropped without a close frame"
    return _closed_by_server(received.code, received.reason)


def _closed_by_server(code: int | None, reason: str | None) -> str:
    said = f", {reason!r}" if reason else ""
    return f"the server closed the connection (code {code}{said})"
