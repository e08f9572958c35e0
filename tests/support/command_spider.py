"""The test spider shared by the crawl tests: one ``event:get`` per id, each answer
checked against the id it asked for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy

from kwiff_scrapy import KwiffRequest, KwiffResponse


class CommandsSpider(scrapy.Spider):
    """One ``event:get`` per id (with a sequence number, so repeats are distinct)."""

    name = "commands"

    def __init__(
        self,
        ids: list[int],
        timeouts: dict[int, float] | None = None,
        meta: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ids = ids
        self.timeouts = timeouts or {}
        self.meta = meta or {}

    async def start(self) -> AsyncIterator[KwiffRequest]:
        for seq, event_id in enumerate(self.ids):
            meta = dict(self.meta)
            if seq in self.timeouts:
                meta["download_timeout"] = self.timeouts[seq]
            yield KwiffRequest("event:get", {"eventId": event_id, "seq": seq}, meta=meta)

    def parse(self, response: KwiffResponse) -> Any:
        payload = response.request.payload
        yield {
            "seq": payload["seq"],
            "asked": payload["eventId"],
            "got": response.data["result"]["id"],
        }


def assert_each_exactly_once(items: list[dict[str, Any]], ids: list[int]) -> None:
    assert sorted(item["seq"] for item in items) == list(range(len(ids)))
    assert all(item["asked"] == item["got"] for item in items)  # nobody got another's answer


def error_count(result: Any, name: str) -> int:
    return result.stat(f"downloader/exception_type_count/scrapy.exceptions.{name}")
