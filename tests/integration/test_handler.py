"""The download handler inside real (in-process, reactorless) Scrapy crawls."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import scrapy
from scrapy.exceptions import DownloadTimeoutError
from scrapy.utils.test import get_crawler

from kwiff_scrapy import KwiffRequest, KwiffResponse
from kwiff_scrapy.integration.handler import KwiffDownloadHandler
from kwiff_scrapy.integration.signals import unsolicited_event
from kwiff_scrapy.model.items import KwiffEvent
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData
from kwiff_scrapy.spiders.football import KwiffFootballSpider

from ..conftest import BASE_SETTINGS, StartSimulator, crawl
from ..support import waiting
from ..support.command_spider import CommandsSpider

DATA = SimulatedData()
EVENT_IDS = [event["id"] for event in DATA.events(11, "GB")]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_football_spider_yields_every_event(simulator: KwiffSimulator) -> None:
    result = await crawl(KwiffFootballSpider, {"KWIFF_ENDPOINT": simulator.url})
    assert result.errors == []
    assert all(isinstance(item, KwiffEvent) for item in result.items)
    assert [item.event_id for item in result.items] == EVENT_IDS
    assert result.stat("kwiff/connections_opened") == 1
    assert result.stat("kwiff/commands_sent") == result.stat("kwiff/acks_received") == 1
    assert result.stat("kwiff/bytes_received") > 1_048_576
    assert result.stat("kwiff/unsolicited_events") == 1
    assert result.stat("kwiff/events_parsed") == 111
    assert result.stat("downloader/response_status_count/200") == 1
    response = result.responses[0]
    assert str(response.ip_address) == "127.0.0.1"
    assert response.request.meta["download_latency"] > 0


async def test_simulator_endpoint_starts_one_in_process() -> None:
    settings = {"KWIFF_ENDPOINT": "simulator", "KWIFF_SIMULATOR_OPTIONS": {"speed": None}}
    result = await crawl(KwiffFootballSpider, settings, country="IE")  # the data at rest
    assert [item.event_id for item in result.items] == [e["id"] for e in DATA.events(11, "IE")]


async def test_many_requests_share_one_connection_per_slot(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(response_delay=0.1)
    ids = EVENT_IDS[:40]
    settings = {
        "KWIFF_ENDPOINT": simulator.url,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
    }
    result = await crawl(CommandsSpider, settings, ids=ids)
    assert sorted(item["got"] for item in result.items) == sorted(ids)
    assert result.stat("kwiff/connections_opened") == 1
    assert simulator.connections == 1

    pooled = await crawl(CommandsSpider, {**settings, "KWIFF_CONNECTIONS_PER_ENDPOINT": 3}, ids=ids)
    assert sorted(item["got"] for item in pooled.items) == sorted(ids)
    assert pooled.stat("kwiff/connections_opened") == 3


async def test_silent_server_times_out_and_is_retried(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(silent=True)
    settings = {"KWIFF_ENDPOINT": simulator.url, "DOWNLOAD_TIMEOUT": 0.5, "RETRY_TIMES": 1}
    result = await crawl(CommandsSpider, settings, ids=[EVENT_IDS[0]])
    assert result.items == []
    assert (
        result.stat("downloader/exception_type_count/scrapy.exceptions.DownloadTimeoutError") == 2
    )
    assert result.stat("retry/count") == 1
    assert result.stat("retry/max_reached") == 1


async def test_per_request_download_timeout_meta_is_honoured(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(response_delay=1.0)
    settings = {"KWIFF_ENDPOINT": simulator.url, "DOWNLOAD_TIMEOUT": 30, "RETRY_TIMES": 0}
    result = await crawl(
        CommandsSpider, settings, ids=[EVENT_IDS[0]], meta={"download_timeout": 0.2}
    )
    assert result.items == []
    assert (
        result.stat("downloader/exception_type_count/scrapy.exceptions.DownloadTimeoutError") == 1
    )


async def test_refused_handshake_403_is_a_response_not_retried(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(refuse_status=403)
    result = await crawl(CommandsSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=[EVENT_IDS[0]])
    assert result.items == []
    assert result.stat("downloader/response_status_count/403") == 1
    assert result.stat("httperror/response_ignored_status_count/403") == 1
    assert result.stat("kwiff/handshakes_refused/403") == 1
    assert result.stat("retry/count") == 0


async def test_refused_handshake_503_is_retried(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(refuse_status=503)
    result = await crawl(
        CommandsSpider, {"KWIFF_ENDPOINT": simulator.url, "RETRY_TIMES": 2}, ids=[EVENT_IDS[0]]
    )
    assert result.stat("kwiff/handshakes_refused/503") == 3
    assert result.stat("retry/count") == 2
    assert result.stat("retry/max_reached") == 1
    assert simulator.handshakes_refused == 3


async def test_drop_mid_flight_is_retried_on_a_new_connection_and_nothing_is_lost(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(drop_after=4, response_delay=0.05)
    ids = EVENT_IDS[:12]
    settings = {"KWIFF_ENDPOINT": simulator.url, "RETRY_TIMES": 10, "CONCURRENT_REQUESTS": 2}
    result = await crawl(CommandsSpider, settings, ids=ids)
    assert sorted(item["got"] for item in result.items) == sorted(ids)  # each exactly once
    assert result.stat("kwiff/connections_opened") >= 3
    assert result.stat("downloader/exception_type_count/scrapy.exceptions.DownloadFailedError") >= 1
    assert result.stat("retry/count") >= 1


async def test_connection_refused_is_a_retryable_scrapy_error() -> None:
    settings = {"KWIFF_ENDPOINT": f"ws://127.0.0.1:{closed_port()}/socket.io/", "RETRY_TIMES": 1}
    result = await crawl(CommandsSpider, settings, ids=[1])
    key = "downloader/exception_type_count/scrapy.exceptions.DownloadConnectionRefusedError"
    assert result.stat(key) == 2
    assert result.stat("retry/count") == 1


async def test_garbage_frames_are_counted_and_the_crawl_goes_on(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(garbage_frame=True)
    result = await crawl(CommandsSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=EVENT_IDS[:5])
    assert len(result.items) == 5
    assert result.stat("kwiff/malformed_frames") == 5


async def test_download_maxsize_meta_fails_only_that_request(simulator: KwiffSimulator) -> None:
    class TwoCommands(scrapy.Spider):
        name = "two"

        async def start(self) -> AsyncIterator[KwiffRequest]:
            yield KwiffRequest(
                "event:list",
                {"listId": "default", "sportId": 11, "country": "GB"},
                meta={"download_maxsize": 10_000},
            )
            yield KwiffRequest("event:get", {"eventId": EVENT_IDS[0]})

        def parse(self, response: KwiffResponse) -> Any:
            yield {"message": response.message}

    result = await crawl(TwoCommands, {"KWIFF_ENDPOINT": simulator.url})
    assert result.items == [{"message": "event:get"}]
    assert (
        result.stat("downloader/exception_type_count/scrapy.exceptions.DownloadCancelledError") == 1
    )


async def test_unsolicited_events_reach_a_scrapy_signal(simulator: KwiffSimulator) -> None:
    received: list[str] = []

    class Listening(CommandsSpider):
        @classmethod
        def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> Any:
            spider = super().from_crawler(crawler, *args, **kwargs)
            crawler.signals.connect(
                lambda name, **_: received.append(name), signal=unsolicited_event, weak=False
            )
            return spider

    await crawl(Listening, {"KWIFF_ENDPOINT": simulator.url}, ids=[EVENT_IDS[0]])
    assert received == ["response"]


async def test_robots_txt_is_never_fetched_through_the_kwiff_scheme(
    simulator: KwiffSimulator,
) -> None:
    class PlainRequests(scrapy.Spider):
        name = "plain"

        async def start(self) -> AsyncIterator[scrapy.Request]:
            yield KwiffRequest("event:get", {"eventId": EVENT_IDS[0]})
            # A plain Request does not carry dont_obey_robotstxt: the robots.txt lookup
            # must not turn into a command.
            yield scrapy.Request("kwiff://web-api.kwiff.com/event:get", body=b'{"eventId": 1}')

        def parse(self, response: KwiffResponse) -> Any:
            yield {"url": response.url}

    result = await crawl(PlainRequests, {"KWIFF_ENDPOINT": simulator.url, "ROBOTSTXT_OBEY": True})
    assert len(result.items) == 2
    assert result.stat("kwiff/commands_sent") == 2  # no "robots.txt" command was sent
    # The plain request's robots.txt lookup is answered 404 by the handler itself.
    assert result.stat("robotstxt/request_count") == 1
    assert result.stat("robotstxt/response_status_count/404") == 1


async def test_requests_survive_a_jobdir_disk_queue(
    simulator: KwiffSimulator, tmp_path: Any
) -> None:
    ids = EVENT_IDS[:5]
    settings = {"KWIFF_ENDPOINT": simulator.url, "JOBDIR": str(tmp_path / "job")}
    result = await crawl(CommandsSpider, settings, ids=ids)
    assert sorted(item["got"] for item in result.items) == sorted(ids)
    assert result.stat("scheduler/enqueued/disk") == len(ids)


async def test_download_warnsize_logs_a_warning(
    simulator: KwiffSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    settings = {"KWIFF_ENDPOINT": simulator.url, "DOWNLOAD_WARNSIZE": 100_000}
    result = await crawl(KwiffFootballSpider, settings)
    assert len(result.items) == 111
    assert "larger than download warn size (100000)" in caplog.text


# -- the handler alone: timeouts ---------------------------------------------------


def handler_for(url: str, **settings: Any) -> KwiffDownloadHandler:
    crawler = get_crawler(settings_dict={**BASE_SETTINGS, "KWIFF_ENDPOINT": url, **settings})
    crawler._apply_settings()
    return KwiffDownloadHandler(crawler)


def timed_request(event_id: int, timeout: float | None) -> KwiffRequest:
    meta = {} if timeout is None else {"download_timeout": timeout}
    return KwiffRequest("event:get", {"eventId": event_id}, meta=meta)


async def test_each_request_ends_by_its_own_timeout_one_timer_per_timeout_value(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(response_delay=0.4)
    handler = handler_for(simulator.url, DOWNLOAD_TIMEOUT=5)
    timeouts = [0.1, 0.15, None, 0.1, 2, 0.15, None]
    try:
        results = await asyncio.gather(
            *(handler.download_request(timed_request(EVENT_IDS[0], t)) for t in timeouts),
            return_exceptions=True,
        )
    finally:
        await handler.close()
    for timeout, result in zip(timeouts, results, strict=True):
        if timeout is not None and timeout < 0.4:
            assert isinstance(result, DownloadTimeoutError)
            assert str(result) == (
                f"Kwiff command 'event:get' got no answer from {simulator.url} within "
                f"{timeout:g} s (DOWNLOAD_TIMEOUT or the download_timeout meta key)"
            )
        else:
            assert isinstance(result, KwiffResponse)
            assert result.data["result"]["id"] == EVENT_IDS[0]
    assert sorted(handler._timeouts) == [0.1, 0.15, 2, 5]


async def test_requests_one_after_another_keep_one_timer_per_timeout_value(
    simulator: KwiffSimulator,
) -> None:
    # A watch polls for hours: its handler must not make a new timer for every request.
    handler = handler_for(simulator.url, DOWNLOAD_TIMEOUT=5)
    try:
        await handler.download_request(timed_request(EVENT_IDS[0], None))
        shared = handler._timeouts[5]
        for _ in range(3):
            await handler.download_request(timed_request(EVENT_IDS[0], None))
        assert handler._timeouts == {5: shared}
    finally:
        await handler.close()


async def test_a_request_cancelled_from_outside_stays_cancelled(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(silent=True)
    # Cancelled once the command is sent: long before its (generous) deadline.
    handler = handler_for(simulator.url, DOWNLOAD_TIMEOUT=2)
    try:
        task = asyncio.create_task(handler.download_request(timed_request(EVENT_IDS[0], None)))
        await waiting.guarded(
            simulator.wait_until(lambda: simulator.commands_received == 1), "the command sent"
        )
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Its deadline passing later changes nothing; the next request times out alone.
        with pytest.raises(DownloadTimeoutError):
            await handler.download_request(timed_request(EVENT_IDS[0], None))
    finally:
        await handler.close()


@pytest.mark.parametrize("seconds", [0, -1.0])
async def test_a_timeout_of_zero_or_less_times_out_at_once_as_before(
    simulator: KwiffSimulator, seconds: float
) -> None:
    handler = handler_for(simulator.url)
    try:
        with pytest.raises(DownloadTimeoutError, match=f"within {seconds:g} s"):
            await handler.download_request(timed_request(EVENT_IDS[0], seconds))
    finally:
        await handler.close()
    assert handler._timeouts == {}
