from __future__ import annotations

from ..model.sports import SPORT_IDS
from .base import KwiffEventListSpider


class KwiffBasketballSpider(KwiffEventListSpider):
    """Basketball events: ``scrapy crawl kwiff_basketball -O events.json``."""

    name = "kwiff_basketball"
    sport_id = SPORT_IDS["basketball"]
