"""The spiders' callbacks on one answer: the way to events, and what is counted.

The event-list spiders and the watch read an ``event:list`` the one way
(:func:`kwiff_scrapy.model.event_list.read_event_list`): a large answer not decoded
yet stays undecoded. Error and malformed answers are counted as before the way was
shared (``kwiff/answer_errors``, ``kwiff/parse/skipped/<reason>``). The watch is a
recording stand-in (any object with the ``Watch`` protocol's methods).
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import pytest
from scrapy.utils.test import get_crawler

from kwiff_scrapy import KwiffRequest, KwiffResponse
from kwiff_scrapy.model.changes import EventSnapshot
from kwiff_scrapy.simulator import SimulatedData
from kwiff_scrapy.spiders.football import KwiffFootballSpider
from kwiff_scrapy.spiders.watch import KwiffWatchSpider

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy import Request

    from kwiff_scrapy.model.changes import Change

TIMESTAMP = 1768921926610
FETCHED = "2026-01-20T15:12:06.610Z"
LIST_PAYLOAD = {"listId": "default", "sportId": 11, "country": "GB"}


def simulated_list() -> dict[str, Any]:
    answer = SimulatedData().answer("event:list", {"listId": "default", "sportId": 11})
    answer = copy.deepcopy(answer)  # the simulator shares its data between answers
    answer["timestamp"] = TIMESTAMP
    return answer


def undecoded(message: str, payload: dict[str, Any], answer: Any) -> KwiffResponse:
    """The response to a command whose answer arrived large, so not decoded yet."""
    request = KwiffRequest(message, payload)
    response = KwiffResponse.from_ack(request, json.dumps([answer]), None)
    assert not response.decoded
    return response


class RecordingWatch:
    """What the spider hands its watch."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def run(self) -> AsyncIterator[Request]:
        return
        yield

    async def answered_list(
        self,
        request: Request | None,
        listed: dict[int, EventSnapshot],
        complete: bool,
        seen_at: str | None,
    ) -> list[Change]:
        self.calls.append(("list", len(listed), complete, seen_at))
        return []

    async def answered_event(
        self,
        request: Request | None,
        event_id: int,
        snapshot: EventSnapshot | None,
        seen_at: str | None,
    ) -> list[Change]:
        self.calls.append(("event", event_id, snapshot is not None, seen_at))
        return []

    async def failed(self, request: Request | None) -> None:
        self.calls.append(("failed",))

    def settled(self, request: Request | None) -> None:
        self.calls.append(("settled",))


@pytest.fixture
def watch_spider() -> KwiffWatchSpider:
    crawler = get_crawler(KwiffWatchSpider)
    crawler.stats.open_spider()  # type: ignore[union-attr]
    spider = KwiffWatchSpider.from_crawler(crawler)
    spider._watch = RecordingWatch()
    return spider


async def collected(changes: AsyncIterator[Change]) -> list[Change]:
    """What a watch callback (an async generator) yields."""
    return [change async for change in changes]


def calls(spider: KwiffWatchSpider) -> list[tuple[Any, ...]]:
    watch = spider.watch()
    assert isinstance(watch, RecordingWatch)
    return watch.calls


def kwiff_stats(spider: KwiffWatchSpider | KwiffFootballSpider) -> dict[str, Any]:
    values = spider.crawler.stats.get_stats()  # type: ignore[union-attr]
    return {key: value for key, value in values.items() if key.startswith("kwiff/")}


# -- the event-list spiders -----------------------------------------------------------------


def test_the_event_list_spider_reads_a_large_answer_from_its_bytes() -> None:
    crawler = get_crawler(KwiffFootballSpider)
    crawler.stats.open_spider()  # type: ignore[union-attr]
    spider = KwiffFootballSpider.from_crawler(crawler)
    answer = simulated_list()
    response = undecoded("event:list", LIST_PAYLOAD, answer)
    items = list(spider.parse_event_list(response))
    assert len(items) == len(answer["data"]["events"]) > 0
    assert not response.decoded
    assert {item.fetched_at for item in items} == {FETCHED}
    assert kwiff_stats(spider) == {"kwiff/events_parsed": len(items)}


def test_the_event_list_spider_counts_an_error_answer_and_its_missing_list() -> None:
    crawler = get_crawler(KwiffFootballSpider)
    crawler.stats.open_spider()  # type: ignore[union-attr]
    spider = KwiffFootballSpider.from_crawler(crawler)
    response = undecoded("event:list", LIST_PAYLOAD, {"error": {"message": "nope"}})
    assert list(spider.parse_event_list(response)) == []
    assert kwiff_stats(spider) == {
        "kwiff/answer_errors": 1,
        "kwiff/parse/skipped/events_missing": 1,
        "kwiff/events_parsed": 0,
    }


