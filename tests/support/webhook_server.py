"""A webhook on 127.0.0.1 that records every request and answers from a script.

::

    async with WebhookServer(Reply(429, {"Retry-After": "1"}), Reply(204)) as server:
        ...  # post to server.url
        received = await server.wait_for(2)

The *n*-th request gets the *n*-th reply of the script, later ones the ``default``
reply (204). A reply may answer a status with headers and a body, reset the
connection without answering (``Reply.reset()``), or hold its answer until an event
is set (``Reply(hold=event)``; ``Reply.hang()`` holds until the server closes).

With ``tls=`` (a server ``SSLContext``) it speaks HTTPS; ``path=`` sets its URL's path
(``/hooks/secret-token`` by default).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    #: Close the connection at once, without an answer.
    drop: bool = False
    #: Answer only once this event is set (or the server closes).
    hold: asyncio.Event | None = None

    @classmethod
    def reset(cls) -> Reply:
        return cls(drop=True)

    @classmethod
    def hang(cls) -> Reply:
        return cls(hold=asyncio.Event())


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    #: Event-loop time at which the request arrived.
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookServer:
    def __init__(
        self,
        *script: Reply,
        default: Reply | None = None,
        tls: ssl.SSLContext | None = None,
        path: str = "/hooks/secret-token",
    ) -> None:
        self.script = list(script)
        self.tls = tls
        self.path = path
        self.default = default or Reply()
        self.received: list[Received] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._holds: list[asyncio.Event] = []
        self.port = 0

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}{self.path}"

    async def start(self) -> WebhookServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.tls)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        for event in self._holds:
            event.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WebhookServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def wait_for(self, count: int) -> list[Received]:
        """Wait until *count* requests have arrived; the first *count* of them."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.received) >= count)
        return self.received[:count]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        number = len(self.received)
        reply = self.script[number] if number < len(self.script) else self.default
        async with self._changed:
            self.received.append(
                Received(
                    request.method,
                    request.path,
                    dict(request.headers),
                    body,
                    asyncio.get_running_loop().time(),
                )
            )
            self._changed.notify_all()
        if reply.hold is not None:
            self._holds.append(reply.hold)
            await reply.hold.wait()
        if reply.drop:
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        return web.Response(status=reply.status, headers=reply.headers, text=reply.body)
