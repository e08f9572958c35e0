"""From "send this to that endpoint" to an open session: the one place connections are made.

The download handler, :class:`~kwiff_scrapy.KwiffClient` and the ``scrapy kwiff``
command all connect through a :class:`Connector`. It turns an endpoint into a URL
(starting the in-process simulator for ``"simulator"``), chooses the proxy (the
simulator is never proxied), builds the :class:`~kwiff_scrapy.connection.session.
SessionOptions` from one :class:`ConnectionConfig`, and owns one
:class:`~kwiff_scrapy.connection.pool.SessionPool` per endpoint, proxy and
proxy credentials.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .. import defaults
from .pool import Backoff, SessionPool
from .proxy import choose_proxy, redact
from .session import KwiffSession, SessionOptions, StatHook

if TYPE_CHECKING:
    from ..simulator import KwiffSimulator

logger = logging.getLogger(__name__)

PoolKey = tuple[str, str | None, bytes | None]
#: Called with an event's name, its arguments and the URL of the connection that got it.
PushedEventHook = Callable[[str, list[Any], str], None]


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """How a front end's connections are opened (from ``KWIFF_*`` settings or client arguments).

    ``proxy`` is used when a command names none; ``trust_env`` lets the usual proxy
    environment variables apply when neither does. ``ssl_context=None`` verifies
    certificates (see :func:`tls_context`).
    """

    endpoint: str = defaults.ENDPOINT
    identifier: str | None = None
    user_agent: str = defaults.USER_AGENT
    webapp_version: str = defaults.WEBAPP_VERSION
    connections_per_endpoint: int = defaults.CONNECTIONS_PER_ENDPOINT
    max_in_flight: int = defaults.MAX_IN_FLIGHT
    max_frame_size: int | None = defaults.MAX_FRAME_SIZE
    open_timeout: float = defaults.OPEN_TIMEOUT
    backoff: Backoff = field(default_factory=Backoff)
    proxy: str | None = None
    trust_env: bool = True
    ssl_context: ssl.SSLContext | None = None
    simulator_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


class Connector:
    """Hands out open sessions; close it to close them all (and the simulator, if started)."""

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        on_stat: StatHook | None = None,
        on_event: PushedEventHook | None = None,
    ) -> None:
        self.config = config
        self._on_stat = on_stat
        self._on_event = on_event
        self._pools: dict[PoolKey, SessionPool] = {}
        self._pools_lock = asyncio.Lock()
        self._simulator: KwiffSimulator | None = None
        self._simulator_lock = asyncio.Lock()

    async def session(
        self,
        endpoint: str | None = None,
        *,
        proxy: str | None = None,
        proxy_authorization: bytes | None = None,
    ) -> KwiffSession:
        """An open session to *endpoint* (default: the configured one), through *proxy* if given.

        Raises what :meth:`KwiffSession.open` raises; concurrent callers share connects.
        """
        endpoint = endpoint or self.config.endpoint
        url = self._known_url(endpoint)
        pool = None if url is None else self._pools.get((url, proxy, proxy_authorization))
        if pool is None:
            pool = await self._pool(endpoint, proxy, proxy_authorization)
        # The hot path: a pool with an open session hands it out without an await.
        return pool.open_session() or await pool.acquire()

    async def close(self) -> None:
        pools, self._pools = self._pools, {}
        try:
            await asyncio.gather(*(pool.close() for pool in pools.values()))
        finally:
            simulator, self._simulator = self._simulator, None
            if simulator is not None:
                await simulator.close()

    def _known_url(self, endpoint: str) -> str | None:
        """:meth:`url` without awaiting: None while the simulator is not started."""
        if endpoint != defaults.SIMULATOR_ENDPOINT:
            return endpoint
        simulator = self._simulator
        return None if simulator is None else simulator.url

    async def url(self, endpoint: str) -> str:
        """The ws(s):// URL for *endpoint*: itself, or the in-process simulator's (started now)."""
        known = self._known_url(endpoint)
        if known is not None:
            return known
        async with self._simulator_lock:
            if self._simulator is None:
                self._simulator = await _start_simulator(self.config.simulator_options)
        return self._simulator.url

    async def _pool(
        self, endpoint: str, proxy: str | None, proxy_authorization: bytes | None
    ) -> SessionPool:
        url = await self.url(endpoint)
        key = (url, proxy, proxy_authorization)
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        async with self._pools_lock:
            if key not in self._pools:
                options = self._session_options(endpoint, url, proxy, proxy_authorization)
                self._pools[key] = SessionPool(
                    functools.partial(self._open_session, options),
                    self.config.connections_per_endpoint,
                    self.config.backoff,
                )
            return self._pools[key]

    async def _open_session(self, options: SessionOptions) -> KwiffSession:
        pushed, url = self._on_event, options.endpoint
        on_event = None if pushed is None else lambda name, args: pushed(name, args, url)
        return await KwiffSession.open(options, on_stat=self._on_stat, on_event=on_event)

    def _session_options(
        self, endpoint: str, url: str, proxy: str | None, proxy_authorization: bytes | None
    ) -> SessionOptions:
        config = self.config
        chosen = choose_proxy(
            url,
            meta_proxy=proxy or config.proxy,
            proxy_authorization=proxy_authorization,
            # The environment's proxies are for the outside world, not the loopback simulator.
            use_environment=config.trust_env and endpoint != defaults.SIMULATOR_ENDPOINT,
        )
        if chosen:
            logger.info("Connecting to %s through the proxy %s", url, redact(chosen))
        return SessionOptions(
            endpoint=url,
            identifier=config.identifier,
            user_agent=config.user_agent,
            webapp_version=config.webapp_version,
            max_frame_size=config.max_frame_size,
            max_in_flight=config.max_in_flight,
            open_timeout=config.open_timeout,
            proxy=chosen,
            ssl_context=config.ssl_context,
        )


async def _start_simulator(options: Mapping[str, Any]) -> KwiffSimulator:
    from ..simulator import KwiffSimulator, SimulatorConfig  # only when asked for

    # The endpoint moves (a watch has something to see) unless the options say otherwise,
    # on a clock, so that several workers each with their own see the same market.
    simulator = KwiffSimulator(
        SimulatorConfig.from_options(
            {"moving": True, "speed": defaults.SIMULATOR_IN_PROCESS_SPEED, **options}
        )
    )
    await simulator.start()
    logger.info("Started the Kwiff simulator at %s (endpoint 'simulator')", simulator.url)
    return simulator


def tls_context(verify: bool, endpoint: str, *, switch: str) -> ssl.SSLContext | None:
    """``None`` (websockets' default, verifying context) or, when *verify* is off, a
    context that checks nothing, with a warning naming the *switch* that turned it off."""
    if verify:
        return None
    logger.warning(
        "%s is False: TLS certificates of %s are not verified. Use this only for debugging.",
        switch,
        endpoint,
    )
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
