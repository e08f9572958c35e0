"""One Kwiff connection over ``websockets.asyncio``: handshake, readiness, commands, heartbeat.

The session only does I/O. Every message goes, as it arrives (from the
connection's ``data_received``: no reader task to wake), to the sans-I/O
:class:`~kwiff_scrapy.protocol.ClientProtocol`, which decides what it means
(readiness, which command an ack answers, whether it is late, repeated or
unknown); the session turns those events into futures, stats, logs and failures.
Commands wait on futures keyed by ack id, so many can be in flight on one
connection. When the connection ends, for whatever reason, every waiting command
fails at once with :class:`~kwiff_scrapy.connection.errors.ConnectionLost`: nothing is left
to time out.
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, assert_never

from websockets.asyncio.client import connect
from websockets.datastructures import Headers
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidStatus,
    WebSocketException,
)
from websockets.protocol import State
from websockets.typing import Origin

from .. import defaults
from ..protocol import (
    AckReceived,
    ClientProtocol,
    DuplicateAck,
    EventReceived,
    Ignored,
    LateAck,
    NamespaceError,
    OpenInfo,
    PongReceived,
    ProtocolError,
    Ready,
    ServerClosed,
    UnknownAck,
)
from ..websockets_internals import SessionConnection, abort_connection
from .compression import ClientDeflateFactory
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
    #: A session counted as opened has ended (so opened minus closed are open now).
    CONNECTIONS_CLOSED = "connections_closed"


StatHook = Callable[[SessionStat, int], None]
EventHook = Callable[[str, list[Any]], None]


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


def _ignore_stat(key: SessionStat, count: int) -> None:
    pass


def _ignore_event(name: str, args: list[Any]) -> None:
    pass


class KwiffSession:
    """An open, ready connection. Create it with :meth:`open`; end it with :meth:`close`."""

    def __init__(
        self,
        connection: SessionConnection,
        options: SessionOptions,
        *,
        on_stat: StatHook | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        self._ws = connection
        self._options = options
        self._on_stat = _ignore_stat if on_stat is None else on_stat
        self._on_event = _ignore_event if on_event is None else on_event
        self._protocol = ClientProtocol()
        #: The futures of the commands the protocol holds pending, by ack id.
        self._waiting: dict[int, asyncio.Future[AckReceived]] = {}
        #: Slots of commands in flight (``max_in_flight``): the free ones, and the
        #: commands waiting for one, to be handed each a slot in turn as others end.
        self._free_slots = options.max_in_flight
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._failure: ConnectionLost | None = None
        self._pong = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[OpenInfo] = loop.create_future()
        #: Done when the session fails: the closer then closes the connection.
        self._ended: asyncio.Future[None] = loop.create_future()
        self._heartbeat: asyncio.Task[None] | None = None
        self._closer = asyncio.create_task(self._close_when_ended(), name="kwiff-session-closer")
        # Last: messages that came with the handshake are handed over at once.
        connection.attach(self._receive, self._connection_lost, self._waiting)

    @classmethod
    async def open(
        cls,
        options: SessionOptions,
        *,
        on_stat: StatHook | None = None,
        on_event: EventHook | None = None,
    ) -> KwiffSession:
        """Connect, perform the handshake and wait for the opening sequence.

        ``on_stat`` is told what the session counts and ``on_event`` gets the server's
        unsolicited events; ``None`` means no hook. Raises :class:`HandshakeRefused`
        for an HTTP error status and :class:`ConnectFailed` for anything else that
        prevents a ready session.
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
        session._on_stat(SessionStat.CONNECTIONS_OPENED, 1)
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
        return len(self._waiting)

    async def command(self, message: str, payload: Any, *, decode: bool = True) -> AckReceived:
        """Send one command and wait for its ack (no timeout here: the caller sets one).

        At most ``max_in_flight`` commands are sent and waiting at once; the others
        wait their turn, first come first served. ``decode=False``: the ack is left
        undecoded whatever its size (``AckReceived.args`` decodes it when first read),
        for a caller that reads its bytes its own way.
        """
        if self._free_slots:
            self._free_slots -= 1  # the usual case: nothing to await before sending
        else:
            await self._slot()
        try:
            if self._failure is not None:
                raise SessionClosed(f"the session is closed ({self._failure})")
            options = self._options
            ack_id, frame = self._protocol.command_frame_for(
                message,
                payload,
                timestamp_ms=time.time_ns() // 1_000_000,
                user_agent=options.user_agent,
                webapp_version=options.webapp_version,
            )
            if not decode:
                self._protocol.undecoded(ack_id)
            future: asyncio.Future[AckReceived] = asyncio.get_running_loop().create_future()
            self._waiting[ack_id] = future
            try:
                try:
                    ws = self._ws
                    if not ws.send_text_at_once(frame):
                        await ws.send(frame)
                except ConnectionClosed as exc:
                    if future.done() and not future.cancelled():
                        future.exception()  # failed by _fail() while sending: read it here
                    raise self._failure or ConnectionLost(_describe_close(exc)) from exc
                self._on_stat(SessionStat.COMMANDS_SENT, 1)
                return await future
            finally:
                if self._waiting.pop(ack_id, None) is not None:
                    # Not answered: cancelled (a timeout) or failed to send. The protocol
                    # will report an ack arriving later as late.
                    self._protocol.abandon(ack_id)
        finally:
            self._release_slot()

    async def _slot(self) -> None:
        """Wait until a command ending hands its slot over (an ``asyncio.Semaphore``, lighter)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._slot_waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release_slot()  # handed a slot while being cancelled: pass it on
            raise

    def _release_slot(self) -> None:
        waiters = self._slot_waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # not cancelled while waiting
                waiter.set_result(None)
                return
        self._free_slots += 1

    async def close(self) -> None:
        """Close the connection; every command still waiting fails with :class:`SessionClosed`."""
        if self._failure is None:
            self._fail(SessionClosed("the session was closed by the client"))
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        with contextlib.suppress(Exception):
            await self._ws.close()
        tasks = [t for t in (self._closer, self._heartbeat) if t is not None]
        for task in tasks:
            if task is not asyncio.current_task():
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def __aenter__(self) -> KwiffSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- reading ---------------------------------------------------------------

    def _receive(self, message: bytes, binary: bool) -> None:
        """One whole message, called by the connection as it arrives (text as UTF-8 bytes)."""
        if self._failure is not None:
            return  # the session has ended: what still comes is not read
        self._on_stat(SessionStat.BYTES_RECEIVED, len(message))
        try:
            self._handle_frame(message, binary)
        except Exception as exc:  # a bug: fail the session rather than the connection's callback
            logger.exception("Failed on a frame from %s", self._options.endpoint)
            self._fail(ConnectionLost(f"the client failed on a frame: {exc!r}"))

    def _connection_lost(self) -> None:
        """Called by the connection once it has ended, after every message it received."""
        exc = self._ws.close_error
        if isinstance(exc, ConnectionClosedOK):
            reason = _closed_by_server(self._ws.close_code, self._ws.close_reason)
        else:
            reason = _describe_close(exc)
        self._fail(ConnectionLost(reason))

    async def _close_when_ended(self) -> None:
        """Close the connection once the session has failed (by a frame, the heartbeat...)."""
        await self._ended
        if self._ws.state is not State.CLOSED:
            with contextlib.suppress(Exception):
                await self._ws.close()

    def _handle_frame(self, frame: bytes, binary: bool) -> None:
        try:
            protocol = self._protocol
            # A binary frame goes to receive(), which refuses it.
            event = protocol.receive(frame) if binary else protocol.receive_utf8(frame)
        except ProtocolError as exc:
            self._on_stat(SessionStat.MALFORMED_FRAMES, 1)
            logger.warning("Skipped a malformed frame from %s: %s", self._options.endpoint, exc)
            return
        match event:
            case AckReceived(ack_id=ack_id):
                future = self._waiting.pop(ack_id, None)
                if future is None or future.done():
                    # Cancelled, and the ack came before its command could clean up.
                    self._drop_late_ack(ack_id)
                else:
                    self._on_stat(SessionStat.ACKS_RECEIVED, 1)
                    future.set_result(event)
            case LateAck(ack_id=ack_id):
                self._drop_late_ack(ack_id)
            case DuplicateAck(ack_id=ack_id):
                self._on_stat(SessionStat.ACKS_DUPLICATE, 1)
                logger.warning("Dropped a second ack for command %d", ack_id)
            case UnknownAck(ack_id=ack_id, args_excerpt=shown):
                self._on_stat(SessionStat.ACKS_UNKNOWN, 1)
                logger.warning("Dropped an ack with an unknown id %d: %s", ack_id, shown)
            case EventReceived(name=name, args=args):
                self._on_stat(SessionStat.UNSOLICITED_EVENTS, 1)
                try:
                    self._on_event(name, args)
                except Exception:
                    logger.exception("The unsolicited event handler failed on %r", name)
            case PongReceived():
                self._pong.set()
            case Ready(info=info):
                if not self._ready.done():  # done if open() gave up waiting
                    self._ready.set_result(info)
            case ServerClosed(reason=reason, unanswered=unanswered):
                self._fail(ConnectionLost(reason), unanswered)
            case NamespaceError(data=data, unanswered=unanswered):
                error = f"the server sent a Socket.IO ERROR packet: {data!r:.200}"
                self._fail(ConnectionLost(error), unanswered)
            case Ignored():
                pass
            case _:
                assert_never(event)

    def _drop_late_ack(self, ack_id: int) -> None:
        self._on_stat(SessionStat.ACKS_LATE, 1)
        logger.debug("Dropped the late ack %d (its command had given up)", ack_id)

    def _fail(self, error: ConnectionLost, unanswered: Iterable[int] = ()) -> None:
        """Mark the session dead and fail every waiting command with *error*.

        *unanswered* are ids the protocol already handed back (when a frame closed
        it); the protocol hands back any others now.
        """
        if self._failure is None:
            self._failure = error
            if self._heartbeat is not None:  # it was ready, and counted as opened
                self._on_stat(SessionStat.CONNECTIONS_CLOSED, 1)
            if not isinstance(error, SessionClosed):
                logger.info("Kwiff connection to %s ended: %s", self._options.endpoint, error)
            if not self._ready.done():
                self._ready.set_exception(error)
            if not self._ended.done():
                self._ended.set_result(None)
        for ack_id in (*unanswered, *self._protocol.close()):
            future = self._waiting.pop(ack_id, None)
            if future is not None and not future.done():
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
                abort_connection(self._ws)
                return


async def _connect(options: SessionOptions) -> SessionConnection:
    identifier = options.identifier or str(uuid.uuid4())
    url = connect_url(options.endpoint, identifier)
    extra: dict[str, Any] = {}
    if options.ssl_context is not None:
        extra["ssl"] = options.ssl_context
    try:
        connection = await connect(
            url,
            additional_headers=handshake_headers(identifier, options.accept_language),
            user_agent_header=options.user_agent or None,
            origin=Origin(options.origin) if options.origin else None,
            # Deflate as websockets' compression="deflate", but commands leave as they are.
            compression=None,
            extensions=[ClientDeflateFactory()],
            max_size=options.max_frame_size,
            open_timeout=options.open_timeout,
            # EIO 3 has its own heartbeat; browsers send no WebSocket pings.
            ping_interval=None,
            ping_timeout=None,
            close_timeout=options.close_timeout,
            proxy=options.proxy,
            create_connection=SessionConnection,
            **extra,
        )
        assert isinstance(connection, SessionConnection)
        return connection
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
