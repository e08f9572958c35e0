"""A downloader middleware that gives every answer to a command its ``KwiffResponse`` class.

The download handler returns :class:`~kwiff_scrapy.integration.http.KwiffResponse`
objects. An answer that reaches the spider by another way may not be one: Scrapy's
HTTP cache rebuilds a stored response from its ``Content-Type`` header (a plain
``JsonResponse``) unless the storage kept the response class. Scrapy 2.19's own
storages keep it (``Response.to_dict()``); custom storages, and storages written for
earlier Scrapy versions, often do not. This middleware turns such an answer back
into a ``KwiffResponse`` (same URL, status, headers, body and flags), so that a
callback can use ``response.answer`` whether the answer was downloaded or replayed.

The add-on enables it next to the downloader, so that every other middleware and
the spider see the ``KwiffResponse``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.http import Response

from .http import SCHEME, KwiffResponse

if TYPE_CHECKING:
    from scrapy import Request

#: Order in ``DOWNLOADER_MIDDLEWARES``: after (nearer the downloader than) Scrapy's
#: ``HttpCacheMiddleware`` (900), before every other built-in middleware.
ORDER = 950

_ANSWER_STATUS = 200


class KwiffResponseMiddleware:
    """Turns an answer to a ``kwiff://`` command into a :class:`KwiffResponse`.

    Only responses that can be answers are changed: status 200 with a JSON body, as the
    handler makes them. Other responses to ``kwiff://`` URLs (a refused handshake with
    its HTTP status, the handler's robots.txt 404) keep their class, as they do when
    they come from the handler.
    """

    def process_response(self, request: Request, response: Response) -> Response:
        if isinstance(response, KwiffResponse) or not _is_answer(request, response):
            return response
        return response.replace(cls=KwiffResponse, request=request, encoding="utf-8")


def _is_answer(request: Request, response: Response) -> bool:
    if not request.url.startswith(f"{SCHEME}://") or response.status != _ANSWER_STATUS:
        return False
    content_type = response.headers.get(b"Content-Type") or b""
    return b"json" in content_type.lower()
