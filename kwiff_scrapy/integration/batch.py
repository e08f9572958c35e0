"""A group of commands as ONE Scrapy request: :class:`KwiffBatchRequest` and its response.

Scrapy's own cost per request (scheduler, engine, middlewares, the callback's
machinery) is paid whatever the request holds; for a small command it is larger than
the command itself. A batch request names one message and several payloads: the
download handler sends them concurrently on the shared session, each bounded by the
download timeout on its own, and answers with one :class:`KwiffBatchResponse` whose
:attr:`~KwiffBatchResponse.answers` hold each command's ack, or why it has none.

The contract, as for one command:

- the request ends in exactly one response or one error: the error when no command
  got an answer and one of them failed for a reason Scrapy retries (every command
  timed out, the connection could not be opened or was lost), so that
  ``RetryMiddleware`` retries the whole batch; a refused handshake is a response with
  its status, as for any command;
- otherwise the response carries every command's outcome: an ack (an error answer,
  or a malformed one, is an ack like any other: the callback reads it) or a failure
  (:attr:`BatchAnswer.failure`: a timeout, a lost connection, an answer larger than
  ``DOWNLOAD_MAXSIZE``, which applies to each answer), which the callback handles for
  that command alone (:func:`retry_failed` gives the request of those to try again).

Each command is counted by the session as ever (``kwiff/commands_sent``...), and the
handler counts ``kwiff/batch/requests``, ``kwiff/batch/commands`` and
``kwiff/batch/commands_failed``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Response

from .. import defaults
from .http import canonical_payload, command_url

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scrapy import Spider


class KwiffBatchRequest(Request):
    """Commands of one message, one per payload: ``KwiffBatchRequest("event:get",
    [{"eventId": 1}, {"eventId": 2}])``.

    Its URL is the message's, as a :class:`~kwiff_scrapy.integration.http.KwiffRequest`
    of it (per-domain concurrency and AutoThrottle see one request per batch); its body
    is the payloads as a canonical JSON array. Takes every ``scrapy.Request`` keyword
    argument except ``url`` and ``body``.
    """

    __slots__ = ("_host", "_message")

    attributes: tuple[str, ...] = (
        *(name for name in Request.attributes if name not in ("url", "body")),
        "message",
        "payloads",
        "host",
    )

    def __init__(
        self,
        message: str,
        payloads: Sequence[Mapping[str, Any]],
        *,
        host: str = defaults.COMMAND_HOST,
        **kwargs: Any,
    ) -> None:
        for derived in ("url", "body"):
            if derived in kwargs:
                raise TypeError(
                    f"KwiffBatchRequest derives {derived!r} from message, payloads and host; "
                    f"pass those instead"
                )
        if not message:
            raise ValueError("a Kwiff command needs a message, e.g. 'event:get'")
        if not payloads:
            raise ValueError("a batch of Kwiff commands needs at least one payload")
        meta = dict(kwargs.pop("meta", None) or {})
        meta.setdefault("dont_obey_robotstxt", True)
        self._message = message
        self._host = host
        body = b"[" + b",".join(canonical_payload(payload) for payload in payloads) + b"]"
        super().__init__(command_url(message, host), body=body, meta=meta, **kwargs)

    @property
    def message(self) -> str:
        return self._message

    @property
    def payloads(self) -> list[dict[str, Any]]:
        """A copy of the payloads (they are part of the request's identity)."""
        payloads: list[dict[str, Any]] = json.loads(self.body)
        return payloads

    @property
    def host(self) -> str:
        return self._host

    def __repr__(self) -> str:
        commands = self.body.count(b"},{") + 1
        return f"<{self.message} x{commands} {self.body.decode('utf-8', 'replace'):.100}>"


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """One command of a batch: its payload, and its ack's JSON array (``body``, and
    ``args`` if already decoded) or the ``failure`` that left it without one."""

    payload: dict[str, Any]
    body: bytes | None = None
    args: list[Any] | None = None
    failure: Exception | None = None


class KwiffBatchResponse(Response):
    """The answers to a :class:`KwiffBatchRequest`, in the order of its payloads.

    The body is a JSON array with each command's ack array (``null`` for a command
    that failed), for whoever reads bodies; a callback reads :attr:`answers`.
    """

    __slots__ = ("answers",)

    attributes: tuple[str, ...] = (*Response.attributes, "answers")

    def __init__(self, *args: Any, answers: list[BatchAnswer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers = answers

    @classmethod
    def of(cls, request: Request, answers: list[BatchAnswer], **kwargs: Any) -> KwiffBatchResponse:
        body = b"[" + b",".join(answer.body or b"null" for answer in answers) + b"]"
        return cls(
            url=request.url,
            status=200,
            headers={"Content-Type": "application/json"},
            body=body,
            request=request,
            answers=answers,
            **kwargs,
        )

    @property
    def failed(self) -> list[BatchAnswer]:
        return [answer for answer in self.answers if answer.failure is not None]


#: Failures a command is not tried again for: its answer came, too large
#: (``DOWNLOAD_MAXSIZE``), as ``RetryMiddleware`` does not retry it either.
NOT_RETRIED = (DownloadCancelledError,)


def retry_failed(
    response: KwiffBatchResponse, failed: list[BatchAnswer], spider: Spider
) -> KwiffBatchRequest | None:
    """The request of the *failed* commands to try again, or None if they are not retried
    (an answer too large, :data:`NOT_RETRIED`, is not).

    Retried as ``RetryMiddleware`` retries a request: ``RETRY_ENABLED``,
    ``RETRY_TIMES`` (or the ``max_retry_times`` meta key), ``dont_retry`` and the
    ``retry/*`` stats; the retry counts of the batch carry over. None (given up,
    logged by Scrapy) when they are used up.
    """
    request = response.request
    failed = [answer for answer in failed if not isinstance(answer.failure, NOT_RETRIED)]
    if not failed or not isinstance(request, KwiffBatchRequest) or request.meta.get("dont_retry"):
        return None
    if spider.crawler is not None and not spider.crawler.settings.getbool("RETRY_ENABLED"):
        return None
    again = request.replace(payloads=[answer.payload for answer in failed])
    retried = get_retry_request(again, spider=spider, reason=failed[0].failure or "unspecified")
    return retried if isinstance(retried, KwiffBatchRequest) else None
