"""The fault matrix: whatever the server does, every command request ends in exactly
one response or one error, retryable failures are retried, nothing is exported twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import scrapy

from kwiff_scrapy import KwiffRequest, KwiffResponse
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData

from ..conftest import StartSimulator, crawl
from ..support.command_spider import CommandsSpider, assert_each_exactly_once, error_count
from ..support.waiting import guarded

EVENT_IDS = [event["id"] for event in SimulatedData().events(11, "GB")]
RETRIED = {"RETRY_TIMES": 5, "KWIFF_RECONNECT_DELAY": 0.01, "KWIFF_RECONNECT_MAX_DELAY": 0.05}


async def test_drop_with_commands_in_flight_fails_them_at_once_and_retries(
    start_simulator: StartSimulator,
) -> None:
    # The first connection aborts when its 4th command arrives, with 3 unanswered.
    simulator = await start_simulator(drop_after=4, faulty_connections=1, response_delay=0.3)
    ids = EVENT_IDS[:4]
    settings = {**RETRIED, "KWIFF_ENDPOINT": simulator.url, "DOWNLOAD_TIMEOUT": 30}
    result = await crawl(CommandsSpider, settings, ids=ids)
    assert_each_exactly_once(result.items, ids)
    assert error_count(result, "DownloadFailedError") == 4  # not DownloadTimeoutError
    assert error_count(result, "DownloadTimeoutError") == 0
    assert result.stat("retry/count") == 4
    assert result.stat("kwiff/connections_opened") == 2


class FirstFailureSpider(CommandsSpider):
    """Sets the event *failed* when the first command fails (as Scrapy still counts it)."""

    def __init__(self, failed: asyncio.Event, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failed = failed

    async def start(self) -> AsyncIterator[KwiffRequest]:
        async for request in super().start():
            first = request.payload["seq"] == 0
            yield request.replace(errback=self.first_failed) if first else request

    def first_failed(self, failure: Any) -> None:
        self.failed.set()


async def test_late_ack_after_a_timeout_is_dropped_not_given_to_another_request(
    start_simulator: StartSimulator,
) -> None:
    # The answers are held until the first command has timed out. Its timeout also covers
    # opening the connection: 3 s, so that a loaded machine still sends it before giving up.
    simulator = await start_simulator()
    simulator.hold_answers()
    ids = EVENT_IDS[:2]
    settings = {"KWIFF_ENDPOINT": simulator.url, "RETRY_TIMES": 0, "DOWNLOAD_TIMEOUT": 60}
    timed_out = asyncio.Event()
    crawling = asyncio.create_task(
        crawl(FirstFailureSpider, settings, ids=ids, timeouts={0: 3.0}, failed=timed_out)
    )
    await guarded(timed_out.wait(), "the first command timing out")
    simulator.release_answers()
    result = await guarded(crawling, "the crawl's end")
    assert result.items == [{"seq": 1, "asked": ids[1], "got": ids[1]}]
    assert error_count(result, "DownloadTimeoutError") == 1
    assert result.stat("kwiff/acks_late") == 1
    assert result.stat("kwiff/acks_received") == 1


async def test_no_pongs_replace_the_session_and_waiting_commands_are_retried(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(
        ping_interval_ms=50,
        ping_timeout_ms=150,
        answer_pings=False,
        silent=True,
        faulty_connections=1,
    )
    ids = EVENT_IDS[:3]
    settings = {**RETRIED, "KWIFF_ENDPOINT": simulator.url, "DOWNLOAD_TIMEOUT": 30}
    result = await crawl(CommandsSpider, settings, ids=ids)
    assert_each_exactly_once(result.items, ids)
    assert error_count(result, "DownloadFailedError") == 3
    assert error_count(result, "DownloadTimeoutError") == 0
    assert result.stat("kwiff/connections_opened") == 2


@pytest.mark.parametrize("fault", ["error_packet_after", "close_packet_after"])
async def test_error_and_close_packets_end_the_session_and_commands_are_retried(
    start_simulator: StartSimulator, fault: str
) -> None:
    simulator = await start_simulator(**{fault: 2}, faulty_connections=1)
    ids = EVENT_IDS[:3]
    settings = {**RETRIED, "KWIFF_ENDPOINT": simulator.url, "CONCURRENT_REQUESTS": 1}
    result = await crawl(CommandsSpider, settings, ids=ids)
    assert_each_exactly_once(result.items, ids)
    assert error_count(result, "DownloadFailedError") == 1
    assert result.stat("kwiff/connections_opened") == 2


@pytest.mark.parametrize(
    ("fault", "stat"),
    [
        ("garbage_frame", "kwiff/malformed_frames"),
        ("binary_frame", "kwiff/malformed_frames"),
        ("unknown_ack", "kwiff/acks_unknown"),
        ("duplicate_ack", "kwiff/acks_duplicate"),
    ],
)
async def test_bad_frames_are_counted_and_the_connection_keeps_working(
    start_simulator: StartSimulator, fault: str, stat: str
) -> None:
    simulator = await start_simulator(**{fault: True})
    ids = EVENT_IDS[:6]
    result = await crawl(CommandsSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=ids)
    assert_each_exactly_once(result.items, ids)
    assert result.stat(stat) == len(ids)
    assert result.stat("kwiff/connections_opened") == 1
    assert result.stat("retry/count") == 0


async def test_unknown_packet_types_are_counted_and_skipped(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(unknown_packet=True)
    ids = EVENT_IDS[:4]
    result = await crawl(CommandsSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=ids)
    assert_each_exactly_once(result.items, ids)
    assert result.stat("kwiff/malformed_frames") == 2 * len(ids)  # one EIO, one Socket.IO each


async def test_a_frame_over_download_maxsize_fails_only_its_request(
    simulator: KwiffSimulator,
) -> None:
    class Mixed(scrapy.Spider):
        name = "mixed"

        async def start(self) -> AsyncIterator[KwiffRequest]:
            yield KwiffRequest("event:list", {"listId": "default", "sportId": 11, "country": "GB"})
            for event_id in EVENT_IDS[:3]:
                yield KwiffRequest("event:get", {"eventId": event_id})

        def parse(self, response: KwiffResponse) -> Any:
            yield {"message": response.message}

    # The 1.1 MB event list is over DOWNLOAD_MAXSIZE but within the frame limit
    # (twice DOWNLOAD_MAXSIZE): it fails alone; the small answers on the same
    # connection are unaffected.
    settings = {"KWIFF_ENDPOINT": simulator.url, "DOWNLOAD_MAXSIZE": 1_000_000}
    result = await crawl(Mixed, settings)
    assert sorted(item["message"] for item in result.items) == ["event:get"] * 3
    assert error_count(result, "DownloadCancelledError") == 1
    assert result.stat("kwiff/connections_opened") == 1
    assert result.stat("retry/count") == 0


async def test_a_frame_over_the_frame_limit_ends_the_connection_with_a_clear_error(
    simulator: KwiffSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    class OneList(scrapy.Spider):
        name = "one_list"

        async def start(self) -> AsyncIterator[KwiffRequest]:
            yield KwiffRequest("event:list", {"listId": "default", "sportId": 11, "country": "GB"})

    settings = {"KWIFF_ENDPOINT": simulator.url, "KWIFF_MAX_FRAME_SIZE": 500_000, "RETRY_TIMES": 0}
    result = await crawl(OneList, settings)
    assert error_count(result, "DownloadFailedError") == 1
    assert "KWIFF_MAX_FRAME_SIZE" in caplog.text


async def test_403_is_logged_once_with_the_likely_culprit(
    start_simulator: StartSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    simulator = await start_simulator(refuse_status=403)
    ids = EVENT_IDS[:5]
    result = await crawl(CommandsSpider, {**RETRIED, "KWIFF_ENDPOINT": simulator.url}, ids=ids)
    assert result.items == []
    assert result.stat("kwiff/handshakes_refused/403") == 5
    assert result.stat("retry/count") == 0
    warnings = [
        r.getMessage()
        for r in caplog.records
        if "handshake refused with HTTP 403" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert "Cookie uuid must equal the identifier" in warnings[0]
    assert "User-Agent" in warnings[0]


@pytest.mark.parametrize("status", [429, 503])
async def test_429_and_503_are_retried_with_backoff_and_recover(
    start_simulator: StartSimulator, status: int
) -> None:
    simulator = await start_simulator(refuse_status=status, faulty_connections=2)
    ids = EVENT_IDS[:2]
    settings = {**RETRIED, "KWIFF_ENDPOINT": simulator.url}
    result = await crawl(CommandsSpider, settings, ids=ids)
    assert_each_exactly_once(result.items, ids)
    assert result.stat(f"kwiff/handshakes_refused/{status}") >= 2
    assert result.stat("retry/count") >= 2
    assert result.stat("kwiff/connections_opened") == 1


async def test_commands_in_flight_per_session_are_bounded_and_none_dropped(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(response_delay=0.05)
    ids = EVENT_IDS[:60]
    settings = {
        "KWIFF_ENDPOINT": simulator.url,
        "KWIFF_MAX_IN_FLIGHT": 5,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
    }
    result = await crawl(CommandsSpider, settings, ids=ids)
    assert_each_exactly_once(result.items, ids)
    assert simulator.max_in_flight_seen == 5


async def test_the_identifier_never_appears_in_logs_at_info_or_above(
    simulator: KwiffSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    identifier = "6f0c1e7e-4a53-4c43-9a51-3f7f6f1d2b11"
    caplog.set_level("DEBUG")
    settings = {
        "KWIFF_ENDPOINT": simulator.url,
        "KWIFF_IDENTIFIER": identifier,
        "LOG_LEVEL": "DEBUG",
    }
    result = await crawl(CommandsSpider, settings, ids=EVENT_IDS[:2])
    assert len(result.items) == 2
    loud = [r.getMessage() for r in caplog.records if r.levelno >= 20]
    assert loud, "the crawl logged nothing at INFO: the check would be empty"
    assert not [line for line in loud if identifier in line]
