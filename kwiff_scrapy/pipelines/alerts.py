"""The alerts pipeline: big odds moves posted to a webhook (Discord, Slack, any JSON).

The add-on enables :class:`KwiffAlertsPipeline` when ``KWIFF_ALERT_WEBHOOK`` (or
``KWIFF_ALERT_LOG``) is set. It looks at ``OddsChange`` and ``EventChange`` items
(what ``kwiff_watch`` yields), passes every item on unchanged, and:

1. keeps the changes that pass the rules (:class:`~.alert_messages.AlertRules`) and
   counts the others as ``kwiff/alerts/suppressed``;
2. sends the changes of one poll together: when the watch's ``poll_finished`` signal
   says how many changes the poll yielded, the batch goes out as soon as they have
   all reached this pipeline, or ``KWIFF_ALERT_FLUSH_DELAY`` after the signal (items
   still in earlier pipelines, or dropped there). Without that signal (alerts on
   another spider's items), a batch goes out after ``KWIFF_ALERT_QUIET_PERIOD``
   without a new alert (at most ``defaults.ALERT_MAX_BATCH_AGE`` after its first);
3. splits a batch into messages of at most 2,000 characters and queues them for one
   background task, which posts them in order (:mod:`.alert_transport`: not through
   Scrapy's downloader, so that the webhook's certificate is verified and its URL
   appears in no log). ``process_item`` never waits for the webhook: a slow or dead
   webhook never slows the crawl;
4. retries a message after a 429 (waiting its ``Retry-After``), a 5xx or a connection
   error, up to ``KWIFF_ALERT_RETRY_TIMES`` times with a doubling delay; what still
   fails (a refused certificate at once) is logged and counted as
   ``kwiff/alerts/failed``, never raised into the crawl;
5. at close, sends what is pending and gives it ``KWIFF_ALERT_CLOSE_TIMEOUT`` seconds;
   what has not gone out by then is cancelled and counted as failed.

After the watch's first successful poll that yielded changes, each ``KWIFF_ALERT_MARKETS``
or ``KWIFF_ALERT_COMPETITIONS`` name that none of them matched is logged once as a
warning, with the closest names seen (:mod:`.alert_names`): a misspelt name would
otherwise never alert, silently.

Stats count changes, not messages: every ``OddsChange`` or ``EventChange`` that
reaches the pipeline ends up in exactly one of ``kwiff/alerts/sent`` (posted and
answered with a 2xx, or logged when there is no webhook), ``kwiff/alerts/failed``
and ``kwiff/alerts/suppressed``.

The webhook URL is a secret (Discord and Slack put the token in it): log lines name
the webhook as :func:`~.alert_messages.describe_webhook` does, and any text that could
quote it goes through :func:`~.alert_messages.redact` first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import is_asyncio_available

from ..integration import signals, stats
from ..integration.startup import report_start_error
from ..model.items import EventChange, OddsChange
from .alert_messages import (
    BOTH,
    DRIFTS,
    DROPS,
    Change,
    Message,
    describe_webhook,
    message_body,
    redact,
    retry_after_seconds,
    split_messages,
)
from .alert_names import FirstPollNames
from .alert_settings import AlertSettings
from .alert_transport import (
    WebhookClient,
    WebhookFailure,
    WebhookReply,
    environment_proxy,
    tls_context,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

TOO_MANY_REQUESTS = 429
DIRECTION_WORDS = {DROPS: "drops only", DRIFTS: "drifts only", BOTH: "either way"}


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


class KwiffAlertsPipeline:
    """Posts ``OddsChange`` / ``EventChange`` items that pass the rules to a webhook.

    Settings: every ``KWIFF_ALERT_*`` setting, read once into :class:`AlertSettings`.
    """

    def __init__(self, crawler: Crawler, config: AlertSettings) -> None:
        self.crawler = crawler
        self.config = config
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Changes accepted since the last flush.
        self._pending: list[Change] = []
        #: Changes that arrived since the last ``poll_finished``.
        self._arrived = 0
        #: Changes the last ``poll_finished`` announced that have not arrived yet.
        self._awaited = 0
        #: True once a ``poll_finished`` was received: batches are then polls.
        self._polls = False
        self._batch_started: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._queue: asyncio.Queue[Message] | None = None
        #: The message the sender is busy with (None: idle).
        self._sending: Message | None = None
        self._sender: asyncio.Task[None] | None = None
        self._client: WebhookClient | None = None
        #: Market and competition names, checked against the first successful poll.
        self._names = FirstPollNames(config.market_names, config.competition_names)
        #: True from a successful poll's ``poll_finished`` until its changes are in.
        self._names_check_due = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KwiffAlertsPipeline:
        try:
            config = AlertSettings.from_settings(crawler.settings)
            if config.webhook is not None and not is_asyncio_available():
                raise ValueError(
                    "KWIFF_ALERT_WEBHOOK needs asyncio: use Scrapy's default "
                    "TWISTED_REACTOR (AsyncioSelectorReactor) or no reactor"
                )
        except ValueError as exc:
            report_start_error(__name__, exc)
            raise
        if not config.enabled:
            raise NotConfigured("neither KWIFF_ALERT_WEBHOOK nor KWIFF_ALERT_LOG is set")
        pipeline = cls(crawler, config)
        crawler.signals.connect(pipeline.poll_finished, signal=signals.poll_finished)
        return pipeline

    # -- Scrapy's pipeline methods ----------------------------------------------------

    async def open_spider(self) -> None:
        self._loop = asyncio.get_running_loop()
        config = self.config
        if config.webhook is not None:
            self._client = self._new_client(config.webhook)
            self._queue = asyncio.Queue()
            self._sender = self._loop.create_task(self._send_queued(), name="kwiff-alerts")
            where = f"{describe_webhook(config.webhook)} ({config.format})"
            where += " and the log" if config.log else ""
            if not config.verify_tls and config.webhook.startswith("https:"):
                logger.warning(
                    "The alert webhook's TLS certificate is not verified "
                    "(KWIFF_ALERT_VERIFY_TLS is False): its token may go to an impostor"
                )
        else:
            where = "the log"
        rules = config.rules
        logger.info(
            "Alerts to %s: kinds %s, competitions %s, markets %s, moves of %.1f%% or more "
            "(%s), odds %s to %s",
            where,
            ", ".join(sorted(rules.kinds)),
            ", ".join(config.competition_names) or "all",
            ", ".join(config.market_names) or "all",
            rules.min_change * 100,
            DIRECTION_WORDS[rules.direction],
            "any" if rules.min_odds is None else rules.min_odds,
            "any" if rules.max_odds is None else rules.max_odds,
        )

    def process_item(self, item: Any) -> Any:
        if isinstance(item, OddsChange | EventChange):
            self._take(item)
        return item

    async def close_spider(self) -> None:
        self._flush()
        if self._names_check_due:
            self._check_names()
        if self._sender is None or self._queue is None:
            return
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
        self._sender.cancel()
        await asyncio.wait([self._sender])
        if self._client is not None:
            await self._client.close()
        unsent = [self._sending] if self._sending is not None else []
        while not self._queue.empty():
            unsent.append(self._queue.get_nowait())
        self._sending = None
        if unsent:
            count = sum(message.count for message in unsent)
            stats.increment(self.crawler, stats.ALERTS_FAILED, count)
            logger.warning(
                "%d alert(s) in %d message(s) did not go out to %s before the spider closed "
                "(KWIFF_ALERT_CLOSE_TIMEOUT is %g s)",
                count,
                len(unsent),
                describe_webhook(self.config.webhook or ""),
                self.config.close_timeout,
            )

    # -- batching ---------------------------------------------------------------------

    def poll_finished(self, changes: Any = 0, failed: Any = False, **kwargs: Any) -> None:
        """``poll_finished`` handler: the poll's changes go out once they have all
        arrived here, or ``flush_delay`` from now."""
        if self._awaited:  # the previous poll is still waited for: it goes now
            self._flush()
        if self._names_check_due:  # a poll later, its changes are in (or never come)
            self._check_names()
        self._polls = True
        if self._names.pending and not failed:
            self._names.poll_finished()
            self._names_check_due = True
        announced = changes if isinstance(changes, int) and not isinstance(changes, bool) else 0
        outstanding = announced - self._arrived
        self._arrived = 0
        if outstanding <= 0:
            self._flush()
            if self._names_check_due:
                self._check_names()
        else:
            self._awaited = outstanding
            self._set_timer(self.config.flush_delay)

    def _take(self, change: Change) -> None:
        if self._names.pending:
            self._names.see(change)
        last_of_poll = False
        if self._awaited:
            self._awaited -= 1
            last_of_poll = not self._awaited
        else:
            self._arrived += 1
        if self.config.rules.accepts(change):
            self._pending.append(change)
            if not self._polls:
                self._flush_when_quiet()
        else:
            stats.increment(self.crawler, stats.ALERTS_SUPPRESSED)
        if last_of_poll:
            self._flush()
            if self._names_check_due:
                self._check_names()

    def _flush_when_quiet(self) -> None:
        loop = self._event_loop()
        now = loop.time()
        if self._batch_started is None:
            self._batch_started = now
        due = min(now + self.config.quiet_period, self._batch_started + self.config.max_batch_age)
        self._set_timer(due - now)

    def _set_timer(self, delay: float) -> None:
        self._cancel_timer()
        self._timer = self._event_loop().call_later(delay, self._flush)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _flush(self) -> None:
        """Send the pending changes now (split into messages)."""
        self._cancel_timer()
        self._awaited = 0
        self._batch_started = None
        if not self._pending:
            return
        changes, self._pending = self._pending, []
        for message in split_messages(changes, self.config.message_limit):
            if self.config.log:
                logger.info("Kwiff alerts (%d):\n%s", message.count, message.text)
            if self.config.webhook is None:
                stats.increment(self.crawler, stats.ALERTS_SENT, message.count)
            else:
                self._enqueue(message)

    def _check_names(self) -> None:
        """Warn once about each ``KWIFF_ALERT_MARKETS`` or ``_COMPETITIONS`` name the
        first successful poll that yielded changes did not show (a poll without any:
        the next one is used).

        Called once that poll's changes have all arrived here, or, if some are late
        (still in earlier pipelines after ``flush_delay``, or dropped there), at the
        next ``poll_finished`` or at close."""
        self._names_check_due = False
        if self._names.continued:
            logger.info(
                "%s: names not checked against the service's: the first poll continued an "
                "earlier watch (JOBDIR, or another worker's), so it did not show every one",
                " and ".join(self._names.settings),
            )
            self._names.stop()
            return
        for warning in self._names.warnings():
            logger.warning("%s", warning)

    def _enqueue(self, message: Message) -> None:
        if self._queue is None:  # only before open_spider: nowhere to send yet
            self._queue = asyncio.Queue()
        if self._queue.qsize() >= self.config.max_queued_messages:
            dropped = self._queue.get_nowait()
            self._queue.task_done()
            stats.increment(self.crawler, stats.ALERTS_FAILED, dropped.count)
            logger.warning(
                "Dropped %d alert(s): %d messages were already waiting for %s",
                dropped.count,
                self.config.max_queued_messages,
                describe_webhook(self.config.webhook or ""),
            )
        self._queue.put_nowait(message)

    # -- sending ----------------------------------------------------------------------

    async def _send_queued(self) -> None:
        """The sender task: posts queued messages one at a time, in order."""
        assert self._queue is not None
        while True:
            message = await self._queue.get()
            self._sending = message
            try:
                delivered = await self._deliver(message)
            except Exception as exc:  # a bug rather than the webhook: never ends the sender
                logger.error(
                    "Alerts: unexpected error while sending a message:\n%s",
                    redact("".join(traceback.format_exception(exc)), self.config.webhook or ""),
                )
                delivered = False
            self._sending = None
            key = stats.ALERTS_SENT if delivered else stats.ALERTS_FAILED
            stats.increment(self.crawler, key, message.count)
            self._queue.task_done()

    async def _deliver(self, message: Message) -> bool:
        """Post *message*, retrying as :func:`retry_delay` says; True once answered 2xx."""
        assert self.config.webhook is not None
        assert self._client is not None
        where = describe_webhook(self.config.webhook)
        body = json.dumps(
            message_body(self.config.format, message), ensure_ascii=False, sort_keys=True
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
                outcome = f"HTTP {status}{_excerpt(reply, self.config.webhook)}"
                retry_after = retry_after_seconds(reply.retry_after)
                delay = retry_delay(self.config, retries, status, retry_after)
            outcome = redact(outcome, self.config.webhook)
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

    def _new_client(self, webhook: str) -> WebhookClient:
        config = self.config
        return WebhookClient(
            webhook,
            timeout=config.timeout,
            tls=tls_context(verify=config.verify_tls, ca_file=config.ca_file),
            proxy=environment_proxy(webhook) if config.proxy_from_environment else None,
            user_agent=config.user_agent,
        )


def _excerpt(reply: WebhookReply, webhook: str) -> str:
    """The start of an error answer's body, for the log (Discord explains its 4xx);
    redacted before it is cut, so that no part of a token is left."""
    text = " ".join(redact(reply.body.decode("utf-8", "replace"), webhook).split())[:200]
    return f": {text}" if text else ""
