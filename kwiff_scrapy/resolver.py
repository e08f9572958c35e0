"""Turns a ``KWIFF_ENDPOINT`` value into a URL, starting the simulator for ``simulator``.

Shared by the download handler and the async client, so that ``simulator`` means
the same everywhere: one in-process simulator on a free loopback port, started on
first use and closed with its owner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .endpoint import SIMULATOR_ENDPOINT

if TYPE_CHECKING:
    from .simulator import KwiffSimulator

logger = logging.getLogger(__name__)


class EndpointResolver:
    def __init__(self, simulator_options: Mapping[str, Any] | None = None) -> None:
        self._simulator_options = dict(simulator_options or {})
        self._simulator: KwiffSimulator | None = None
        self._lock = asyncio.Lock()

    async def url(self, endpoint: str) -> str:
        """The ws(s):// URL to connect to for *endpoint*."""
        if endpoint != SIMULATOR_ENDPOINT:
            return endpoint
        if self._simulator is not None:
            return self._simulator.url
        async with self._lock:
            if self._simulator is None:
                from .simulator import KwiffSimulator, SimulatorConfig  # only when asked for

                simulator = KwiffSimulator(SimulatorConfig(**self._simulator_options))
                await simulator.start()
                self._simulator = simulator
                logger.info(
                    "Started the Kwiff simulator at %s (endpoint 'simulator')", simulator.url
                )
            return self._simulator.url

    async def close(self) -> None:
        simulator, self._simulator = self._simulator, None
        if simulator is not None:
            await simulator.close()
