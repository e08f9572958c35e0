"""Record and replay with Scrapy's HTTP cache: a crawl recorded against the simulator
replays without any server, and callbacks get ``KwiffResponse`` objects (Scrapy's
cache storages keep a response's class)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scrapy.http import Response

from kwiff_scrapy import KwiffRequest, KwiffResponse
from kwiff_scrapy.model.items import KwiffEvent, OutcomeRow
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData
from kwiff_scrapy.spiders.football import KwiffFootballSpider

from ..conftest import CrawlResult, crawl

FOOTBALL = SimulatedData().events(11)


class RecordingFootballSpider(KwiffFootballSpider):
    """The football spider, keeping every response its callbacks get in ``seen``."""

    extra_arguments = ("seen",)
    seen: list[Response]

    def parse_event_list(
        self, response: KwiffResponse
    ) -> Iterator[KwiffEvent | OutcomeRow | KwiffRequest]:
        self.seen.append(response)
        yield from super().parse_event_list(response)

    def parse_event_get(
        self, response: KwiffResponse, listed: KwiffEvent | None = None
    ) -> Iterator[KwiffEvent | OutcomeRow]:
        self.seen.append(response)
        yield from super().parse_event_get(response, listed)


def unreachable_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"ws://127.0.0.1:{port}/socket.io/"


async def crawl_with_cache(
    cache: Path, endpoint: str, seen: list[Response], **settings: Any
) -> CrawlResult:
    return await crawl(
        RecordingFootballSpider,
        {
            "KWIFF_ENDPOINT": endpoint,
            "HTTPCACHE_ENABLED": True,
            "HTTPCACHE_DIR": str(cache),
            "RETRY_TIMES": 0,
            "CONCURRENT_REQUESTS": 32,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
            **settings,
        },
        details="1",
        seen=seen,
    )


def expected_data(response: Response) -> dict[str, Any]:
    """What the simulator answered to the command of *response*."""
    request = response.request
    assert isinstance(request, KwiffRequest)
    if request.message == "event:list":
        return {"events": FOOTBALL}
    return {"result": SimulatedData().event(request.payload["eventId"])}


def by_event(item: Any) -> int:
    return int(item.event_id)


async def test_a_recorded_crawl_replays_without_a_server(
    simulator: KwiffSimulator, tmp_path: Path
) -> None:
    cache = tmp_path / "httpcache"
    recorded_seen: list[Response] = []
    recorded = await crawl_with_cache(cache, simulator.url, recorded_seen)
    commands = 1 + len(FOOTBALL)  # event:list, then event:get for every event
    assert recorded.errors == []
    assert len(recorded.items) == len(FOOTBALL)
    assert recorded.stat("httpcache/store") == commands
    assert recorded.stat("kwiff/commands_sent") == commands

    replayed_seen: list[Response] = []
    replayed = await crawl_with_cache(cache, unreachable_endpoint(), replayed_seen)
    assert replayed.errors == []
    # fetched_at too: the recorded answers' time. One item per event:get, in the order the
    # answers came back, which concurrent requests do not fix.
    assert sorted(replayed.items, key=by_event) == sorted(recorded.items, key=by_event)
    assert replayed.stat("httpcache/hit") == commands
    assert replayed.stat("httpcache/miss") == 0
    assert replayed.stat("kwiff/connections_opened") == 0
    assert replayed.stat("kwiff/commands_sent") == 0
    assert replayed.stat("log_count/ERROR") == 0

    assert len(replayed_seen) == commands
    for response in replayed_seen:
        assert type(response) is KwiffResponse
        assert "cached" in response.flags
        assert response.answer.data == expected_data(response)
        assert response.answer.fetched_at is not None
    assert all("cached" not in r.flags for r in recorded_seen)
