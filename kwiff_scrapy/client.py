"""An asyncio client for Kwiff, without Scrapy's crawl machinery.

A thin front end over the same pieces the download handler uses: a
:class:`~kwiff_scrapy.connection.connector.Connector` with one connection (so
``endpoint="simulator"``, proxies and reconnect backoff work the same) and the
tolerant parsers of :mod:`kwiff_scrapy.model.parsing`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Self

from . import defaults
from .connection.connector import ConnectionConfig, Connector, tls_context
from .connection.deadlines import SharedTimeout
from .connection.endpoint import connect_url
from .connection.errors import KwiffError
from .connection.pool import Backoff
from .model.answer import Answer, parse_answer
from .model.event_list import read_event_list
from .model.parsing import parse_event_detail, parse_price_groups
from .model.sports import country_code, resolve_sport

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from types import TracebackType

    from .model.items import KwiffEvent, PricedGroup
    from .protocol.client import AckReceived

logger = logging.getLogger(__name__)


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
    reconnects. Errors (all :class:`~kwiff_scrapy.connection.errors.KwiffError` but the last):

    - :class:`~kwiff_scrapy.connection.errors.HandshakeRefused`: the server refused the WebSocket
      upgrade; ``.status`` is the HTTP status (403: browser headers wanted, 429: too
      many connections, 503: unavailable).
    - :class:`~kwiff_scrapy.connection.errors.ConnectFailed`: no connection (DNS, refused, TLS,
      no Socket.IO opening sequence); ``__cause__`` holds the underlying error.
    - :class:`~kwiff_scrapy.connection.errors.ConnectionLost`: the connection ended before the
      answer (the next call reconnects).
    - :class:`CommandError` (the convenience methods only): the service answered with
      an error, or without the data asked for.
    - the builtin :class:`TimeoutError`: no answer within the timeout, naming the command.

    After :meth:`close` (or the end of the ``async with`` block) every call raises
    :class:`RuntimeError`.
    """

    def __init__(
        self,
        endpoint: str = defaults.ENDPOINT,
        *,
        identifier: str | None = None,
        user_agent: str = defaults.USER_AGENT,
        webapp_version: str = defaults.WEBAPP_VERSION,
        timeout: float = defaults.CLIENT_TIMEOUT,
        max_frame_size: int | None = defaults.MAX_FRAME_SIZE,
        proxy: str | None = None,
        trust_env: bool = True,
        verify_tls: bool = True,
        simulator_options: Mapping[str, Any] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if endpoint != defaults.SIMULATOR_ENDPOINT:
            connect_url(endpoint, "check")  # ValueError for anything but ws:// or wss://
        self.timeout = _positive_timeout(timeout)
        self.endpoint = endpoint
        self._connector = Connector(
            ConnectionConfig(
                endpoint=endpoint,
                identifier=identifier,
                user_agent=user_agent,
                webapp_version=webapp_version,
                connections_per_endpoint=1,
                max_frame_size=max_frame_size,
                open_timeout=self.timeout,
                backoff=backoff or Backoff(),
                proxy=proxy,
                trust_env=trust_env,
                ssl_context=tls_context(verify_tls, endpoint, switch="verify_tls"),
                simulator_options=MappingProxyType(dict(simulator_options or {})),
            )
        )
        # Every command has the same timeout: one loop timer serves them all.
        self._command_timeout = SharedTimeout(self.timeout)
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection now rather than on the first call (no-op if open)."""
        self._check_open()
        try:
            async with asyncio.timeout(self.timeout):
                await self._connector.session()
        except TimeoutError as exc:
            raise TimeoutError(
                f"could not connect to Kwiff at {self.endpoint} within {self.timeout:g} s"
            ) from exc

    async def close(self) -> None:
        """Close the connection (and the simulator, if it started one). Safe to repeat."""
        if self._closed:
            return
        self._closed = True
        self._command_timeout.close()
        await self._connector.close()

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
        ack = await self._acked(message, payload)
        return parse_answer(ack.args)

    async def get_events(
        self,
        sport: str | int = "football",
        country: str = defaults.COUNTRY,
        *,
        list_id: str = defaults.LIST_ID,
    ) -> list[KwiffEvent]:
        """The events of a sport (a name such as ``"basketball"`` or a numeric id).

        Raises :class:`ValueError` for an unknown sport name or a bad country code.
        """
        payload = {
            "listId": list_id,
            "sportId": resolve_sport(sport),
            "country": country_code(country),
        }
        ack = await self._acked("event:list", payload)
        undecoded = ack.body if ack.args_if_decoded is None else None
        listed = read_event_list(undecoded, lambda: parse_answer(ack.args))
        if listed.answer is not None:
            self._checked("event:list", listed.answer)
            if not listed.has_events_list:
                raise CommandError("event:list", listed.answer, "the answer has no events list")
        _log_skips("event:list", listed.skips)
        return listed.events

    async def get_football_events(self, country: str = defaults.COUNTRY) -> list[KwiffEvent]:
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
        group = {
            "source": defaults.BET_BUILDER_SOURCE,
            "outcomeIds": list(outcome_ids),
            "eventId": event_id,
        }
        answer = await self._answered("ticket:odds:get", {"betBuilderOutcomeGroups": [group]})
        skips: Counter[str] = Counter()
        groups = parse_price_groups(answer.data, fetched_at=answer.fetched_at, skips=skips)
        if not groups:
            raise CommandError("ticket:odds:get", answer, "the answer has no priced group")
        _log_skips("ticket:odds:get", skips)
        return groups[0]

    # -- internals -------------------------------------------------------------------

    async def _acked(self, message: str, payload: Mapping[str, Any] | None) -> AckReceived:
        """Send a command; its ack, or ``TimeoutError`` after :attr:`timeout` seconds."""
        self._check_open()
        try:
            with self._command_timeout.bound():
                session = await self._connector.session()
                return await session.command(message, dict(payload or {}))
        except TimeoutError as exc:
            raise TimeoutError(
                f"Kwiff command {message!r} got no answer from {self.endpoint} "
                f"within {self.timeout:g} s"
            ) from exc

    async def _answered(self, message: str, payload: Mapping[str, Any]) -> Answer:
        """Send a command; raise :class:`CommandError` if the service answered with an error."""
        return self._checked(message, await self.send_command(message, payload))

    @staticmethod
    def _checked(message: str, answer: Answer) -> Answer:
        if answer.error is not None:
            raise CommandError(message, answer, f"the service answered {answer.error!r:.300}")
        return answer

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(
                "this KwiffClient is closed; create a new one (or use it inside 'async with')"
            )


class CommandError(KwiffError):
    """The service answered a command with an error, or with data that cannot be used.

    ``message`` is the command (``"event:list"``) and ``answer`` what came back
    (``answer.error`` holds the service's error object, if any).
    """

    def __init__(self, message: str, answer: Answer, reason: str) -> None:
        self.message = message
        self.answer = answer
        super().__init__(f"Kwiff command {message!r} failed: {reason}")


def _positive_timeout(timeout: float) -> float:
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return float(timeout)


def _log_skips(message: str, skips: Counter[str]) -> None:
    if skips:
        logger.info("Skipped while parsing %s: %s", message, dict(skips))
