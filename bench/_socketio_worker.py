"""python-socketio 4.6.1 as a benchmark client, run in its own virtualenv by ``bench._socketio``.

Standalone on purpose (it imports neither ``kwiff_scrapy`` nor ``bench``): it runs
under ``.venv-bench-socketio/bin/python``, where python-socketio 4.6.1 and
python-engineio 3.14.2 (the last generic Python clients for Engine.IO 3) live.

``python _socketio_worker.py '<json config>'`` connects, prints ``ready``, then runs
one job per line read from standard input and prints its seconds::

    {"op": "sequential", "count": 1000, "message": "...", "payload": {...}}
    {"op": "concurrent", "count": 1500, "in_flight": 100, "message": "...", "payload": {...}}
    {"op": "quit"}

A job is timed here (``perf_counter`` and ``process_time``, not across the pipe). The WebSocket
asks for permessage-deflate, as the other clients do (engineio alone would not). Each command
is ``sio.call("command", envelope)``: the frame ``42<id>["command",{...}]`` the
Kwiff web app sends, its ack decoded by the library (stdlib ``json``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import aiohttp
import socketio  # python-socketio 4.6.1

_ws_connect = aiohttp.ClientSession.ws_connect


def _ws_connect_deflate(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
    # engineio 3 calls ws_connect without compress=: ask for permessage-deflate as the
    # other clients (and browsers) do, so that the server does the same work for all.
    kwargs.setdefault("compress", 15)
    return _ws_connect(self, *args, **kwargs)


aiohttp.ClientSession.ws_connect = _ws_connect_deflate  # type: ignore[method-assign]


def envelope(config: dict[str, Any], message: str, payload: Any) -> dict[str, Any]:
    return {
        "message": message,
        "payload": payload,
        "timestamp": time.time_ns() // 1_000_000,
        "userAgent": config["user_agent"],
        "webappVersion": config["webapp_version"],
    }


async def open_client(config: dict[str, Any]) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False)
    connected = asyncio.Event()
    sio.on("connect", connected.set)
    await sio.connect(
        config["url"],  # http://host:port/?device=...&identifier=... (the query is kept)
        headers=config["headers"],
        transports=["websocket"],
        socketio_path=config["path"],
    )
    await asyncio.wait_for(connected.wait(), 10)
    return sio


async def run(config: dict[str, Any]) -> None:
    sio = await open_client(config)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    try:
        while line := await reader.readline():
            job = json.loads(line)
            if job["op"] == "quit":
                break
            message, payload, count = job["message"], job["payload"], job["count"]

            async def call(message: str = message, payload: Any = payload) -> Any:
                return await sio.call("command", envelope(config, message, payload), timeout=30)

            started, cpu_started = time.perf_counter(), time.process_time()
            if job["op"] == "sequential":
                for _ in range(count):
                    await call()
            else:
                in_flight = job["in_flight"]
                for start in range(0, count, in_flight):
                    await asyncio.gather(*(call() for _ in range(min(in_flight, count - start))))
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            print(json.dumps({"seconds": seconds, "cpu": cpu}), flush=True)
    finally:
        await sio.disconnect()


if __name__ == "__main__":
    asyncio.run(run(json.loads(sys.argv[1])))
