"""Scrapy's ``PeriodicLog`` on one line: a watch logs a block every minute for days."""

from __future__ import annotations

from typing import Any

from scrapy.extensions.periodic_log import PeriodicLog
from scrapy.utils.serialize import ScrapyJSONEncoder


class KwiffPeriodicLog(PeriodicLog):
    """Scrapy's :class:`~scrapy.extensions.periodic_log.PeriodicLog`, whose block is one
    line of JSON (``{"delta": {"item_scraped_count": 947, "kwiff/watch/polls": 30}}``)
    instead of one line per stat: what it logs, and when, is Scrapy's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.encoder = ScrapyJSONEncoder(sort_keys=True)
