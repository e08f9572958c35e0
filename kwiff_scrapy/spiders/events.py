from __future__ import annotations

from typing import Any

from ..model.sports import resolve_sport
from .base import KwiffEventListSpider


class KwiffEventsSpider(KwiffEventListSpider):
    """Events of any sport: ``-a sport=basketball`` or ``-a sport_id=NN`` (default football).

    A sport name must be a known one (see :mod:`kwiff_scrapy.sports`); any positive
    numeric id may be tried. The other arguments are those of every event-list spider.
    """

    name = "kwiff_events"

    def __init__(
        self, *args: Any, sport: str | None = None, sport_id: str | int | None = None, **kwargs: Any
    ) -> None:
        if sport is not None and sport_id is not None:
            raise ValueError("give -a sport=NAME or -a sport_id=NUMBER, not both")
        self.sport_id = resolve_sport(sport_id if sport_id is not None else (sport or "football"))
        super().__init__(*args, **kwargs)
