"""The baseline of the crawl benchmarks, and a probe that times a crawl from inside.

:class:`InstantKwiffHandler` is a ``kwiff`` download handler that answers every
request at once with the same ack bytes (read from ``BENCH_ACK_FILE``): a response
made from bytes alone, as a replay from Scrapy's HTTP cache is, decoded by the
callback (``response.json()``). A crawl through it is the same crawl with the
network, the server and the session taken away: Scrapy's own ceiling.

:class:`CrawlProbe` (an extension) writes, at ``engine_stopped``, the seconds from
``engine_started`` and the process's peak RSS (``VmHWM``) to ``BENCH_PROBE_FILE``,
and with ``BENCH_ACK_RECORD`` the body of the first response to that path, so that
an instant crawl can be fed exactly the bytes a real one received.

Both are loaded by dotted path (``bench._instant....``) from crawls run by
``bench_handler`` (in process) and ``bench_crawl`` (``scrapy crawl`` subprocesses).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.core.downloader.handlers.base import BaseDownloadHandler

from kwiff_scrapy.integration.http import KwiffResponse

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response


class InstantKwiffHandler(BaseDownloadHandler):
    """Answers every ``kwiff://`` request at once with the bytes of ``BENCH_ACK_FILE``."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._body = Path(crawler.settings["BENCH_ACK_FILE"]).read_bytes()

    async def download_request(self, request: Request) -> Response:
        return KwiffResponse(
            url=request.url,
            status=200,
            headers={"Content-Type": "application/json"},
            body=self._body,
            encoding="utf-8",
            request=request,
        )


def peak_rss_bytes() -> int:
    """This process's peak resident set size (Linux ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


class CrawlProbe:
    """Times the crawl (engine started to stopped) and reads peak RSS; records one body."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self._probe_file = settings.get("BENCH_PROBE_FILE")
        self._ack_record = settings.get("BENCH_ACK_RECORD")
        self._started = 0.0
        crawler.signals.connect(self._engine_started, signal=signals.engine_started)
        crawler.signals.connect(self._engine_stopped, signal=signals.engine_stopped)
        if self._ack_record:
            crawler.signals.connect(self._response_received, signal=signals.response_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _engine_started(self) -> None:
        self._started = time.perf_counter()

    def _response_received(self, response: Response, **kwargs: Any) -> None:
        if self._ack_record:
            Path(self._ack_record).write_bytes(response.body)
            self._ack_record = None

    def _engine_stopped(self) -> None:
        figures = {"seconds": time.perf_counter() - self._started, "peak_rss": peak_rss_bytes()}
        if self._probe_file:
            Path(self._probe_file).write_text(json.dumps(figures))
