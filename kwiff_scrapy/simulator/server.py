"""A WebSocket server that impersonates Kwiff's Socket.IO 2 (Engine.IO 3) service.

Every frame is decoded and encoded with the project's sans-I/O codec
(:mod:`kwiff_scrapy.protocol`), so the simulator and the clients share one
implementation of the wire format. The knobs in :class:`~.config.SimulatorConfig`
reproduce the behaviours the clients must survive: slow, silent or garbled answers,
dropped TCP connections, refused handshakes and missed heartbeats.

The fault switches (a :class:`~.config.Faults`, held by
:attr:`~.config.SimulatorConfig.faults`) can be limited to the first N connections with
``faulty_connections``, so that a client can be tested for "fault, then recovery on a
new connection". When several frames precede an ack they come in this order: garbage,
binary, unknown packets, unknown ack; then the ack (twice with ``duplicate_ack``).

With :attr:`~.config.SimulatorConfig.moving` (the command line's default) the data moves
as it is served: see :mod:`kwiff_scrapy.simulator.moves` for the model, and
:meth:`KwiffSimulator.change_log` / :meth:`KwiffSimulator.serve_log` for what it changed
and what it showed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http
import itertools
import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Self
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ..protocol import (
    DEFAULT_NAMESPACE,
    EnginePacket,
    EnginePacketType,
    OpenInfo,
    ProtocolError,
    SocketPacket,
    SocketPacketType,
    decode_engine_packet,
    decode_socket_packet,
    encode_engine_packet,
    encode_open_data,
    message_frame,
)
from ..protocol.client import COMMAND_EVENT
from ..protocol.socketio import compact_json
from ..websockets_internals import abort_connection
from .config import ERROR_ANSWER, MALFORMED_ANSWER, SILENT_ANSWER, SimulatorConfig
from .data import SimulatedData
from .moves import ChangeListener, MovingData

if TYPE_CHECKING:
    from types import TracebackType

    from websockets.asyncio.server import Server
    from websockets.datastructures import Headers
    from websockets.http11 import Request, Response

logger = logging.getLogger("kwiff_scrapy.simulator")

SOCKET_IO_PATH: Final = "/socket.io/"
#: The unsolicited EVENT the service sends while opening a session.
RESPONSE_EVENT: Final = "response"
#: What ``garbage_frame`` sends before each ack: not an Engine.IO packet at all.
GARBAGE_FRAME: Final = "garbage"
#: What ``binary_frame`` sends before each ack: a binary WebSocket frame.
BINARY_FRAME: Final = b"\x04binary"
#: What ``unknown_packet`` sends before each ack: an unknown Engine.IO packet type, then a
#: BINARY_EVENT announcing an attachment that never follows.
UNKNOWN_ENGINE_FRAME: Final = "9hello"
BINARY_EVENT_FRAME: Final = '451-["x",{"_placeholder":true,"num":0}]'
#: ``unknown_ack`` answers ack id ``UNKNOWN_ACK_OFFSET + id`` (which no client used) first.
UNKNOWN_ACK_OFFSET: Final = 10**12
#: The data of the Socket.IO ERROR packet that ``error_packet_after`` sends.
ERROR_MESSAGE: Final = "Not authorized"
#: Bound on the closing handshake so that ``close()`` never waits long for a peer.
CLOSE_TIMEOUT: Final = 2.0

#: The ``error`` of an ``"error"`` answer fault.
ANSWER_FAULT_ERROR: Final = {"code": "INTERNAL", "message": "simulated internal error"}
#: The ``data`` of a ``"malformed"`` answer fault.
MALFORMED_DATA: Final = {"unexpected": True}


def handshake_refusal(
    config: SimulatorConfig, path: str, headers: Headers | dict[str, str]
) -> tuple[http.HTTPStatus, str] | None:
    """Why a handshake request must be refused (status and plain-text reason), or None.

    Checked in the order a real deployment would: the rate limiter in front, then
    the path, then Engine.IO's own parameters, then the service's session checks.
    """
    if config.faults.refuse_status is not None:
        status = http.HTTPStatus(config.faults.refuse_status)
        return status, f"{status.phrase} (simulator refuses every handshake)"
    url = urlsplit(path)
    if url.path.rstrip("/") != SOCKET_IO_PATH.rstrip("/"):
        return http.HTTPStatus.NOT_FOUND, f"Not found: {url.path} (expected {SOCKET_IO_PATH})"
    query = parse_qs(url.query)
    if query.get("EIO") != ["3"]:
        return http.HTTPStatus.BAD_REQUEST, "Unsupported protocol version: EIO=3 expected"
    if query.get("transport") != ["websocket"]:
        return http.HTTPStatus.BAD_REQUEST, "Transport unknown: transport=websocket expected"
    if config.require_browser_headers:
        return _browser_refusal(query.get("identifier", [""])[0], headers)
    return None


def _browser_refusal(
    identifier: str, headers: Headers | dict[str, str]
) -> tuple[http.HTTPStatus, str] | None:
    if not headers.get("User-Agent", "").strip():
        return http.HTTPStatus.FORBIDDEN, "User-Agent header missing"
    if not identifier:
        return http.HTTPStatus.FORBIDDEN, "identifier query parameter missing"
    if identifier not in _cookie_values(headers, "uuid"):
        return http.HTTPStatus.FORBIDDEN, "Cookie uuid does not match identifier"
    return None


def _cookie_values(headers: Headers | dict[str, str], name: str) -> list[str]:
    """Every value of cookie *name* in the request (there may be several Cookie headers)."""
    get_all = getattr(headers, "get_all", None)
    lines = get_all("Cookie") if get_all else [headers.get("Cookie", "")]
    values = []
    for line in lines:
        for item in line.split(";"):
            key, _, value = item.strip().partition("=")
            if key == name:
                values.append(value.strip())
    return values


def session_id(seed: int, number: int) -> str:
    """A 20-character Engine.IO-style sid, deterministic for (seed, connection number)."""
    digest = hashlib.sha256(f"{seed}:{number}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:20]


class KwiffSimulator:
    """The simulated service: start it, point a client at :attr:`url`, close it.

    Counters (read them in tests): ``connections`` (WebSocket sessions accepted),
    ``active_connections``, ``handshakes_refused``, ``commands_received``,
    ``commands_handled`` (commands whose handling is over: answered, every frame of the
    answer sent, or given up for good: silent, muted by the ERROR packet, no ack id,
    connection dropped or closed, answer cancelled), ``acks_sent`` (commands answered,
    each once even with ``duplicate_ack``), ``fault_frames_sent`` (every frame sent only
    because of a fault switch: garbage, binary, unknown packets and acks, duplicate
    acks, error and close packets), ``pings_received``, ``pongs_sent``,
    ``malformed_frames``, ``max_in_flight_seen`` (the most commands of one connection
    received but not yet answered at once; an unanswered command stays in flight until
    its connection ends) and ``dropped_in_flight`` (commands whose answer had not begun
    to be written when ``drop_after`` or :meth:`drop_connections` cut their connection,
    the command that triggered each drop included: the client cannot have had an answer
    to any of them).

    Hooks for tests, so that they wait for events rather than for time:
    :meth:`wait_until` a condition on the counters holds, and :meth:`hold_answers` /
    :meth:`release_answers` to keep commands in flight for as long as a test needs.

    With ``config.moving``, :meth:`change_log` and :meth:`serve_log` tell what the data
    did and what each answer showed. A *data* given here supplies the fixtures; while
    the data moves, ``event:list``, ``event:get`` and ``ticket:odds:get`` are answered
    from the moving state (a subclass's own answers to them apply only with
    ``moving=False``), every other command by *data*.
    """

    def __init__(
        self, config: SimulatorConfig | None = None, *, data: SimulatedData | None = None
    ) -> None:
        self.config = config or SimulatorConfig()
        if data is None:
            data = SimulatedData(
                self.config.seed,
                football_events=self.config.football_events,
                today=self.config.today,
            )
        self.data = data
        self.moving: MovingData | None = None
        """The data in motion (``config.moving``), or None when every answer is the first."""
        self._at_rest: MovingData | None = None
        if self.config.moving:
            self.moving = MovingData(
                data,
                max_log_entries=self.config.max_log_entries,
                speed=self.config.speed,
                scenarios=self.config.scenarios,
            )
        elif type(data) is SimulatedData:
            # The same answers as data.answer(), from cached JSON (the list is >1 MiB and
            # served again and again). A subclass's own answers go through its answer().
            self._at_rest = MovingData(data, max_log_entries=0, still=True)
        self._server: Server | None = None
        self._port: int | None = None
        self._sessions: set[_Session] = set()
        self._numbers = itertools.count(1)
        self._attempts = itertools.count(1)
        self._configs: weakref.WeakKeyDictionary[ServerConnection, SimulatorConfig] = (
            weakref.WeakKeyDictionary()
        )
        self.connections = 0
        self.active_connections = 0
        self.handshakes_refused = 0
        self.commands_received = 0
        self.acks_sent = 0
        self.fault_frames_sent = 0
        self.pings_received = 0
        self.pongs_sent = 0
        self.malformed_frames = 0
        self.max_in_flight_seen = 0
        self.dropped_in_flight = 0
        self.commands_handled = 0
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._answers_released = asyncio.Event()
        self._answers_released.set()

    # ---------------------------------------------------------------- the data's logs

    def change_log(self, since: int = 0) -> list[dict[str, Any]]:
        """Every change the data made, in order, as plain JSON-ready dicts (``seq`` from
        *since* on); ``[]`` when it does not move. The keys are
        :data:`~kwiff_scrapy.simulator.moves.CHANGE_FIELDS`; only the latest
        ``config.max_log_entries`` are kept."""
        return [] if self.moving is None else self.moving.change_log(since)

    def serve_log(self, since: int = 0) -> list[dict[str, Any]]:
        """Which event each ``event:list`` / ``event:get`` answer showed at which step, in
        order (keys :data:`~kwiff_scrapy.simulator.moves.SERVE_FIELDS`); ``[]`` when the
        data does not move. Faulted answers show nothing and are not in it."""
        return [] if self.moving is None else self.moving.serve_log(since)

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Call *listener* with the changes of each answer (change-log entries), right
        when they are made, before the answer is sent. Nothing is called when still."""
        if self.moving is not None:
            self.moving.change_listeners.append(listener)

    def add_serve_listener(self, listener: ChangeListener) -> None:
        """Call *listener* with the serve-log entries of each answer, before it is sent."""
        if self.moving is not None:
            self.moving.serve_listeners.append(listener)

    def answer_json(self, message: Any, payload: Any) -> str:
        """The JSON text of the answer to a command, as a connection would send it now
        (moving the data, if it moves, exactly as a served answer does)."""
        served = self.moving or self._at_rest
        if served is not None:
            return served.answer(message, payload)
        return compact_json(self.data.answer(message, payload))

    # ---------------------------------------------------------------- test hooks

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Return once ``condition()`` is true: checked now, then after every counter change.

        ``await simulator.wait_until(lambda: simulator.commands_handled >= 2)`` waits for
        the event itself instead of sleeping and hoping. It waits for as long as it takes:
        bound it (``asyncio.timeout``) where a hang must fail fast.
        """
        if condition():
            return
        entry = (condition, asyncio.get_running_loop().create_future())
        self._waiters.append(entry)
        try:
            await entry[1]
        finally:
            self._waiters.remove(entry)

    def hold_answers(self) -> None:
        """Send no ack (each one after its ``response_delay``) until :meth:`release_answers`.

        Commands keep being received and counted meanwhile: they stay in flight for as
        long as a test chooses, rather than for a delay it hopes is long enough.
        """
        self._answers_released.clear()

    def release_answers(self) -> None:
        """Send the held acks, and every later one, as usual."""
        self._answers_released.set()

    def _changed(self) -> None:
        """A counter changed: wake the :meth:`wait_until` callers whose condition holds."""
        for condition, waiter in list(self._waiters):
            if waiter.done():
                continue
            try:
                met = condition()
            except Exception as exc:  # the caller's bug: raise it there, not here
                waiter.set_exception(exc)
            else:
                if met:
                    waiter.set_result(None)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the simulator is already started")
        self._server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            compression="deflate",
            max_size=self.config.max_size,
            # EIO 3's heartbeat is the client's "2"/"3"; no WebSocket-level pings.
            ping_interval=None,
            close_timeout=CLOSE_TIMEOUT,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        logger.info("Kwiff simulator listening on %s", self.url)

    async def close(self) -> None:
        """Close every connection (code 1001) and the server; wait for all tasks."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        await server.wait_closed()
        # Sessions cancel their own command tasks; this catches any left over.
        await asyncio.gather(*(s.cancel_commands() for s in list(self._sessions)))

    def drop_connections(self) -> int:
        """Abort the TCP connection of every open session (no close frame), as a network
        failure does, and go on accepting new ones: how many were dropped. Commands not
        yet being answered count in ``dropped_in_flight``. ``python -m
        kwiff_scrapy.simulator`` does this on SIGUSR1."""
        sessions = list(self._sessions)
        for session in sessions:
            self.dropped_in_flight += session.unwritten
            abort_connection(session.connection)
        logger.info("dropped %d connection(s) on request", len(sessions))
        return len(sessions)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not started")
        return self._port

    @property
    def url(self) -> str:
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        return f"ws://{host}:{self.port}{SOCKET_IO_PATH}"

    # ---------------------------------------------------------------- connections

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        config = self.config.for_connection(next(self._attempts))
        refusal = handshake_refusal(config, request.path, request.headers)
        if refusal is None:
            self._configs[connection] = config
            return None
        status, reason = refusal
        self.handshakes_refused += 1
        self._changed()
        logger.info("handshake refused with %d: %s", status, reason)
        response = connection.respond(status, reason + "\n")
        if status in (http.HTTPStatus.TOO_MANY_REQUESTS, http.HTTPStatus.SERVICE_UNAVAILABLE):
            response.headers["Retry-After"] = "1"
        return response

    async def _handle(self, connection: ServerConnection) -> None:
        config = self._configs.pop(connection, self.config)
        session = _Session(self, connection, next(self._numbers), config)
        self._sessions.add(session)
        self.connections += 1
        self.active_connections += 1
        self._changed()
        try:
            await session.run()
        finally:
            self.active_connections -= 1
            self._sessions.discard(session)
            self._changed()


