from __future__ import annotations

from ..model.sports import SPORT_IDS
from .base import KwiffEventListSpider


class KwiffFootballSpider(KwiffEventListSpider):
    """Football events: ``scrapy crawl kwiff_football -O events.json``."""

    name = "kwiff_football"
    sport_id = SPORT_IDS["football"]
