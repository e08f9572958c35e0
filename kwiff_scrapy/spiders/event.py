from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..integration.http import KwiffRequest
from .base import KwiffEventItemsSpider

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

# ASCII digits only: str.isdigit() would also accept "²".
_EVENT_ID = re.compile(r"[0-9]{1,16}")
IDS_EXAMPLE = "-a ids=10748848,10748851"


def event_ids(value: str | Iterable[int | str] | None, argument: str = "ids") -> list[int]:
    """Parse ``-a ids=1, 2,3`` into distinct positive ids, in the order given.

    *argument* is the spider argument's name, for the error messages.
    """
    example = IDS_EXAMPLE.replace("ids=", f"{argument}=")
    pieces = value.split(",") if isinstance(value, str) else list(value or [])
    texts = [text for text in (str(piece).strip() for piece in pieces) if text]
    if not texts:
        raise ValueError(f"give the ids of the events to fetch: {example}")
    invalid = [text for text in texts if not _EVENT_ID.fullmatch(text) or int(text) == 0]
    if invalid:
        raise ValueError(
            f"{argument} must be positive numeric event ids separated by commas ({example}), "
            f"not {', '.join(map(repr, invalid))}"
        )
    return list(dict.fromkeys(int(text) for text in texts))


class KwiffEventSpider(KwiffEventItemsSpider):
    """Full events by id: ``scrapy crawl kwiff_event -a ids=10748848,10748851 -O events.json``.

    Yields one event per id found (``-a flat=1``: flat rows); an id the service does
    not know is logged and counted as ``kwiff/events_not_found``.
    """

    name = "kwiff_event"

    def __init__(
        self, *args: Any, ids: str | Iterable[int | str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.event_ids = event_ids(ids)

    async def start(self) -> AsyncIterator[KwiffRequest]:
        for event_id in self.event_ids:
            yield KwiffRequest("event:get", {"eventId": event_id}, callback=self.parse_event_get)
