"""Minimal HTTP CONNECT and SOCKS5 proxies on loopback, for proxy tests."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class TunnelServer:
    """Accepts connections on loopback; subclasses speak a proxy protocol in ``_tunnel``."""

    port: int = 0
    tunnels: list[str] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._tunnel(reader, writer)
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


@dataclass
class ConnectProxy(TunnelServer):
    """Tunnels ``CONNECT host:port`` to 127.0.0.1 targets and records what it saw."""

    authorizations: list[str | None] = field(default_factory=list)
    require_authorization: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode("latin-1").strip()
        headers: dict[str, str] = {}
        while (line := (await reader.readline()).decode("latin-1").strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        method, target, _ = request_line.split(" ", 2)
        authorization = headers.get("proxy-authorization")
        self.authorizations.append(authorization)
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or host != "127.0.0.1":
            writer.write(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            return
        if self.require_authorization and authorization != self.require_authorization:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            return
        self.tunnels.append(target)
        await _splice(reader, writer, int(port), b"HTTP/1.1 200 Connection established\r\n\r\n")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(Exception):
        writer.write_eof()


@dataclass
class Socks5Proxy(TunnelServer):
    """A no-authentication SOCKS5 proxy (CONNECT only) to 127.0.0.1 targets."""

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _version, methods = await reader.readexactly(2)
        await reader.readexactly(methods)
        writer.write(b"\x05\x00")  # no authentication
        _version, command, _reserved, address_type = await reader.readexactly(4)
        if address_type == 1:
            host = ".".join(str(b) for b in await reader.readexactly(4))
        elif address_type == 3:
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        else:
            writer.write(b"\x05\x08\x00\x01" + bytes(6))  # address type not supported
            return
        port = int.from_bytes(await reader.readexactly(2), "big")
        if command != 1 or host not in ("127.0.0.1", "localhost"):
            writer.write(b"\x05\x02\x00\x01" + bytes(6))  # not allowed
            return
        self.tunnels.append(f"{host}:{port}")
        await _splice(reader, writer, port, b"\x05\x00\x00\x01" + bytes(6))


async def _splice(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, established: bytes
) -> None:
    """Connect to 127.0.0.1:*port*, tell the client, and pipe both ways until both end."""
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(established)
    try:
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
    finally:
        upstream_writer.close()
        with contextlib.suppress(Exception):
            await upstream_writer.wait_closed()
