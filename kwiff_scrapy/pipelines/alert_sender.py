"""One route's messages on their way: a queue, one background task, retries.

:class:`RouteSender` posts the messages of one route's :class:`~.alert_routes.Destination`
in order, from one task (:mod:`.alert_transport`: not through Scrapy's downloader),
retries as :func:`retry_delay` says, drops the oldest message when
``max_queued_messages`` are waiting, and at close gives what is pending
``close_timeout`` seconds. It reports each message's fate to the pipeline through
``counted(message, delivered)``; it never raises into the crawl. Log lines name the
destination as :meth:`~.alert_routes.Destination.describe` does, and any text that
could quote a secret goes through :meth:`~.alert_routes.Destination.redact` first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from typing import TYPE_CHECKING

from .alert_messages import TELEGRAM, Message, retry_after_seconds, telegram_retry_after
from .alert_transport import (
    WebhookClient,
    WebhookFailure,
    WebhookReply,
    environment_proxy,
    tls_context,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .alert_routes import Destination
    from .alert_settings import AlertSettings

#: The alerts pipeline's logger: what users filter on.
logger = logging.getLogger("kwiff_scrapy.pipelines.alerts")

TOO_MANY_REQUESTS = 429


def retry_delay(
    config: AlertSettings, retries_done: int, status: int | None, retry_after: float | None
) -> float | None:
    """Seconds to wait before trying a message again, or None if it must not be retried.

    *status* is the webhook's HTTP status (None: no response, a connection error or a
    timeout). 429 waits *retry_after* (the ``Retry-After`` header) if given; 429 without
    it, 5xx and connection errors back off exponentially from ``retry_delay``. Every
    wait is at most ``max_retry_delay``; there are at most ``retry_times`` retries.
    """
    if retries_done >= config.retry_times:
        return None
    if status is not None and status != TOO_MANY_REQUESTS and status < 500:
        return None
    if status == TOO_MANY_REQUESTS and retry_after is not None:
        delay = retry_after
    else:
        delay = config.retry_delay * 2**retries_done
    return min(delay, config.max_retry_delay)


class RouteSender:
    """Sends one route's messages to its destination, in order, from one task.

    Messages enqueued before :meth:`start` wait for it (a pipeline not opened sends
    nothing). :meth:`start` it while the event loop runs (``open_spider``); :meth:`close`
    it when the spider closes. *where* names the destination in log lines (never its URL).
    """

    def __init__(
        self,
        config: AlertSettings,
        destination: Destination,
        where: str,
        counted: Callable[[Message, bool], None],
    ) -> None:
        self.config = config
        self.destination = destination
        self.where = where
        self._counted = counted
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        #: The message the sender is busy with (None: idle).
        self._sending: Message | None = None
        self._client: WebhookClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        url = self.destination.url
        config = self.config
        self._client = WebhookClient(
            url,
            timeout=config.timeout,
            tls=tls_context(verify=config.verify_tls, ca_file=config.ca_file),
            proxy=environment_proxy(url) if config.proxy_from_environment else None,
            user_agent=config.user_agent,
        )
        self._task = asyncio.get_running_loop().create_task(self._run(), name="kwiff-alerts")

    def enqueue(self, message: Message) -> None:
        if self._closed:  # a notice from a task that outlived the pipeline: too late
            self._counted(message, False)
            return
        if self._queue.qsize() >= self.config.max_queued_messages:
            dropped = self._queue.get_nowait()
            self._queue.task_done()
            self._counted(dropped, False)
            logger.warning(
                "Dropped %d alert(s): %d messages were already waiting for %s",
                dropped.count,
                self.config.max_queued_messages,
                self.where,
            )
        self._queue.put_nowait(message)

    async def settle(self) -> None:
        """Return once every message queued so far has been posted or given up."""
        if self._task is None or self._closed:  # not started, or stopping: nothing goes
            return
        await self._queue.join()

    async def close(self) -> list[Message]:
        """Wait up to ``close_timeout`` for what is queued; stop; the messages unsent."""
        self._closed = True
        if self._task is None or self._client is None:  # never started
            return []
        if self._sending is not None or not self._queue.empty():
            waiting = self._queue.qsize() + (self._sending is not None)
            logger.info(
                "Waiting up to %g s for %d alert message(s) to go out",
                self.config.close_timeout,
                waiting,
            )
            try:
                async with asyncio.timeout(self.config.close_timeout):
                    await self._queue.join()
            except TimeoutError:
                pass
        self._task.cancel()
        await asyncio.wait([self._task])
        await self._client.close()
        unsent = [self._sending] if self._sending is not None else []
        while not self._queue.empty():
            unsent.append(self._queue.get_nowait())
        self._sending = None
        return unsent

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            self._sending = message
            try:
                delivered = await self._deliver(message)
            except Exception as exc:  # a bug rather than the webhook: never ends the sender
                logger.error(
                    "Alerts: unexpected error while sending a message:\n%s",
                    self.destination.redact("".join(traceback.format_exception(exc))),
                )
                delivered = False
            self._sending = None
            self._counted(message, delivered)
            self._queue.task_done()

    async def _deliver(self, message: Message) -> bool:
        """Post *message*, retrying as :func:`retry_delay` says; True once answered 2xx."""
        where = self.where
        assert self._client is not None
        body = json.dumps(
            self.destination.body(message), ensure_ascii=False, sort_keys=True
        ).encode()
        retries = 0
        while True:
            try:
                reply = await self._client.post(body)
            except WebhookFailure as exc:
                outcome = str(exc)
                delay = retry_delay(self.config, retries, None, None) if exc.retriable else None
            else:
                status = reply.status
                if 200 <= status < 300:
                    logger.debug("Sent %d alert(s) to %s (HTTP %d)", message.count, where, status)
                    return True
                outcome = f"HTTP {status}{self._excerpt(reply)}"
                retry_after = retry_after_seconds(reply.retry_after)
                if retry_after is None and self.destination.format == TELEGRAM:
                    retry_after = telegram_retry_after(reply.body)
                delay = retry_delay(self.config, retries, status, retry_after)
            outcome = self.destination.redact(outcome)
            if delay is None:
                tries = f" after {retries + 1} tries" if retries else ""
                logger.warning(
                    "Could not send %d alert(s) to %s%s: %s", message.count, where, tries, outcome
                )
                return False
            retries += 1
            logger.info(
                "Alert webhook %s: %s; retry %d of %d in %.2g s",
                where,
                outcome,
                retries,
                self.config.retry_times,
                delay,
            )
            await asyncio.sleep(delay)

    def _excerpt(self, reply: WebhookReply) -> str:
        """The start of an error answer's body, for the log (Discord explains its 4xx);
        redacted before it is cut, so that no part of a secret is left."""
        text = reply.body.decode("utf-8", "replace")
        text = " ".join(self.destination.redact(text).split())[:200]
        return f": {text}" if text else ""
