from __future__ import annotations

from typing import Any

from ..model.sports import sport_argument
from .base import KwiffEventListSpider


class KwiffEventsSpider(KwiffEventListSpider):
    """Events of any sport: ``-a sport=basketball`` or ``-a sport_id=NN`` (default football).

    A sport name must be a known one (see :mod:`kwiff_scrapy.model.sports`); any positive
    numeric id may be tried. The other arguments are those of every event-list spider.
    """

    name = "kwiff_events"

    def __init__(
        self, *args: Any, sport: str | None = None, sport_id: str | int | None = None, **kwargs: Any
    ) -> None:
        self.sport_id = sport_argument(sport, sport_id)
        super().__init__(*args, **kwargs)
