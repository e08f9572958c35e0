"""Command requests and their responses, as Scrapy ``Request``/``Response`` subclasses.

A command request's URL names the service host and the message
(``kwiff://web-api.kwiff.com/event:list``), so Scrapy's per-domain concurrency,
AutoThrottle and stats group commands by service; its body is the payload as
canonical JSON, so fingerprints, the dupe filter and the HTTP cache tell payloads
apart. The download handler reads only the URL and the body, so a plain
``scrapy.Request`` to a ``kwiff://`` URL works too.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any, Self
from urllib.parse import quote, unquote, urlsplit

from scrapy import Request
from scrapy.http import JsonResponse

from .. import defaults
from ..model.answer import Answer, parse_answer
from ..protocol.jsondecode import fast_loads as _fast_loads
from .scrapy_internals import NOT_DECODED, cache_decoded_json, decoded_json

SCHEME = "kwiff"

_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def command_url(message: str, host: str = defaults.COMMAND_HOST) -> str:
    return f"{SCHEME}://{host}/{quote(message, safe=':/')}"


def canonical_payload(payload: Mapping[str, Any] | None) -> bytes:
    """The payload as canonical JSON: sorted keys, no spaces, UTF-8."""
    return _canonical(dict(payload or {})).encode("utf-8")


def message_of(url: str) -> str:
    """The command message named by a ``kwiff://host/<message>`` URL."""
    return unquote(urlsplit(url).path.lstrip("/"))


def payload_of(body: bytes) -> Any:
    """The command payload carried by a request body (empty body: ``{}``)."""
    return json.loads(body) if body.strip() else {}


class KwiffRequest(Request):
    """A Kwiff command: ``KwiffRequest("event:list", {"listId": "default", ...})``.

    Takes every ``scrapy.Request`` keyword argument except ``url`` and ``body``,
    which it derives from ``message``, ``payload`` and ``host``. Command requests do
    not consult robots.txt (``dont_obey_robotstxt`` is set unless given).
    """

    __slots__ = ("_host", "_message")

    attributes: tuple[str, ...] = (
        *(name for name in Request.attributes if name not in ("url", "body")),
        "message",
        "payload",
        "host",
    )

    def __init__(
        self,
        message: str,
        payload: Mapping[str, Any] | None = None,
        *,
        host: str = defaults.COMMAND_HOST,
        **kwargs: Any,
    ) -> None:
        for derived in ("url", "body"):
            if derived in kwargs:
                raise TypeError(
                    f"KwiffRequest derives {derived!r} from message, payload and host; "
                    f"pass those instead"
                )
        if not message:
            raise ValueError("a Kwiff command needs a message, e.g. 'event:list'")
        meta = dict(kwargs.pop("meta", None) or {})
        meta.setdefault("dont_obey_robotstxt", True)
        self._message = message
        self._host = host
        super().__init__(
            command_url(message, host),
            body=canonical_payload(payload),
            meta=meta,
            **kwargs,
        )

    @property
    def message(self) -> str:
        return self._message

    @property
    def payload(self) -> dict[str, Any]:
        """A copy of the payload (it is part of the request's identity)."""
        return json.loads(self.body)

    @property
    def host(self) -> str:
        return self._host

    def __repr__(self) -> str:
        return f"<{self.message} {self.body.decode('utf-8', 'replace'):.120}>"


class KwiffResponse(JsonResponse):
    """The ack of a command. The body is the ACK's JSON array exactly as received.

    ``answer`` is its first element, parsed: ``answer.data`` (also ``data``),
    ``answer.error``, ``answer.timestamp_ms`` and ``answer.fetched_at``.
    """

    __slots__ = ("_answer",)
    _answer: Answer

    @classmethod
    def from_ack(
        cls, request: Request, raw_args: str | bytes, args: list[Any] | None, **kwargs: Any
    ) -> Self:
        """The response to *request* whose body is the ACK's JSON array *raw_args*.

        *raw_args* is the JSON text, or already its UTF-8 bytes (``AckReceived.body``:
        the answer is then not copied again); *args* is the same array decoded, or None
        if it is not decoded yet (a large answer: decoded when first asked for, perhaps
        straight into items by :meth:`parse`).
        """
        if isinstance(raw_args, str):
            raw_args = raw_args.encode("utf-8", "surrogatepass")
        response = cls(
            url=request.url,
            status=200,
            headers={"Content-Type": "application/json"},
            body=raw_args,
            encoding="utf-8",
            request=request,
            **kwargs,
        )
        if args is not None:
            cache_decoded_json(response, args)  # already parsed by the codec
        return response

    @property
    def decoded(self) -> bool:
        """Whether the body is decoded already (then :meth:`json` costs nothing more).

        The handler decodes small answers as they arrive and leaves large ones
        (``LAZY_DECODE_BYTES``) to whoever reads them: a parser with a way of its own
        from the bytes (:func:`~kwiff_scrapy.model.parsing.parse_event_list_ack`) or
        :meth:`json`.
        """
        return decoded_json(self) is not NOT_DECODED

    def json(self) -> Any:
        """The body decoded, as ``TextResponse.json()`` decodes it, but with msgspec if installed.

        A response the handler made carries the codec's decoding already; one made from
        bytes alone (a replay from the HTTP cache) is decoded here, the fast way when the
        body is plain UTF-8 JSON, else by Scrapy's own ``json()``.
        """
        if _fast_loads is not None and decoded_json(self) is NOT_DECODED:
            with contextlib.suppress(Exception):  # refused: Scrapy's json() decides
                cache_decoded_json(self, _fast_loads(self.body))
        return super().json()

    @property
    def answer(self) -> Answer:
        try:
            return self._answer
        except AttributeError:
            self._answer = parse_answer(self.json())
            return self._answer

    @property
    def data(self) -> Any:
        """The answer's ``data`` object (``None`` if the answer has none)."""
        return self.answer.data

    @property
    def message(self) -> str:
        return message_of(self.url)

    @property
    def payload(self) -> Any:
        """The payload of the command this answers (``{}`` if the request is unknown)."""
        return payload_of(self.request.body) if self.request is not None else {}

    def follow_command(
        self, message: str, payload: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> KwiffRequest:
        """A command request to the same service, as ``response.follow`` is for links."""
        kwargs.setdefault("host", urlsplit(self.url).hostname or defaults.COMMAND_HOST)
        return KwiffRequest(message, payload, **kwargs)
