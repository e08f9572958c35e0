"""Every private name of Scrapy that :mod:`kwiff_scrapy.distributed` relies on, in one place.

Scrapy offers no public way to do these two things; each use is fenced here, and
``tests/distributed/test_library_assumptions.py`` fails the day Scrapy changes it:

- ``ExecutionEngine._slot.nextcall`` (a ``CallLaterOnce``): :func:`wake` schedules it,
  as every finished download does, so that an idle engine asks the scheduler for
  requests now rather than at its 5 s heartbeat. Without it nothing is lost: an idle
  worker only takes shared requests more slowly.
- the ``_scheme_proxy`` and ``_auth_proxy`` meta keys of ``HttpProxyMiddleware``: they
  mark a proxy taken from the environment (and its credentials), which
  :func:`forget_environment_proxy` drops from a request another worker queued.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.core.engine import ExecutionEngine

#: ``HttpProxyMiddleware``: the request's proxy came from the environment.
SCHEME_PROXY_META_KEY = "_scheme_proxy"
#: ``HttpProxyMiddleware``: the proxy URL whose credentials it put in the headers.
AUTH_PROXY_META_KEY = "_auth_proxy"


def wake(engine: ExecutionEngine) -> bool:
    """Have the engine ask the scheduler for requests now, not at its next 5 s heartbeat;
    False if Scrapy's engine no longer has the ``_slot.nextcall`` this relies on."""
    slot = getattr(engine, "_slot", None)
    nextcall = getattr(slot, "nextcall", None)
    schedule = getattr(nextcall, "schedule", None)
    if schedule is None:
        return False
    with contextlib.suppress(Exception):
        schedule()
        return True
    return False


def forget_environment_proxy(request: Request) -> None:
    """Drop the proxy another worker's environment gave *request* (a retry, say).

    Scrapy's ``HttpProxyMiddleware`` marks a proxy it took from the environment
    (``kwiff_proxy``, ``wss_proxy``...); each worker has its own, and applies it again.
    A proxy the spider itself set is kept.
    """
    if request.meta.pop(SCHEME_PROXY_META_KEY, False):
        request.meta.pop("proxy", None)
        if request.meta.pop(AUTH_PROXY_META_KEY, None) is not None:
            request.headers.pop(b"Proxy-Authorization", None)
