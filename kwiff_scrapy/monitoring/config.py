"""``KWIFF_METRICS_*``: where the Prometheus endpoint listens, read and checked once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import defaults

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

PORT_SETTING = "KWIFF_METRICS_PORT"
HOST_SETTING = "KWIFF_METRICS_HOST"


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """The endpoint's address; ``port`` None: no endpoint."""

    port: int | None = None
    """``KWIFF_METRICS_PORT``: 0 picks a free port (logged)."""
    host: str = defaults.METRICS_HOST
    """``KWIFF_METRICS_HOST``: loopback unless told otherwise."""

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> MetricsSettings:
        """Read and validate; a bad value raises ``ValueError`` naming the setting."""
        raw = settings.get(PORT_SETTING)
        host = str(settings.get(HOST_SETTING) or defaults.METRICS_HOST)
        if raw is None or raw == "":
            return cls(None, host)
        try:
            port = int(raw)
        except (TypeError, ValueError):
            port = -1
        if isinstance(raw, bool) or not 0 <= port <= 65535:
            raise ValueError(
                f"{PORT_SETTING} must be a TCP port number (0 to 65535; 0 picks a free one), "
                f"not {raw!r}"
            )
        return cls(port, host)
