"""A Scrapy extension for bench/soak_watch.py: one JSON line per finished watch poll.

Enabled by the soak in the watch it starts (``-s EXTENSIONS=...``), with the file in the
setting ``SOAK_POLL_LOG`` and the watch's run number (a restart is a new run) in
``SOAK_RUN``: ``{"run": 1, "poll": 3, "at": <time.time()>, "changes": 12, "failed": false}``.
"""

from __future__ import annotations

import json
import time
from typing import IO, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from kwiff_scrapy.integration.signals import poll_finished


class PollRecorder:
    def __init__(self, path: str, run: int) -> None:
        self.run = run
        self.file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed below)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PollRecorder:
        path = crawler.settings.get("SOAK_POLL_LOG")
        if not path:
            raise NotConfigured("SOAK_POLL_LOG is not set")
        recorder = cls(path, crawler.settings.getint("SOAK_RUN", 1))
        crawler.signals.connect(recorder.poll_finished, signal=poll_finished)
        crawler.signals.connect(recorder.close, signal=signals.spider_closed)
        return recorder

    def poll_finished(self, poll: int, changes: int, failed: bool) -> None:
        line: dict[str, Any] = {
            "run": self.run, "poll": poll, "at": time.time(), "changes": changes, "failed": failed,
        }  # fmt: skip
        self.file.write(json.dumps(line) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()
