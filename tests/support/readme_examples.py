"""The spiders the docs pages show, exactly as they show them (each page's imports are here
at the top). tests/spiders/test_readme_example.py crawls them against the simulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy

from kwiff_scrapy import KwiffRequest, KwiffResponse
from kwiff_scrapy.model.items import KwiffEvent
from kwiff_scrapy.model.parsing import parse_event_detail
from kwiff_scrapy.spiders.base import KwiffEventListSpider

# --- docs/existing-project.md "Adding it to an existing Scrapy project" -----------


class MySpider(scrapy.Spider):
    name = "my_kwiff"

    async def start(self) -> AsyncIterator[KwiffRequest]:
        yield KwiffRequest("event:list", {"listId": "default", "sportId": 11, "country": "GB"})

    def parse(self, response: KwiffResponse) -> Iterator[KwiffRequest]:
        for event in response.data["events"]:
            yield response.follow_command(
                "event:get", {"eventId": event["id"]}, callback=self.parse_event
            )

    def parse_event(self, response: KwiffResponse) -> Iterator[KwiffEvent]:
        answer = response.answer  # .data, .error, .timestamp_ms, .fetched_at
        event = parse_event_detail(answer.data, fetched_at=answer.fetched_at)
        if event is not None:
            yield event


# --- docs/another-sport.md "Write a spider for another sport" ---------------------


class KwiffTennisSpider(KwiffEventListSpider):
    name = "kwiff_tennis"
    sport_id = 17  # a guess: Kwiff's id for tennis is not known


class KwiffIrishBasketballSpider(KwiffEventListSpider):
    name = "kwiff_basketball_ie"
    sport_id = 36
    custom_settings = {"KWIFF_COUNTRY": "IE"}


# --- docs/any-command.md "Send any other command" ---------------------------------


class KwiffCommandSpider(scrapy.Spider):
    """scrapy crawl kwiff_command -a message=event:get -a payload='{"eventId": 10744160}'"""

    name = "kwiff_command"

    def __init__(self, message: str, payload: str = "{}", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message
        self.payload = json.loads(payload)

    async def start(self) -> AsyncIterator[KwiffRequest]:
        yield KwiffRequest(self.message, self.payload)

    def parse(self, response: KwiffResponse) -> Iterator[dict[str, Any]]:
        answer = response.answer
        yield {
            "message": response.message,
            "data": answer.data,  # None if the service answered with an error
            "error": answer.error,
            "fetched_at": answer.fetched_at,
        }
