"""An asyncio client for Kwiff, without Scrapy's crawl machinery.

A thin layer over the same pieces the download handler uses: one pooled
:class:`~kwiff_scrapy.session.KwiffSession` (a :class:`~kwiff_scrapy.pool.SessionPool`
of one slot, reconnecting with :class:`~kwiff_scrapy.pool.Backoff`), the
:class:`~kwiff_scrapy.resolver.EndpointResolver` (so ``endpoint="simulator"`` works)
and the tolerant parsers of :mod:`kwiff_scrapy.parsing`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Self

from .config import tls_context
from .endpoint import (
    DEFAULT_ENDPOINT,
    DEFAULT_USER_AGENT,
    DEFAULT_WEBAPP_VERSION,
    SIMULATOR_ENDPOINT,
    connect_url,
)
from .errors import CommandError
from .parsing import Answer, parse_answer, parse_event_detail, parse_events, parse_price_groups
from .pool import Backoff, SessionPool
from .proxy import choose_proxy
from .resolver import EndpointResolver
from .session import KwiffSession, SessionOptions
from .sports import country_code, resolve_sport

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from types import TracebackType

    from .items import KwiffEvent, PricedGroup

logger = logging.getLogger(__name__)

#: ``source`` of a bet-builder group in ``ticket:odds:get``, as the web app sends it.
BET_BUILDER_SOURCE = 2
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_FRAME_SIZE = 2**30


class KwiffClient:
    """Send Kwiff commands from asyncio code over one kept-alive connection.

    ::

        async with KwiffClient() as client:          # or KwiffClient("simulator")
            events = await client.get_events(sport="football", country="GB")

    ``endpoint`` takes the values of the ``KWIFF_ENDPOINT`` setting: a ``ws://`` or
    ``wss://`` Socket.IO URL, or ``"simulator"`` to start the built-in simulator
    in-process (configured by ``simulator_options``, fields of
    :class:`~kwiff_scrapy.simulator.SimulatorConfig`). ``identifier=None`` draws a
    fresh UUID4 per connection. ``timeout`` (seconds) bounds every call, connecting
    included; for a shorter bound on one call, wrap it in ``asyncio.timeout``.
    ``max_frame_size`` is the largest WebSocket frame accepted in bytes (``None``: no
    limit). ``proxy`` is an HTTP or SOCKS proxy URL; without one, the usual proxy
    environment variables apply as in the Scrapy handler (``ws_proxy``/``wss_proxy``,
    ``socks_proxy``, ``https_proxy``, ``no_proxy``...) unless ``trust_env=False``; the
    built-in simulator is never proxied. ``verify_tls=False`` turns off
    certificate checks (for debugging only). ``backoff`` sets the delay before
    reconnecting after failed connects (default: 0.5 s doubling up to 30 s, jittered).

    Entering the ``async with`` block connects; without it, the first call does.
    If the connection drops, the call waiting on it fails and the next call
    reconnects. Errors (all :class:`~kwiff_scrapy.errors.KwiffError` but the last):

    - :class:`~kwiff_scrapy.errors.HandshakeRefused`: the server refused the WebSocket
      upgrade; ``.status`` is the HTTP status (403: browser headers wanted, 429: too
      many connections, 503: unavailable).
    - :class:`~kwiff_scrapy.errors.ConnectFailed`: no connection (DNS, refused, TLS,
      no Socket.IO opening sequence); ``__cause__`` holds the underlying error.
    - :class:`~kwiff_scrapy.errors.ConnectionLost`: the connection ended before the
      answer (the next call reconnects).
    - :class:`CommandError` (the convenience methods only): the service answered with
      an error, or without the data asked for.
    - the builtin :class:`TimeoutError`: no answer within the timeout, naming the command.

    After :meth:`close` (or the end of the ``async with`` block) every call raises
    :class:`RuntimeError`.
    """

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        identifier: str | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        webapp_version: str = DEFAULT_WEBAPP_VERSION,
        timeout: float = DEFAULT_TIMEOUT,
        max_frame_size: int | None = DEFAULT_MAX_FRAME_SIZE,
        proxy: str | None = None,
        trust_env: bool = True,
        verify_tls: bool = True,
        simulator_options: Mapping[str, Any] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if endpoint != SIMULATOR_ENDPOINT:
            connect_url(endpoint, "check")  # ValueError for anything but ws:// or wss://
        self.timeout = _positive_timeout(timeout)
        self.endpoint = endpoint
        self._options = SessionOptions(
            endpoint=endpoint,
            identifier=identifier,
            user_agent=user_agent,
            webapp_version=webapp_version,
            max_frame_size=max_frame_size,
            open_timeout=self.timeout,
            proxy=None,  # chosen per connection by _open_session
            ssl_context=tls_context(verify_tls, endpoint, switch="verify_tls"),
        )
        self._proxy = proxy
        self._trust_env = trust_env
        self._resolver = EndpointResolver(simulator_options)
        self._pool = SessionPool(self._open_session, size=1, backoff=backoff or Backoff())
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection now rather than on the first call (no-op if open)."""
        self._check_open()
        try:
            async with asyncio.timeout(self.timeout):
                await self._pool.acquire()
        except TimeoutError as exc:
            raise TimeoutError(
                f"could not connect to Kwiff at {self.endpoint} within {self.timeout:g} s"
            ) from exc

    async def close(self) -> None:
        """Close the connection (and the simulator, if it started one). Safe to repeat."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._pool.close()
        finally:
            await self._resolver.close()

    @property
    def closed(self) -> bool:
        return self._closed

    async def __aenter__(self) -> Self:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- commands ------------------------------------------------------------------

    async def send_command(self, message: str, payload: Mapping[str, Any] | None = None) -> Answer:
        """Send any command and return its answer (``data``, ``error``, ``timestamp_ms``...).

        An answer carrying an ``error`` is returned as is, not raised.
        """
        self._check_open()
        try:
            async with asyncio.timeout(self.timeout):
                session = await self._pool.acquire()
                ack = await session.command(message, dict(payload or {}))
        except TimeoutError as exc:
            raise TimeoutError(
                f"Kwiff command {message!r} got no answer from {self.endpoint} "
                f"within {self.timeout:g} s"
            ) from exc
        return parse_answer(ack.args)

    async def get_events(
        self,
        sport: str | int = "football",
        country: str = "GB",
        *,
        list_id: str = "default",
    ) -> list[KwiffEvent]:
        """The events of a sport (a name such as ``"basketball"`` or a numeric id).

        Raises :class:`ValueError` for an unknown sport name or a bad country code.
        """
        payload = {
            "listId": list_id,
            "sportId": resolve_sport(sport),
            "country": country_code(country),
        }
        answer = await self._answered("event:list", payload)
        skips: Counter[str] = Counter()
        events = parse_events(answer.data, fetched_at=answer.fetched_at, skips=skips)
        if skips.get("events_missing"):
            raise CommandError("event:list", answer, "the answer has no events list")
        _log_skips("event:list", skips)
        return events

    async def get_football_events(self, country: str = "GB") -> list[KwiffEvent]:
        """The football events of a country (``get_events("football", country)``)."""
        return await self.get_events("football", country)

    async def get_event(self, event_id: int) -> KwiffEvent | None:
        """One event with every market (``event:get``); ``None`` if the service has none."""
        answer = await self._answered("event:get", {"eventId": event_id})
        skips: Counter[str] = Counter()
        event = parse_event_detail(answer.data, fetched_at=answer.fetched_at, skips=skips)
        skips.pop("result_missing", None)  # no such event: None
        _log_skips("event:get", skips)
        return event

    async def get_combo_odds(self, event_id: int, outcome_ids: Iterable[int]) -> PricedGroup:
        """The bet-builder price of outcomes of one event combined (``ticket:odds:get``).

        ``odds`` and ``fractional`` of the result are ``None`` if the combination
        cannot be priced (e.g. two outcomes of the same market).
        """
        group = {"source": BET_BUILDER_SOURCE, "outcomeIds": list(outcome_ids), "eventId": event_id}
        answer = await self._answered("ticket:odds:get", {"betBuilderOutcomeGroups": [group]})
        skips: Counter[str] = Counter()
        groups = parse_price_groups(answer.data, fetched_at=answer.fetched_at, skips=skips)
        if not groups:
            raise CommandError("ticket:odds:get", answer, "the answer has no priced group")
        _log_skips("ticket:odds:get", skips)
        return groups[0]

    # -- internals -------------------------------------------------------------------

    async def _answered(self, message: str, payload: Mapping[str, Any]) -> Answer:
        """Send a command; raise :class:`CommandError` if the service answered with an error."""
        answer = await self.send_command(message, payload)
        if answer.error is not None:
            raise CommandError(message, answer, f"the service answered {answer.error!r:.300}")
        return answer

    async def _open_session(self) -> KwiffSession:
        url = await self._resolver.url(self.endpoint)
        proxy = choose_proxy(
            url,
            meta_proxy=self._proxy,
            use_environment=self._trust_env and self.endpoint != SIMULATOR_ENDPOINT,
        )
        return await KwiffSession.open(replace(self._options, endpoint=url, proxy=proxy))

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(
                "this KwiffClient is closed; create a new one (or use it inside 'async with')"
            )


def _positive_timeout(timeout: float) -> float:
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return float(timeout)


def _log_skips(message: str, skips: Counter[str]) -> None:
    if skips:
        logger.info("Skipped while parsing %s: %s", message, dict(skips))
