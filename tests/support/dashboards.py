"""The dashboard for tests: served in this event loop on a free port of 127.0.0.1, and
prices written to its history one at a time, as a watch would."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from kwiff_scrapy.dashboard.app import DashboardConfig, make_app
from kwiff_scrapy.history.queries import HistoryReader
from kwiff_scrapy.history.records import observe
from kwiff_scrapy.history.schema import database_url
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.model.items import KwiffEvent
from kwiff_scrapy.model.values import iso_utc_datetime

from .waiting import guarded


@contextlib.asynccontextmanager
async def served(
    uri: str, *, token: str | None = None, poll: float = 0.05, movers_max_age: float = 0.0
) -> AsyncIterator[TestClient[Any, Any]]:
    """A client of the dashboard serving *uri* (the server polls every *poll* seconds;
    the movers' tables are kept *movers_max_age* seconds)."""
    with HistoryReader(uri) as reader:
        reader.check()
        config = DashboardConfig(uri, port=0, token=token, poll=poll, movers_max_age=movers_max_age)
        app = make_app(reader, config)
        async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
            yield client


def write_event(uri: str, event: KwiffEvent, at: datetime) -> int:
    """Store *event* as answered at *at*; how many price rows that wrote."""
    event = copy.deepcopy(event)
    event.fetched_at = iso_utc_datetime(at)
    store = HistoryStore(database_url(uri))
    store.open()
    try:
        seen = observe(event)
        assert seen is not None
        return store.write([seen]).written
    finally:
        store.close()


def one_outcome(event: KwiffEvent, market: int, outcome: int, odds: float) -> KwiffEvent:
    """*event* with only one market and one of its outcomes, at *odds*."""
    event = copy.deepcopy(event)
    chosen = event.markets[market]
    chosen.outcomes = [chosen.outcomes[outcome]]
    chosen.outcomes[0].odds = odds
    chosen.outcomes[0].status = None
    event.markets = [chosen]
    return event


@dataclass
class ServerSentEvent:
    event: str
    data: Any


async def next_event(
    response: ClientResponse, wanted: str, what: str, *, guard: float = 60.0
) -> ServerSentEvent:
    """The next server-sent event named *wanted* on the open stream *response*."""

    async def read() -> ServerSentEvent:
        name, data = "message", ""
        while True:
            line = (await response.content.readline()).decode()
            if line == "":
                raise AssertionError(f"the stream ended before {what}")
            line = line.rstrip("\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data += line.removeprefix("data: ")
            elif line == "":
                if data and name == wanted:
                    return ServerSentEvent(name, json.loads(data))
                name, data = "message", ""

    return await guarded(read(), what, guard=guard)
