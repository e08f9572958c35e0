"""A base spider for event lists: a spider for another sport is a name and a sport id."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import scrapy

from ..http import KwiffRequest
from ..parsing import outcome_rows, parse_events

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from ..http import KwiffResponse
    from ..items import KwiffEvent, OutcomeRow

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def truthy(value: Any) -> bool:
    """Spider arguments arrive as strings: ``-a flat=1`` / ``true`` / ``yes`` / ``on``."""
    return value is True or str(value).strip().lower() in TRUE_WORDS


def country_code(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError(
            f"country must be an ISO 3166 alpha-2 code such as GB or IE, not {value!r}"
        )
    return code


class KwiffEventListSpider(scrapy.Spider):
    """Sends ``event:list`` for :attr:`sport_id` and yields one item per event.

    Arguments: ``-a country=XX`` (default: the ``KWIFF_COUNTRY`` setting) and
    ``-a flat=1`` for one flat :class:`~kwiff_scrapy.items.OutcomeRow` per outcome
    instead of nested events (what a CSV feed wants).
    """

    sport_id: int
    list_id: str = "default"

    def __init__(
        self, *args: Any, country: str | None = None, flat: Any = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(getattr(self, "sport_id", None), int):
            raise TypeError(f"{type(self).__name__} must set the integer class attribute sport_id")
        self.country = country_code(country) if country else None
        self.flat = truthy(flat)

    async def start(self) -> AsyncIterator[KwiffRequest]:
        yield self.event_list_request()

    def event_list_request(self) -> KwiffRequest:
        country = self.country or country_code(self.settings.get("KWIFF_COUNTRY") or "GB")
        payload = {"listId": self.list_id, "sportId": self.sport_id, "country": country}
        return KwiffRequest("event:list", payload, callback=self.parse_event_list)

    def parse_event_list(self, response: KwiffResponse) -> Iterator[KwiffEvent | OutcomeRow]:
        answer = response.answer
        if answer.error is not None:
            self.logger.warning("event:list answered with an error: %.300r", answer.error)
            self.count("answer_errors")
        skips: Counter[str] = Counter()
        events = parse_events(answer.data, fetched_at=answer.fetched_at, skips=skips)
        for reason, count in skips.items():
            self.count(f"parse/skipped/{reason}", count)
        if skips:
            self.logger.info("Skipped while parsing event:list: %s", dict(skips))
        self.count("events_parsed", len(events))
        for event in events:
            if self.flat:
                yield from outcome_rows(event)
            else:
                yield event

    def count(self, key: str, value: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"kwiff/{key}", value)
