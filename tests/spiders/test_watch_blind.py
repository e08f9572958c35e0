"""A blind watch says so, once, and once again when it sees again: the transitions and
their texts (pure), then a local watch whose simulator is stopped and started again,
and three workers of a shared watch that say it once between them."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.exceptions import DownloadConnectionRefusedError, DownloadTimeoutError
from scrapy.http import Request, Response
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError

from kwiff_scrapy.integration import stats
from kwiff_scrapy.integration.signals import poll_finished, watch_notice
from kwiff_scrapy.simulator import KwiffSimulator
from kwiff_scrapy.spiders.watch.blind import (
    Blindness,
    blind_after,
    failure_reason,
    notice_text,
    watch_title,
)

from ..conftest import BASE_SETTINGS, StartSimulator
from ..distributed.test_distributed_crawl import EVENTS, QuickWatchSpider, Workers
from ..support import waiting
from ..support.redis_workers import redis_prefix, redis_server
from ..support.watching import watch
from ..support.webhook_server import WebhookServer

__all__ = ["redis_prefix", "redis_server"]  # fixtures used here

BLIND = re.compile(
    r"kwiff_watch football GB has seen nothing since \d\d:\d\d UTC: connection refused "
    r"\((?P<polls>\d+) polls\)"
)
SEEING = re.compile(
    r"kwiff_watch football GB sees again at \d\d:\d\d UTC, after (?P<polls>\d+) failed polls "
    r"\(nothing seen since \d\d:\d\d UTC\)"
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- pure ------------------------------------------------------------------------------------


def test_blind_after_n_failed_polls_in_a_row_once_and_seeing_again_once() -> None:
    blindness = Blindness(3, at("2026-12-07T12:00"))
    assert blindness.poll(False, at("2026-12-07T12:03")) is None
    blindness.note("handshake refused with HTTP 403")
    assert blindness.poll(True, at("2026-12-07T12:04")) is None
    assert blindness.poll(False, at("2026-12-07T12:05")) is None  # not in a row
    assert [blindness.poll(True, at(f"2026-12-07T12:0{n}")) for n in (6, 7)] == [None, None]
    went = blindness.poll(True, at("2026-12-07T12:08"))
    assert went is not None
    assert notice_text(watch_title("kwiff_watch", 11, "GB"), went) == (
        "kwiff_watch football GB has seen nothing since 12:05 UTC: handshake refused with "
        "HTTP 403 (3 polls)"
    )
    assert blindness.poll(True, at("2026-12-07T12:09")) is None  # said once, not per poll
    back = blindness.poll(False, at("2026-12-07T12:10"))
    assert back is not None
    assert notice_text(watch_title("kwiff_watch", 11, "GB"), back) == (
        "kwiff_watch football GB sees again at 12:10 UTC, after 4 failed polls (nothing seen "
        "since 12:05 UTC)"
    )
    assert blindness.poll(False, at("2026-12-07T12:11")) is None


def test_a_day_ago_is_written_with_its_date_and_zero_never_says_anything() -> None:
    blindness = Blindness(1, at("2026-12-06T23:50"))
    went = blindness.poll(True, at("2026-12-07T00:10"))
    assert went is not None
    assert "since 2026-12-06 23:50 UTC: unknown (1 polls)" in notice_text("w", went)
    never = Blindness(0, at("2026-12-07T00:00"))
    assert all(never.poll(True, at("2026-12-07T00:01")) is None for _ in range(10))


def test_failure_reasons_in_a_few_words() -> None:
    request = Request("kwiff://web-api.kwiff.com/event:list")
    refused = Response(request.url, status=403, request=request, flags=["kwiff_handshake_refused"])
    assert failure_reason(HttpError(refused, "x")) == "handshake refused with HTTP 403"
    assert failure_reason(HttpError(refused.replace(flags=[]), "x")) == "HTTP 403"
    assert failure_reason(DownloadConnectionRefusedError("at ws://…")) == "connection refused"
    assert failure_reason(DownloadTimeoutError("x")) == "no answer in time"
    assert failure_reason(KeyError("x")) == "KeyError"


@pytest.mark.parametrize("value", ["three", -1, 1.5, True])
def test_a_bad_blind_after_is_named(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^KWIFF_WATCH_BLIND_AFTER must be a whole number"):
        blind_after(Settings({"KWIFF_WATCH_BLIND_AFTER": value}))
    assert blind_after(Settings()) == 3
    assert blind_after(Settings({"KWIFF_WATCH_BLIND_AFTER": "0"})) == 0


# -- a local watch, end to end ---------------------------------------------------------------


def restartable(simulator: KwiffSimulator) -> KwiffSimulator:
    """*simulator*, started again on the same port after a ``close()``."""
    simulator.config = dataclasses.replace(simulator.config, port=simulator.port)
    return simulator


FAST_RECONNECT = {
    "RETRY_TIMES": 0,
    "KWIFF_RECONNECT_DELAY": 0.01,
    "KWIFF_RECONNECT_MAX_DELAY": 0.05,
    "KWIFF_ALERT_RETRY_DELAY": 0.01,
}


async def test_a_local_watch_says_once_it_is_blind_and_once_it_sees_again(
    start_simulator: StartSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    simulator = restartable(await start_simulator(moving=True))
    async with WebhookServer() as server:
        settings = {
            **BASE_SETTINGS,
            **FAST_RECONNECT,
            "KWIFF_ENDPOINT": simulator.url,
            "KWIFF_ALERT_ROUTES": [{"name": "ops", "changes": "all", "webhook": server.url}],
        }
        runner = AsyncCrawlerRunner(settings)
        crawler = runner.create_crawler(QuickWatchSpider)
        polls: list[bool] = []
        notices: list[str] = []
        changed = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []

        def finished(poll: int, changes: int, failed: bool) -> None:
            polls.append(failed)
            changed.set()
            if len(polls) == 2:  # two polls that saw: the service goes away
                tasks.append(asyncio.ensure_future(simulator.close()))
            elif sum(polls) == 5 and polls[-1]:  # five failed: it comes back
                tasks.append(asyncio.ensure_future(simulator.start()))

        def noticed(text: str, blind: bool) -> None:
            notices.append(text)

        crawler.signals.connect(finished, signal=poll_finished)
        crawler.signals.connect(noticed, signal=watch_notice)
        crawling = asyncio.ensure_future(runner.crawl(crawler, interval=0.2))
        await waiting.until(
            lambda: len(notices) == 2 and polls[-2:] == [False, False], changed=changed
        )
        assert crawler.engine is not None
        await crawler.engine.close_spider_async(reason="done")
        await crawling
        await asyncio.gather(*tasks)
    assert crawler.stats is not None
    got = crawler.stats.get_stats()
    # Polls 1-2 saw (a third may still have, while the simulator closed), then failed
    # until it was back: the notice at the third failed poll, and at the next that saw.
    first_failure = polls.index(True)
    assert first_failure >= 2
    assert not any(polls[:first_failure])
    failed_in_a_row = polls[first_failure:].index(False)
    assert failed_in_a_row >= 5
    went_blind = BLIND.fullmatch(notices[0])
    assert went_blind is not None
    assert went_blind["polls"] == "3"
    seeing = SEEING.fullmatch(notices[1])
    assert seeing is not None
    assert int(seeing["polls"]) == failed_in_a_row
    texts = [request.json()["text"] for request in server.received]
    assert [text for text in texts if text.startswith("kwiff_watch")] == notices
    assert got.get(stats.WATCH_BLIND) == 1
    assert got.get(stats.WATCH_SEES_AGAIN) == 1
    assert got.get(stats.ALERTS_NOTICES_SENT) == 2
    assert got.get(stats.alert_route("ops", stats.ALERTS_NOTICES_SENT)) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [m for m in warnings if BLIND.fullmatch(m) or SEEING.fullmatch(m)] == notices


# -- a shared watch: once between its workers ------------------------------------------------


async def test_three_workers_of_a_shared_watch_say_it_once(
    start_simulator: StartSimulator,
    redis_prefix: str,
    redis_server: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kwiff_scrapy")
    simulator = restartable(await start_simulator(football_events=EVENTS, moving=True))
    async with WebhookServer() as server:
        settings = {
            **FAST_RECONNECT,
            "KWIFF_ENDPOINT": simulator.url,
            "CONCURRENT_REQUESTS": 1,
            "KWIFF_WATCH_BLIND_AFTER": 2,
            "KWIFF_ALERT_ROUTES": [{"name": "ops", "changes": "all", "webhook": server.url}],
        }
        workers = Workers(redis_prefix, settings)
        for _ in range(3):
            workers.start(QuickWatchSpider, interval="0.2")

        def blind(worker: Any) -> bool:
            spider = worker.crawler.spider if hasattr(worker.crawler, "spider") else None
            return spider is not None and spider._blindness is not None and spider._blindness.blind

        await workers.until(lambda: workers.total(stats.WATCH_POLLS) >= 3)
        await simulator.close()
        await workers.until(lambda: sum(blind(worker) for worker in workers.workers) >= 2)
        went_blind = [worker for worker in workers.workers if blind(worker)]
        claim = f"{redis_prefix}:kwiff_watch:watch:11:GB:list:blind"
        await waiting.until(lambda: redis_server.exists(claim) == 1)
        assert 0 < redis_server.ttl(claim) <= 7 * 24 * 3600  # SET NX with an expiry
        await simulator.start()
        await workers.until(lambda: not any(blind(worker) for worker in went_blind))
        await workers.stop()
        assert redis_server.exists(claim) == 0  # deleted by the first that saw again
    assert workers.total(stats.WATCH_BLIND) == 1
    assert workers.total(stats.WATCH_SEES_AGAIN) == 1
    texts = [request.json()["text"] for request in server.received]
    texts = [text for text in texts if text.startswith("kwiff_watch")]
    assert len(texts) == 2
    assert re.fullmatch(BLIND.pattern.replace("connection refused", ".+"), texts[0])
    assert re.fullmatch(SEEING.pattern, texts[1])
    others = [r.getMessage() for r in caplog.records if "another worker said so" in r.getMessage()]
    assert len(others) >= 2  # a second worker went blind, and saw again, silently


async def test_a_refused_handshake_is_said_in_the_issues_words(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(refuse_status=403)
    async with WebhookServer() as server:
        settings = {
            **FAST_RECONNECT,
            "KWIFF_WATCH_BLIND_AFTER": 2,
            "KWIFF_ALERT_WEBHOOK": server.url,
            "KWIFF_ALERT_FORMAT": "json",
        }
        run = await watch(simulator, polls=4, settings=settings)
    assert [failed for _, _, failed in run.polls] == [True] * 4
    (notice,) = (request.json() for request in server.received)
    assert re.fullmatch(
        r"kwiff_watch football GB has seen nothing since \d\d:\d\d UTC: handshake refused "
        r"with HTTP 403 \(2 polls\)",
        notice["text"],
    )
    assert notice["notice"] is True
    assert notice["changes"] == []
    assert run.stat(stats.WATCH_BLIND) == 1  # once, not per poll
    assert run.stat(stats.ALERTS_NOTICES_SENT) == 1