class _Session:
    """One client connection: the opening sequence, heartbeats and commands."""

    def __init__(
        self,
        simulator: KwiffSimulator,
        connection: ServerConnection,
        number: int,
        config: SimulatorConfig,
    ) -> None:
        self.simulator = simulator
        self.config = config
        """The simulator's config, without faults if this connection is not a faulty one."""
        self.faults = config.faults
        self.connection = connection
        self.sid = session_id(self.config.seed, number)
        self.commands = 0
        self.pings = 0
        self.in_flight = 0
        self.unwritten = 0
        """Commands with an ack id whose answer has not begun to be written."""
        self._muted = False
        """Set once the ERROR packet is sent: no more acks on this connection."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()
        loop = asyncio.get_running_loop()
        self._heartbeat_window = (self.config.ping_interval_ms + self.config.ping_timeout_ms) / 1000
        self._deadline = loop.time() + self._heartbeat_window

    async def run(self) -> None:
        try:
            await self._send_opening()
            while await self._receive_one():
                pass
        except ConnectionClosed:
            pass
        finally:
            await self.cancel_commands()

    async def cancel_commands(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------- opening

    async def _send_opening(self) -> None:
        info = OpenInfo(
            sid=self.sid,
            upgrades=(),
            ping_interval=self.config.ping_interval_ms / 1000,
            ping_timeout=self.config.ping_timeout_ms / 1000,
        )
        await self.connection.send(
            encode_engine_packet(EnginePacket(EnginePacketType.OPEN, encode_open_data(info)))
        )
        event = message_frame(
            SocketPacket(SocketPacketType.EVENT, [RESPONSE_EVENT, self._details()])
        )
        connect = message_frame(SocketPacket(SocketPacketType.CONNECT))
        for frame in (event, connect) if self.config.event_before_connect else (connect, event):
            await self.connection.send(frame)

    def _details(self) -> dict[str, Any]:
        """The user / socket details of the ``response`` EVENT (an anonymous web session)."""
        request = self.connection.request
        query = parse_qs(urlsplit(request.path).query) if request else {}
        return {
            "type": "socket",
            "socketId": self.sid,
            "identifier": query.get("identifier", [""])[0],
            "device": query.get("device", ["web-app"])[0],
            "version": query.get("version", [""])[0],
            "user": {"id": None, "authenticated": False, "country": "GB", "currency": "GBP"},
            "serverTime": self.simulator.data.clock(),
        }

    # ------------------------------------------------------------------ receiving

    async def _receive_one(self) -> bool:
        """Handle one frame; False when the session is over."""
        timeout = None
        if self.config.enforce_heartbeat:
            timeout = max(self._deadline - asyncio.get_running_loop().time(), 0)
        try:
            async with asyncio.timeout(timeout):
                frame = await self.connection.recv()
        except TimeoutError:
            logger.info(
                "session %s sent no ping in %.3f s: closing", self.sid, self._heartbeat_window
            )
            return False
        try:
            return await self._on_frame(frame)
        except ProtocolError as exc:
            self.simulator.malformed_frames += 1
            self.simulator._changed()
            logger.warning("session %s: malformed frame ignored: %s", self.sid, exc)
            return True

    async def _on_frame(self, frame: str | bytes) -> bool:
        packet = decode_engine_packet(frame)
        kind = packet.type
        if kind is EnginePacketType.PING:
            await self._on_ping(packet.data)
        elif kind is EnginePacketType.CLOSE:
            logger.info("session %s: client sent close", self.sid)
            return False
        elif kind is EnginePacketType.MESSAGE:
            return await self._on_message(decode_socket_packet(packet.data))
        else:
            logger.debug("session %s: %s packet ignored", self.sid, kind.name)
        return True

    async def _on_ping(self, data: str) -> None:
        self.pings += 1
        self.simulator.pings_received += 1
        self.simulator._changed()
        # The heartbeat deadline concerns pings received, whether or not they are answered.
        self._deadline = asyncio.get_running_loop().time() + self._heartbeat_window
        if self._answers_ping():
            await self.connection.send(
                encode_engine_packet(EnginePacket(EnginePacketType.PONG, data))
            )
            self.simulator.pongs_sent += 1
            self.simulator._changed()

    def _answers_ping(self) -> bool:
        limit = self.faults.stop_pongs_after
        return self.faults.answer_pings and (limit is None or self.pings <= limit)

    async def _on_message(self, packet: SocketPacket) -> bool:
        kind = packet.type
        if packet.namespace != DEFAULT_NAMESPACE:
            if kind is SocketPacketType.CONNECT:
                error = SocketPacket(SocketPacketType.ERROR, "Invalid namespace", packet.namespace)
                await self.connection.send(message_frame(error))
            else:
                logger.debug("session %s: packet for %s ignored", self.sid, packet.namespace)
            return True
        if kind is SocketPacketType.EVENT and packet.data[0] == COMMAND_EVENT:
            return await self._on_command(packet)
        if kind is SocketPacketType.CONNECT:
            await self.connection.send(message_frame(SocketPacket(SocketPacketType.CONNECT)))
        else:
            logger.info("session %s: %s packet ignored", self.sid, kind.name)
        return True

    # ------------------------------------------------------------------- commands

    async def _on_command(self, packet: SocketPacket) -> bool:
        """Count the command, apply the per-command faults, else answer it in a task."""
        self.commands += 1
        self.simulator.commands_received += 1
        if packet.ack_id is not None:
            self._track_in_flight(+1)
            self.unwritten += 1
        self.simulator._changed()
        envelope = packet.data[1] if len(packet.data) > 1 else None
        logger.debug(
            "session %s: command %d received: %r",
            self.sid,
            self.commands,
            envelope.get("message") if isinstance(envelope, dict) else None,
        )
        answering = False
        try:
            if self._reached(self.faults.drop_after):
                logger.info(
                    "session %s: dropping the TCP connection at command %d",
                    self.sid,
                    self.commands,
                )
                self.simulator.dropped_in_flight += self.unwritten
                abort_connection(self.connection)
                return False
            if self._reached(self.faults.close_packet_after):
                await self._send_close_packet()
                return False
            if self._reached(self.faults.error_packet_after) and not self._muted:
                await self._send_error_packet()
            fault = self.faults.answer_faults.get(self.commands)
            if packet.ack_id is None:
                logger.warning("session %s: command without an ack id ignored", self.sid)
            elif fault == SILENT_ANSWER:
                logger.info("session %s: command %d left unanswered", self.sid, self.commands)
            elif not (self.faults.silent or self._muted):
                task = asyncio.create_task(self._answer(packet.ack_id, envelope, fault))
                self._tasks.add(task)
                task.add_done_callback(self._answer_done)
                answering = True
            return True
        finally:
            if not answering:
                self._command_handled()

    def _answer_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._command_handled()

    def _command_handled(self) -> None:
        self.simulator.commands_handled += 1
        self.simulator._changed()

    def _reached(self, limit: int | None) -> bool:
        return limit is not None and self.commands >= limit

    def _track_in_flight(self, change: int) -> None:
        self.in_flight += change
        self.simulator.max_in_flight_seen = max(self.simulator.max_in_flight_seen, self.in_flight)
        self.simulator._changed()

    async def _send_fault(self, frame: str | bytes) -> None:
        await self.connection.send(frame)
        self.simulator.fault_frames_sent += 1
        self.simulator._changed()

    async def _send_close_packet(self) -> None:
        """Send the Engine.IO close packet, then close the WebSocket normally (1000)."""
        logger.info("session %s: sending a close packet at command %d", self.sid, self.commands)
        async with self._send_lock:  # after any garbage/ack pair being sent
            await self._send_fault(encode_engine_packet(EnginePacket(EnginePacketType.CLOSE)))
            await self.connection.close(1000)

    async def _send_error_packet(self) -> None:
        """Send a Socket.IO ERROR for ``/`` and give up every pending and later command."""
        logger.info("session %s: sending an ERROR packet at command %d", self.sid, self.commands)
        async with self._send_lock:  # after any garbage/ack pair being sent
            self._muted = True
            await self._send_fault(
                message_frame(SocketPacket(SocketPacketType.ERROR, ERROR_MESSAGE))
            )
        await self.cancel_commands()

    async def _answer(self, ack_id: int, envelope: Any, fault: str | None = None) -> None:
        """Answer one command; runs as its own task so that delays overlap."""
        try:
            if self.config.response_delay:
                await asyncio.sleep(self.config.response_delay)
            await self.simulator._answers_released.wait()
            await self._send_ack(ack_id, envelope, fault)
        except ConnectionClosed:
            logger.debug("session %s: closed before ack %d was sent", self.sid, ack_id)
        except Exception:  # a bug here must not kill the server or leak a task error
            logger.exception("session %s: answering ack %d failed", self.sid, ack_id)

    async def _send_ack(self, ack_id: int, envelope: Any, fault: str | None) -> None:
        async with self._send_lock:  # keeps the fault frames next to their ack
            if self._muted:
                return
            for frame in self._frames_before_ack(ack_id):
                await self._send_fault(frame)
            # Computed at the last moment: an answer that is never sent moves no clock.
            ack = self._ack_frame(ack_id, self._compute_answer(envelope, fault))
            self.unwritten -= 1
            await self.connection.send(ack)
            self.simulator.acks_sent += 1
            self._track_in_flight(-1)  # tells the waiters
            if self.faults.duplicate_ack:
                await self._send_fault(ack)

    @staticmethod
    def _ack_frame(ack_id: int, answer_json: str) -> str:
        """``43<id>[<answer>]``, the answer's JSON as is (no second encoding)."""
        packet = SocketPacket(SocketPacketType.ACK, [], ack_id=ack_id, raw_data=f"[{answer_json}]")
        return message_frame(packet)

    def _frames_before_ack(self, ack_id: int) -> list[str | bytes]:
        faults = self.faults
        frames: list[str | bytes] = []
        if faults.garbage_frame:
            frames.append(GARBAGE_FRAME)
        if faults.binary_frame:
            frames.append(BINARY_FRAME)
        if faults.unknown_packet:
            frames += [UNKNOWN_ENGINE_FRAME, BINARY_EVENT_FRAME]
        if faults.unknown_ack:
            stray = {"timestamp": self.simulator.data.clock(), "data": None}
            packet = SocketPacket(SocketPacketType.ACK, [stray], ack_id=UNKNOWN_ACK_OFFSET + ack_id)
            frames.append(message_frame(packet))
        return frames

    def _compute_answer(self, envelope: Any, fault: str | None = None) -> str:
        """The answer's JSON text. A faulted one shows no event (and moves nothing)."""
        data = self.simulator.data
        if fault == ERROR_ANSWER:
            answer: dict[str, Any] = {
                "timestamp": data.clock(),
                "data": None,
                "error": dict(ANSWER_FAULT_ERROR),
            }
            return compact_json(answer)
        if fault == MALFORMED_ANSWER:
            return compact_json({"timestamp": data.clock(), "data": dict(MALFORMED_DATA)})
        if not isinstance(envelope, dict):
            return compact_json(
                data.error_answer("INVALID_COMMAND", "the command argument must be an object")
            )
        return self.simulator.answer_json(envelope.get("message"), envelope.get("payload"))
