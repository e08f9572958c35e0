"""The floor of the crawl benchmarks: a download handler on the bare ``websockets`` client.

:class:`BareKwiffHandler` sends each request's command through one
:class:`~bench._common.BareClient` (the hand-written client the session benchmarks
compare with: ``websockets``, its default deflate, no codec, no pool, no timeouts, no
stats, no error handling) and answers with the ack's bytes, decoded by the callback
as the instant handler's are. What a crawl through it costs over the instant crawl is
what any client on ``websockets`` pays for the network and the server: the floor
under :class:`~kwiff_scrapy.integration.handler.KwiffDownloadHandler`.

Loaded by dotted path (``bench._bare_handler.BareKwiffHandler``) from ``bench_handler``,
with the simulator's URL in ``KWIFF_ENDPOINT``.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.base import BaseDownloadHandler

from kwiff_scrapy.integration.http import KwiffResponse, message_of

from ._common import BareClient

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response


class BareKwiffHandler(BaseDownloadHandler):
    """Sends every ``kwiff://`` command on one bare client; the ack's bytes are the body."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._url: str = crawler.settings["KWIFF_ENDPOINT"]
        self._client: BareClient | None = None
        self._opening: asyncio.Future[BareClient] | None = None

    async def _open(self) -> BareClient:
        if self._opening is None:  # the first request opens it; the others wait for it
            self._opening = asyncio.ensure_future(BareClient.open(self._url, decode=False))
        client = await asyncio.shield(self._opening)
        if self._client is None:
            client.start_reader()
            self._client = client
        return client

    async def download_request(self, request: Request) -> Response:
        client = self._client or await self._open()
        ack = await client.round_trip_concurrent(message_of(request.url), json.loads(request.body))
        return KwiffResponse(
            url=request.url,
            status=200,
            headers={"Content-Type": "application/json"},
            body=ack.encode(),
            encoding="utf-8",
            request=request,
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
