"""Serving the dashboard until Ctrl-C (or SIGTERM): ``scrapy kwiff dashboard`` runs this."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import sys
from typing import TYPE_CHECKING, TextIO

from aiohttp import web

from .app import AccessLogger, DashboardConfig, make_app

if TYPE_CHECKING:
    from ..history.queries import HistoryReader


def is_loopback(host: str) -> bool:
    """Whether *host* is this machine only (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(config: DashboardConfig) -> str | None:
    """The warning for a dashboard that others may reach (None on 127.0.0.1)."""
    if is_loopback(config.host):
        return None
    ask = (
        "each must give the token"
        if config.token
        else "give --token SECRET to ask them for a token"
    )
    return (
        f"warning: serving on {config.host}, not 127.0.0.1: anyone who can reach this machine "
        f"on port {config.port} can read the odds history ({ask}; the traffic is not "
        "encrypted: put a TLS proxy in front of it beyond a trusted network)"
    )


def serve(reader: HistoryReader, config: DashboardConfig, out: TextIO = sys.stdout) -> None:
    """Serve until interrupted; ``OSError`` if the address cannot be bound."""
    asyncio.run(_serve(reader, config, out))


async def _serve(reader: HistoryReader, config: DashboardConfig, out: TextIO) -> None:
    app = make_app(reader, config)
    runner = web.AppRunner(app, access_log_class=AccessLogger, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(number, stop.set)
    try:
        site = web.TCPSite(runner, config.host, config.port, shutdown_timeout=2)
        await site.start()
        port = site.port  # the port bound (for --port 0)
        host = f"[{config.host}]" if ":" in config.host else config.host
        print(
            f"Dashboard of {reader.description} at http://{host}:{port}/ (Ctrl-C stops it)",
            file=out,
            flush=True,
        )
        await stop.wait()
    finally:
        await runner.cleanup()
