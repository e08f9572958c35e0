"""Record and replay with Scrapy's HTTP cache: a crawl recorded against the simulator
replays without any server, and callbacks get ``KwiffResponse`` objects either way."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.extensions.httpcache import FilesystemCacheStorage
from scrapy.http import JsonResponse, Response
from scrapy.responsetypes import responsetypes

from kwiff_scrapy import KwiffRequest, KwiffResponse
from kwiff_scrapy.integration.middleware import KwiffResponseMiddleware
from kwiff_scrapy.model.items import KwiffEvent, OutcomeRow
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData
from kwiff_scrapy.spiders.football import KwiffFootballSpider

from .conftest import CrawlResult, crawl

FOOTBALL = SimulatedData().events(11)


class RecordingFootballSpider(KwiffFootballSpider):
    """The football spider, keeping every response its callbacks get in ``seen``."""

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
    assert replayed.items == recorded.items  # fetched_at too: the recorded answers' time
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


class HeaderTypedStorage(FilesystemCacheStorage):
    """Rebuilds a response's class from its headers, as cache storages written before
    Scrapy 2.19 (and many custom ones) do: an answer comes back as a ``JsonResponse``."""

    def retrieve_response(self, spider: Spider, request: Request) -> Response | None:
        stored = super().retrieve_response(spider, request)
        if stored is None:
            return None
        cls = responsetypes.from_args(headers=stored.headers, url=stored.url, body=stored.body)
        return cls(url=stored.url, status=stored.status, headers=stored.headers, body=stored.body)


async def test_a_storage_that_forgets_the_class_still_replays_kwiff_responses(
    simulator: KwiffSimulator, tmp_path: Path
) -> None:
    cache = tmp_path / "httpcache"
    storage = {"HTTPCACHE_STORAGE": HeaderTypedStorage}
    recorded = await crawl_with_cache(cache, simulator.url, [], **storage)
    assert len(recorded.items) == len(FOOTBALL)

    seen: list[Response] = []
    replayed = await crawl_with_cache(cache, unreachable_endpoint(), seen, **storage)
    assert replayed.errors == []
    assert replayed.items == recorded.items
    assert {type(response) for response in seen} == {KwiffResponse}
    assert seen[0].answer.data == {"events": FOOTBALL}

    # The middleware is what makes them KwiffResponse objects again.
    without: list[Response] = []
    await crawl_with_cache(
        cache,
        unreachable_endpoint(),
        without,
        DOWNLOADER_MIDDLEWARES={KwiffResponseMiddleware: None},
        **storage,
    )
    assert [type(response) for response in without] == [JsonResponse]


def test_only_answers_become_kwiff_responses() -> None:
    middleware = KwiffResponseMiddleware()
    request = KwiffRequest("event:get", {"eventId": 1})
    json_headers = {"Content-Type": "application/json"}
    answer = JsonResponse(request.url, body=b'[{"data": {"result": null}}]', headers=json_headers)
    converted = middleware.process_response(request, answer)
    assert type(converted) is KwiffResponse
    assert converted.answer.data == {"result": None}
    assert converted.request is request

    refused = Response(request.url, status=403, body=b"Forbidden")  # a refused handshake
    robots = Response("kwiff://web-api.kwiff.com/robots.txt", status=404)
    other = Request("https://example.com/data.json")
    elsewhere = JsonResponse(other.url, body=b"[]", headers=json_headers)
    assert middleware.process_response(request, refused) is refused
    assert middleware.process_response(request, robots) is robots
    assert middleware.process_response(other, elsewhere) is elsewhere
    downloaded = KwiffResponse.from_ack(request, "[{}]", [{}])
    assert middleware.process_response(request, downloaded) is downloaded
