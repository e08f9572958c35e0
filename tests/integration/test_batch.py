"""Commands in one request (``KwiffBatchRequest``) through real reactorless crawls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import scrapy
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError
from scrapy.utils.test import get_crawler

from kwiff_scrapy.integration.batch import (
    BatchAnswer,
    KwiffBatchRequest,
    KwiffBatchResponse,
    retry_failed,
)
from kwiff_scrapy.model.answer import parse_answer
from kwiff_scrapy.protocol.jsondecode import loads
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData

from ..conftest import StartSimulator, crawl

EVENT_IDS = [event["id"] for event in SimulatedData().events(11, "GB")][:4]


class BatchSpider(scrapy.Spider):
    """One request of an ``event:get`` per id; an item per command: its id, and the id
    its answer holds (None if it failed)."""

    name = "batch"

    def __init__(self, ids: list[int], meta: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ids = ids
        self.meta = meta or {}
        self.failures: list[Any] = []

    async def start(self) -> AsyncIterator[KwiffBatchRequest]:
        payloads = [{"eventId": event_id} for event_id in self.ids]
        yield KwiffBatchRequest("event:get", payloads, meta=self.meta, errback=self.failed)

    def parse(self, response: KwiffBatchResponse) -> Any:
        for answer in response.answers:
            got = None
            if answer.body is not None:
                got = parse_answer(loads(answer.body)).data["result"]["id"]
            yield {"asked": answer.payload["eventId"], "got": got, "failure": answer.failure}

    def failed(self, failure: Any) -> None:
        self.failures.append(failure.value)


async def test_a_batch_is_one_request_and_each_command_gets_its_own_answer(
    simulator: KwiffSimulator,
) -> None:
    result = await crawl(BatchSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=EVENT_IDS)
    assert [(item["asked"], item["got"]) for item in result.items] == [
        (event_id, event_id) for event_id in EVENT_IDS
    ]
    assert result.stat("downloader/request_count") == 1
    assert result.stat("kwiff/commands_sent") == result.stat("kwiff/acks_received") == 4
    assert result.stat("kwiff/batch/requests") == 1
    assert result.stat("kwiff/batch/commands") == 4
    assert result.stat("kwiff/batch/commands_failed") == 0
    response = result.responses[0]
    assert isinstance(response, KwiffBatchResponse)
    assert [answer[0]["data"]["result"]["id"] for answer in loads(response.body)] == EVENT_IDS
    assert response.request.meta["download_latency"] > 0
    # Left undecoded for the reader, whatever their size (the watch parses the bytes).
    assert [answer.args for answer in response.answers] == [None] * 4


async def test_a_batch_no_command_of_which_is_answered_is_one_error_retried_whole(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(silent=True)
    settings = {"KWIFF_ENDPOINT": simulator.url, "DOWNLOAD_TIMEOUT": 0.3, "RETRY_TIMES": 1}
    result = await crawl(BatchSpider, settings, ids=EVENT_IDS)
    assert result.items == []
    assert result.stat("retry/count") == 1
    assert result.stat("kwiff/batch/requests") == 2
    assert result.stat("kwiff/batch/commands_failed") == 8
    timeouts = "downloader/exception_type_count/scrapy.exceptions.DownloadTimeoutError"
    assert result.stat(timeouts) == 2


async def test_download_maxsize_applies_to_each_answer(simulator: KwiffSimulator) -> None:
    probe = await crawl(BatchSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=EVENT_IDS)
    sizes = {answer.payload["eventId"]: len(answer.body) for answer in probe.responses[0].answers}
    small, large = min(sizes, key=sizes.__getitem__), max(sizes, key=sizes.__getitem__)
    assert sizes[small] < sizes[large]
    result = await crawl(
        BatchSpider,
        {"KWIFF_ENDPOINT": simulator.url},
        ids=[small, large],
        meta={"download_maxsize": (sizes[small] + sizes[large]) // 2},
    )
    got = [(item["asked"], item["got"]) for item in result.items]
    assert got == [(small, small), (large, None)]
    assert isinstance(result.items[1]["failure"], DownloadCancelledError)
    assert result.stat("kwiff/batch/commands_failed") == 1


# -- retrying the commands that failed -----------------------------------------------------


def answered_batch(settings: dict[str, Any] | None = None, **meta: Any) -> tuple[Any, Any]:
    crawler = get_crawler(scrapy.Spider, settings or {})
    spider = scrapy.Spider.from_crawler(crawler, name="s")
    request = KwiffBatchRequest("event:get", [{"eventId": 1}, {"eventId": 2}], meta=meta)
    answers = [
        BatchAnswer({"eventId": 1}, b"[{}]", [{}]),
        BatchAnswer({"eventId": 2}, failure=DownloadTimeoutError("no answer")),
    ]
    return KwiffBatchResponse.of(request, answers), spider


def test_the_commands_without_an_answer_are_retried_as_one_request_counted() -> None:
    response, spider = answered_batch()
    retry = retry_failed(response, response.failed, spider)
    assert isinstance(retry, KwiffBatchRequest)
    assert retry.payloads == [{"eventId": 2}]
    assert retry.meta["retry_times"] == 1
    assert spider.crawler.stats.get_value("retry/count") == 1
    again = KwiffBatchResponse.of(retry, [BatchAnswer({"eventId": 2}, failure=TimeoutError())])
    assert retry_failed(again, again.failed, spider) is not None  # RETRY_TIMES is 2
    spent = again.replace(request=retry.replace(meta={**retry.meta, "retry_times": 2}))
    assert retry_failed(spent, spent.failed, spider) is None
    assert spider.crawler.stats.get_value("retry/max_reached") == 1


@pytest.mark.parametrize(
    ("settings", "meta"), [({"RETRY_ENABLED": False}, {}), ({}, {"dont_retry": True})]
)
def test_no_retry_when_retries_are_off(settings: dict[str, Any], meta: dict[str, Any]) -> None:
    response, spider = answered_batch(settings, **meta)
    assert retry_failed(response, response.failed, spider) is None


def test_an_answer_too_large_is_not_retried() -> None:
    response, spider = answered_batch()
    too_large = BatchAnswer({"eventId": 2}, failure=DownloadCancelledError("too large"))
    assert retry_failed(response, [too_large], spider) is None


def test_a_batch_request_keeps_its_payloads_through_replace_and_refuses_nonsense() -> None:
    request = KwiffBatchRequest("event:get", [{"eventId": 1}, {"eventId": 2}])
    copy = request.replace(priority=3)
    assert (copy.message, copy.payloads, copy.priority) == ("event:get", request.payloads, 3)
    assert copy.meta["dont_obey_robotstxt"] is True
    assert repr(request).startswith("<event:get x2 ")
    with pytest.raises(ValueError, match="at least one payload"):
        KwiffBatchRequest("event:get", [])
    with pytest.raises(TypeError, match="derives 'body'"):
        KwiffBatchRequest("event:get", [{}], body=b"[]")
