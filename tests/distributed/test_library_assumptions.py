"""What kwiff_scrapy.distributed assumes of Scrapy's and scrapy-redis's internals
(listed in kwiff_scrapy/distributed/privates.py): each test fails when one breaks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from scrapy import Request, Spider, signals
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.downloadermiddlewares.httpproxy import HttpProxyMiddleware
from scrapy.utils.test import get_crawler

from kwiff_scrapy.distributed.privates import (
    AUTH_PROXY_META_KEY,
    SCHEME_PROXY_META_KEY,
    forget_environment_proxy,
    wake,
)
from kwiff_scrapy.integration.http import KwiffRequest

from ..conftest import BASE_SETTINGS


def test_httpproxy_marks_an_environment_proxy_with_the_meta_keys_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("kwiff_proxy", "http://user:secret@environment:3128")
    middleware = HttpProxyMiddleware.from_crawler(get_crawler(Spider))
    request = KwiffRequest("event:get", {"eventId": 1})
    middleware.process_request(request)
    assert request.meta["proxy"] == "http://environment:3128"
    assert request.meta[SCHEME_PROXY_META_KEY] is True
    assert request.meta[AUTH_PROXY_META_KEY] == "http://environment:3128"
    assert request.headers.get(b"Proxy-Authorization")
    forget_environment_proxy(request)
    assert not {"proxy", SCHEME_PROXY_META_KEY, AUTH_PROXY_META_KEY} & request.meta.keys()
    assert b"Proxy-Authorization" not in request.headers


class IdleSpider(Spider):
    name = "idle"

    async def start(self) -> AsyncIterator[Request]:
        return
        yield


async def test_a_running_engine_has_the_nextcall_that_wakes_it() -> None:
    woken: list[bool] = []
    runner = AsyncCrawlerRunner(BASE_SETTINGS)
    crawler = runner.create_crawler(IdleSpider)

    def opened(spider: Any) -> None:
        woken.append(wake(crawler.engine))

    crawler.signals.connect(opened, signal=signals.spider_opened, weak=False)
    await runner.crawl(crawler)
    assert woken == [True]


def test_wake_says_when_the_engine_has_no_nextcall() -> None:
    class Engine:
        pass

    assert wake(Engine()) is False  # type: ignore[arg-type]
