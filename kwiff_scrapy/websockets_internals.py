"""The session's ``websockets`` connection: the one module that leans on websockets' internals.

:class:`SessionConnection` subclasses websockets' ``ClientConnection`` to hand each
message to the session as it arrives and to gather the writes of a loop turn
(its docstring says why). Neither is possible through websockets' public API, so
this module overrides and uses names that websockets 17 does not document, or
documents under "Private methods" of ``websockets.asyncio.connection.Connection``.
Everything else in the package uses only the public API of a connection
(``send``, ``close``, ``state``, ``close_code``, ``close_reason``,
``remote_address``) and what this module adds: :meth:`~SessionConnection.attach`,
:meth:`~SessionConnection.send_text_at_once`, :attr:`~SessionConnection.close_error`
and :func:`abort_connection`.

Written against websockets 17.4. What it relies on, and why:

Overridden methods of ``Connection``
    ``process_event(event)``
        Called by ``data_received`` with each event websockets' protocol parsed.
        ``ClientConnection``'s takes the handshake response; the base one queues data
        frames for ``recv()``. Here data frames go to the session instead, and the
        rest (the handshake response, control frames) to ``super()``.
    ``send_data()``
        The one place every write path (``send()``'s ``send_context``,
        ``data_received``'s automatic replies, ``close()``) writes
        ``protocol.data_to_send()`` to the transport. Here it gathers writes.
    ``connection_lost(exc)``
        asyncio's callback; websockets' own leaves the protocol ``CLOSED`` and the
        connection's exception set, so ``close_exc`` is final when the session is told.

Attributes and methods used
    ``send_in_progress``
        Not ``None`` while a fragmented message is being sent (no other frame may go).
    ``paused``
        True while the transport's write buffer is over its limit (``send()`` drains).
    ``set_connection_exc(exc)``
        Records why the connection ended; ``close_exc`` then carries it as its cause.
    ``close_exc``
        The ``ConnectionClosed`` that ended the connection (its ``sent`` frame says
        whether this side refused a frame over ``max_size``, code 1009).
    ``protocol``
        websockets' sans-I/O ``ClientProtocol``: its ``state``, ``send_text(data)``,
        ``data_to_send()`` and ``fail(code, reason)`` (which queues the close frame
        and stops parsing, as ``recv()``'s ``TooManyFragments`` does).
    ``transport``, ``loop``
        The asyncio transport and event loop the connection was made with (the
        simulator, too, drops a connection through ``transport``:
        :func:`abort_connection`).
    ``websockets.asyncio.messages.MAX_FRAGMENTS``
        The fragments ``recv()`` accepts in one message; the same limit applies here.

``tests/test_library_assumptions.py`` checks each of these, with its signature and the
behaviour relied on, and fails the day a websockets release changes one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sized
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import Connection
from websockets.asyncio.messages import MAX_FRAGMENTS
from websockets.exceptions import ConnectionClosed, TooManyFragments
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import Event, State

MessageHandler = Callable[[bytes, bool], None]

#: The default of :attr:`SessionConnection.gather_limit`.
_GATHER_LIMIT = 16


class SessionConnection(ClientConnection):
    """A ``ClientConnection`` that hands each message to the session as it arrives.

    ``recv()`` would queue messages for a reader task to wake up and take: a loop
    turn and a task switch per answer. Here each whole message, text frames as their
    UTF-8 bytes (never decoded to a ``str``) and binary ones flagged, goes to the
    session's handler straight from ``data_received``, in order. Messages that come
    with the handshake response, before the session attaches, are kept until it
    does. ``max_size`` still bounds a message (the protocol checks it, fragments
    included) and at most ``MAX_FRAGMENTS`` fragments make one, as for ``recv()``.

    Writes are coalesced while the session has more than one command in flight:
    each ``transport.write`` is a ``send`` system call, and on loopback one that
    wakes the server's process costs far more than the frame's own work. The
    frames written during one loop turn are gathered and leave together at the
    end of it, in one write (:meth:`send_data`; a longer burst in writes of
    :attr:`gather_limit` frames). One command at a time, control frames, the close
    frame and EOF are written at once, after anything gathered. A command that
    need not wait skips ``send()``'s machinery (:meth:`send_text_at_once`).
    """

    #: Frames gathered at most: a longer burst leaves in several writes, so that the
    #: server works on the first while the client frames the others.
    gather_limit = _GATHER_LIMIT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handler: MessageHandler | None = None
        self._on_lost: Callable[[], None] | None = None
        self._early: list[tuple[bytes, bool]] = []
        self._fragments: list[bytes] = []
        self._binary = False
        self._discarding = False
        self._lost = False
        #: The session's commands in flight: writes are gathered while there are two or more.
        self._in_flight: Sized = ()
        #: Data gathered this loop turn, and the callback that writes it at the end of it.
        self._gathered: list[bytes] = []
        self._flush: asyncio.Handle | None = None

    def attach(
        self, handler: MessageHandler, on_lost: Callable[[], None], in_flight: Sized = ()
    ) -> None:
        """From now on, give *handler* every message and call *on_lost* at the end.

        While *in_flight* (the session's commands awaiting their acks) holds more
        than one, the frames of a loop turn leave in one write.
        """
        early, self._early = self._early, []
        self._handler, self._on_lost = handler, on_lost
        self._in_flight = in_flight
        for message, binary in early:
            handler(message, binary)
        if self._lost:
            on_lost()

    @property
    def close_error(self) -> ConnectionClosed:
        """Why the connection ended (websockets' ``close_exc``); ask only once it has."""
        return self.close_exc

    def process_event(self, event: Event) -> None:
        if not isinstance(event, Frame) or event.opcode not in _DATA_OPCODES:
            super().process_event(event)  # the handshake response, control frames
            return
        if self._discarding:
            return
        data = event.data if type(event.data) is bytes else bytes(event.data)
        if event.opcode is not Opcode.CONT:
            self._binary = event.opcode is Opcode.BINARY
        fragments = self._fragments
        if not event.fin:
            fragments.append(data)
            if len(fragments) >= _MAX_FRAGMENTS:
                self._too_many_fragments()
            return
        if fragments:
            fragments.append(data)
            data = b"".join(fragments)
            fragments.clear()
        if self._handler is None:
            self._early.append((data, self._binary))
        else:
            self._handler(data, self._binary)

    def _too_many_fragments(self) -> None:
        """What ``recv()`` does: close with 1009 and read no further."""
        self._fragments.clear()
        self._discarding = True
        self.set_connection_exc(TooManyFragments(_MAX_FRAGMENTS))
        self.protocol.fail(CloseCode.MESSAGE_TOO_BIG, "too many fragments")
        self.send_data()
        self.transport.close()

    def send_text_at_once(self, text: str) -> bool:
        """``send(text)`` when it would not wait: the frame is written (or gathered).

        ``send()`` enters and leaves an asynchronous context manager and awaits a
        drain for every message, as much work as framing and compressing a small one.
        When none of it is needed (the connection open, no fragmented message being
        sent, the write buffer not full, the transport not closing), the frame goes
        straight to the protocol and :meth:`send_data`. Otherwise returns False: then
        ``send()``, which waits or raises as it should.
        """
        if (
            self.protocol.state is not State.OPEN
            or self.send_in_progress is not None
            or self.paused
            or self.transport.is_closing()
        ):
            return False
        self.protocol.send_text(text.encode())
        try:
            self.send_data()
        except Exception as exc:  # as send_context(): the end of the connection, which
            self.set_connection_exc(exc)  # fails the command waiting for its ack
            self.transport.abort()
        return True

    def send_data(self) -> None:
        """Write what the protocol has to send: at once, or gathered for this loop turn.

        Gathering happens only while the connection is open and the session has
        more than one command in flight, so that one command at a time pays no
        extra loop turn. Otherwise (a close frame or a failure has left the
        protocol ``CLOSING``, EOF, a lone command, a pong), what was gathered is
        written first, then the new data, as websockets would, in order.
        """
        if len(self._in_flight) > 1 and self.protocol.state is State.OPEN:
            gathered = self._gathered
            for data in self.protocol.data_to_send():
                if data:
                    gathered.append(data)
                else:  # EOF (never while open): everything before it goes first
                    if gathered:
                        self._write_gathered()
                    self._write_eof()
            if len(gathered) >= self.gather_limit:
                self._write_gathered()  # let the server start on these meanwhile
            elif gathered and self._flush is None:
                self._flush = self.loop.call_soon(self._flush_gathered)
            return
        if self._gathered:
            self._write_gathered()
        super().send_data()

    def _write_gathered(self) -> None:
        gathered = self._gathered
        data = gathered[0] if len(gathered) == 1 else b"".join(gathered)
        gathered.clear()
        if not self.transport.is_closing():  # else aborted: nothing more is written
            self.transport.write(data)

    def _write_eof(self) -> None:
        """What websockets' ``send_data()`` does with EOF: half-close, or close."""
        if self.transport.can_write_eof():
            with contextlib.suppress(Exception):
                self.transport.write_eof()
        else:
            self.transport.close()

    def _flush_gathered(self) -> None:
        """The end of the loop turn: write what was gathered (unless already written)."""
        self._flush = None
        if not self._gathered:
            return
        try:
            self._write_gathered()
        except Exception as exc:  # as websockets' send_context(): the connection is done
            self.set_connection_exc(exc)
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._gathered.clear()
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        super().connection_lost(exc)
        self._lost = True
        if self._on_lost is not None:
            self._on_lost()


_DATA_OPCODES = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.CONT})
#: The fragments a message may have, as websockets' ``recv()`` allows.
_MAX_FRAGMENTS = MAX_FRAGMENTS


def abort_connection(connection: Connection) -> None:
    """Drop *connection* at once, without a closing handshake (websockets has no call for it)."""
    connection.transport.abort()