# -- the watch: event:list -----------------------------------------------------------------


async def test_the_watch_compares_a_large_list_without_decoding_it(
    watch_spider: KwiffWatchSpider,
) -> None:
    answer = simulated_list()
    response = undecoded("event:list", LIST_PAYLOAD, answer)
    assert await collected(watch_spider.parse_poll_list(response)) == []
    assert calls(watch_spider) == [
        ("list", len(answer["data"]["events"]), True, FETCHED),
        ("settled",),
    ]
    assert not response.decoded
    assert kwiff_stats(watch_spider) == {}


async def test_the_watch_fails_a_poll_answered_with_an_error(
    watch_spider: KwiffWatchSpider,
) -> None:
    response = undecoded("event:list", LIST_PAYLOAD, {"error": {"message": "nope"}})
    assert await collected(watch_spider.parse_poll_list(response)) == []
    assert calls(watch_spider) == [("failed",), ("settled",)]
    assert kwiff_stats(watch_spider) == {
        "kwiff/answer_errors": 1,
        "kwiff/parse/skipped/events_missing": 1,
    }


async def test_the_watch_fails_a_poll_answered_without_an_events_list(
    watch_spider: KwiffWatchSpider, caplog: pytest.LogCaptureFixture
) -> None:
    response = undecoded("event:list", LIST_PAYLOAD, {"timestamp": TIMESTAMP, "data": {}})
    assert await collected(watch_spider.parse_poll_list(response)) == []
    assert calls(watch_spider) == [("failed",), ("settled",)]
    assert kwiff_stats(watch_spider) == {}
    assert "event:list answered without an events list: not compared" in caplog.text


async def test_the_watch_reports_nothing_removed_from_a_list_with_an_unreadable_entry(
    watch_spider: KwiffWatchSpider,
) -> None:
    answer = simulated_list()
    answer["data"]["events"].append("not an event")
    response = undecoded("event:list", LIST_PAYLOAD, answer)
    assert await collected(watch_spider.parse_poll_list(response)) == []
    assert calls(watch_spider) == [
        ("list", len(answer["data"]["events"]) - 1, False, FETCHED),
        ("settled",),
    ]
    assert kwiff_stats(watch_spider) == {"kwiff/parse/skipped/event_not_object": 1}


# -- the watch: event:get ------------------------------------------------------------------


def event_answer(result: Any) -> dict[str, Any]:
    return {"timestamp": TIMESTAMP, "data": {"result": result}}


async def test_the_watch_compares_an_event(watch_spider: KwiffWatchSpider) -> None:
    event = simulated_list()["data"]["events"][0]
    response = undecoded("event:get", {"eventId": event["id"]}, event_answer(event))
    assert await collected(watch_spider.parse_poll_event(response)) == []
    assert calls(watch_spider) == [("event", event["id"], True, FETCHED), ("settled",)]
    assert kwiff_stats(watch_spider) == {}


async def test_the_watch_takes_a_null_result_as_a_gone_event(
    watch_spider: KwiffWatchSpider,
) -> None:
    response = undecoded("event:get", {"eventId": 7}, event_answer(None))
    assert await collected(watch_spider.parse_poll_event(response)) == []
    assert calls(watch_spider) == [("event", 7, False, FETCHED), ("settled",)]
    assert kwiff_stats(watch_spider) == {}


async def test_the_watch_fails_an_event_poll_answered_with_an_error(
    watch_spider: KwiffWatchSpider,
) -> None:
    answer = {"timestamp": TIMESTAMP, "error": {"message": "nope"}}
    response = undecoded("event:get", {"eventId": 7}, answer)
    assert await collected(watch_spider.parse_poll_event(response)) == []
    assert calls(watch_spider) == [("failed",), ("settled",)]
    assert kwiff_stats(watch_spider) == {
        "kwiff/answer_errors": 1,
        "kwiff/parse/skipped/result_missing": 1,
    }


async def test_the_watch_fails_an_event_poll_answered_with_another_event(
    watch_spider: KwiffWatchSpider, caplog: pytest.LogCaptureFixture
) -> None:
    event = simulated_list()["data"]["events"][0]
    response = undecoded("event:get", {"eventId": event["id"] + 1}, event_answer(event))
    assert await collected(watch_spider.parse_poll_event(response)) == []
    assert calls(watch_spider) == [("failed",), ("settled",)]
    assert "answered no usable event: not compared" in caplog.text
