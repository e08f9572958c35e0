"""The alerts pipeline: big odds moves and signals posted to webhooks (Discord, Slack,
any JSON) and Telegram chats, by route.

The add-on enables :class:`KwiffAlertsPipeline` when ``KWIFF_ALERT_WEBHOOK``,
``KWIFF_ALERT_LOG`` or ``KWIFF_ALERT_ROUTES`` is set. It looks at ``OddsChange`` and
``EventChange`` items (what ``kwiff_watch`` yields) and ``OddsSignal`` items (what its
detectors yield), passes every item on unchanged, and, for each route
(:mod:`.alert_routes`; the older settings make one route for raw changes):

1. keeps the items that pass the route's rules and counts the others as
   ``kwiff/alerts/suppressed``; drops those that come during its quiet hours, counted
   as ``kwiff/alerts/quiet``;
2. sends the changes of one poll together: when the watch's ``poll_finished`` signal
   says how many changes the poll yielded, the batch goes out as soon as they have
   all reached this pipeline, or ``KWIFF_ALERT_FLUSH_DELAY`` after the signal (items
   still in earlier pipelines, or dropped there). Without that signal (alerts on
   another spider's items), a batch goes out after ``KWIFF_ALERT_QUIET_PERIOD``
   without a new alert (at most ``defaults.ALERT_MAX_BATCH_AGE`` after its first);
3. splits a batch into messages of at most 2,000 characters and queues them for the
   route's background task (:mod:`.alert_sender`), which posts them in order
   (:mod:`.alert_transport`: not through
   Scrapy's downloader, so that the webhook's certificate is verified and its URL
   appears in no log). ``process_item`` never waits for the webhook: a slow or dead
   webhook never slows the crawl;
4. retries a message after a 429 (waiting its ``Retry-After``), a 5xx or a connection
   error, up to ``KWIFF_ALERT_RETRY_TIMES`` times with a doubling delay; what still
   fails (a refused certificate at once) is logged and counted as
   ``kwiff/alerts/failed``, never raised into the crawl;
5. at close, sends what is pending and gives it ``KWIFF_ALERT_CLOSE_TIMEOUT`` seconds;
   what has not gone out by then is cancelled and counted as failed;
6. is waited for by a watch with a ``JOBDIR`` before it counts a poll as reported
   (:meth:`KwiffAlertsPipeline.settle`): a watch killed with an alert unsent reports
   the change again when resumed, and alerts it then.

After the watch's first successful poll that yielded changes, each ``KWIFF_ALERT_MARKETS``
or ``KWIFF_ALERT_COMPETITIONS`` name that none of them matched is logged once as a
warning, with the closest names seen (:mod:`.alert_names`): a misspelt name would
otherwise never alert, silently.

Stats count items, not messages: for each route, every item of the sort it takes
(changes, signals) ends up in exactly one of ``kwiff/alerts/sent`` (posted and answered
with a 2xx, or logged when there is no webhook), ``kwiff/alerts/failed``,
``kwiff/alerts/suppressed`` and ``kwiff/alerts/quiet``; with ``KWIFF_ALERT_ROUTES``, each
route also has its own (``kwiff/alerts/routes/<name>/sent``...). The watch's notices
(blind, seeing again: the ``watch_notice`` signal) go to every route, counted apart.

The webhook URL is a secret (Discord and Slack put the token in it), as are a Telegram
bot's token and chat id: log lines name the destination as
:meth:`~.alert_routes.Destination.describe` does (``https://discord.com/…``), and any
text that could quote a secret goes through :meth:`~.alert_routes.Destination.redact`
first.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import is_asyncio_available

from ..integration import signals, stats
from ..integration.startup import report_start_error
from ..model.items import EventChange, OddsChange
from ..model.signals import OddsSignal
from .alert_messages import BOTH, DRIFTS, DROPS, Alertable, Message, split_messages
from .alert_names import FirstPollNames
from .alert_routes import DEFAULT_ROUTE, Route
from .alert_sender import RouteSender, retry_delay
from .alert_settings import AlertSettings

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["KwiffAlertsPipeline", "retry_delay", "utc_now"]

logger = logging.getLogger(__name__)

DIRECTION_WORDS = {DROPS: "drops only", DRIFTS: "drifts only", BOTH: "either way"}


def utc_now() -> datetime:
    """The wall clock quiet hours are checked against (a test may replace it)."""
    return datetime.now(UTC)


class KwiffAlertsPipeline:
    """Posts ``OddsChange`` / ``EventChange`` / ``OddsSignal`` items that pass a route's
    rules to its webhook, Telegram chat or the log.

    Settings: every ``KWIFF_ALERT_*`` setting, read once into :class:`AlertSettings`.
    """

    def __init__(self, crawler: Crawler, config: AlertSettings) -> None:
        self.crawler = crawler
        self.config = config
        self.routes: tuple[Route, ...] = config.route_list()
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Per route, the items accepted since the last flush.
        self._pending: dict[str, list[Alertable]] = {route.name: [] for route in self.routes}
        #: Changes that arrived since the last ``poll_finished``.
        self._arrived = 0
        #: Changes the last ``poll_finished`` announced that have not arrived yet.
        self._awaited = 0
        #: True once a ``poll_finished`` was received: batches are then polls.
        self._polls = False
        self._batch_started: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        #: Per route with a destination, its sender.
        self._senders: dict[str, RouteSender] = {
            route.name: RouteSender(
                config, route.destination, self._where(route), self._counter(route)
            )
            for route in self.routes
            if route.destination is not None
        }
        #: Market and competition names, checked against the first successful poll.
        self._names = FirstPollNames(
            config.market_names,
            config.competition_names,
            [
                (f"KWIFF_ALERT_ROUTES {route.name!r}", route.market_names, route.competition_names)
                for route in self.routes
                if route.name != DEFAULT_ROUTE
            ],
        )
        #: True from a successful poll's ``poll_finished`` until its changes are in.
        self._names_check_due = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KwiffAlertsPipeline:
        try:
            config = AlertSettings.from_settings(crawler.settings)
            if (
                any(route.destination is not None for route in config.routes)
                and not is_asyncio_available()
            ):
                setting = "KWIFF_ALERT_WEBHOOK" if config.webhook else "KWIFF_ALERT_ROUTES"
                raise ValueError(
                    f"{setting} needs asyncio: use Scrapy's default "
                    "TWISTED_REACTOR (AsyncioSelectorReactor) or no reactor"
                )
        except ValueError as exc:
            report_start_error(__name__, exc)
            raise
        if not config.enabled:
            raise NotConfigured(
                "none of KWIFF_ALERT_WEBHOOK, KWIFF_ALERT_LOG, KWIFF_ALERT_ROUTES is set"
            )
        pipeline = cls(crawler, config)
        crawler.signals.connect(pipeline.poll_finished, signal=signals.poll_finished)
        crawler.signals.connect(pipeline.watch_notice, signal=signals.watch_notice)
        return pipeline

    # -- Scrapy's pipeline methods ----------------------------------------------------

    async def open_spider(self) -> None:
        self._loop = asyncio.get_running_loop()
        for sender in self._senders.values():
            sender.start()
        for route in self.routes:
            self._describe(route)

    def _describe(self, route: Route) -> None:
        config = self.config
        where = route.describe()
        if route.destination is not None:
            destination = route.destination
            if destination.format != "telegram":
                where += f" ({destination.format})"
            where += " and the log" if route.log else ""
            if not config.verify_tls and destination.url.startswith("https:"):
                logger.warning(
                    "The alert webhook's TLS certificate is not verified "
                    "(KWIFF_ALERT_VERIFY_TLS is False): its token may go to an impostor"
                )
        what = []
        if route.signals is not None:
            what.append(f"signals {', '.join(sorted(route.signals)) or 'none'}")
        if route.quiet is not None:
            what.append(f"quiet {route.quiet}")
        if route.name != DEFAULT_ROUTE:
            where = f"{where} (route {route.name})"
        rules = route.changes
        if rules is None:
            logger.info("Alerts to %s: %s", where, "; ".join(what))
            return
        logger.info(
            "Alerts to %s: kinds %s, competitions %s, markets %s, moves of %.1f%% or more "
            "(%s), odds %s to %s%s",
            where,
            ", ".join(sorted(rules.kinds)),
            ", ".join(route.competition_names) or "all",
            ", ".join(route.market_names) or "all",
            rules.min_change * 100,
            DIRECTION_WORDS[rules.direction],
            "any" if rules.min_odds is None else rules.min_odds,
            "any" if rules.max_odds is None else rules.max_odds,
            "".join(f"; {part}" for part in what),
        )

    def process_item(self, item: Any) -> Any:
        if isinstance(item, OddsChange | EventChange):
            self._take(item)
        elif isinstance(item, OddsSignal):
            self._take_signal(item)
        return item

    async def close_spider(self) -> None:
        self._flush()
        if self._names_check_due:
            self._check_names()
        for route in self.routes:
            sender = self._senders.get(route.name)
            if sender is None:
                continue
            unsent = await sender.close()
            if unsent:
                count = sum(message.count for message in unsent)
                for message in unsent:
                    self._counter(route)(message, False)
                logger.warning(
                    "%d alert(s) in %d message(s) did not go out to %s before the spider "
                    "closed (KWIFF_ALERT_CLOSE_TIMEOUT is %g s)",
                    count,
                    len(unsent),
                    sender.where,
                    self.config.close_timeout,
                )

    async def settle(self) -> None:
        """Return once the alerts of every item handed over so far are out: posted, given
        up or dropped. A watch with a ``JOBDIR`` counts a poll as reported only then
        (:class:`~kwiff_scrapy.spiders.watch.checkpoint.SettlesItems`), so a watch killed
        with an alert still unsent reports its change again, and alerts it, when resumed.
        Items still batched go now: the poll's items are all through the pipelines."""
        if any(self._pending.values()):
            self._flush()
        for sender in self._senders.values():
            await sender.settle()

    # -- the watch's notices ----------------------------------------------------------

    def watch_notice(self, text: Any = "", **kwargs: Any) -> None:
        """``watch_notice`` handler: *text* (the watch went blind, or sees again) goes
        to every route at once, outside any batch; not during a route's quiet hours."""
        now = utc_now()
        message = Message(str(text), (), notice=True)
        for route in self.routes:
            if route.quiet_at(now):
                self._count(route, stats.ALERTS_NOTICES_QUIET, 1)
                continue
            sender = self._senders.get(route.name)
            if sender is not None:
                sender.enqueue(message)
            else:
                self._count(route, stats.ALERTS_NOTICES_SENT, 1)

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

    def _take(self, change: OddsChange | EventChange) -> None:
        if self._names.pending:
            self._names.see(change)
        last_of_poll = False
        if self._awaited:
            self._awaited -= 1
            last_of_poll = not self._awaited
        else:
            self._arrived += 1
        if self._route(change) and not self._polls:
            self._flush_when_quiet()
        if last_of_poll:
            self._flush()
            if self._names_check_due:
                self._check_names()

    def _take_signal(self, signal: OddsSignal) -> None:
        """A signal joins its poll's batch: the changes it follows are in by now, or
        still awaited (it goes with them). One that comes after its poll's last change
        goes ``flush_delay`` later."""
        if not self._route(signal):
            return
        if not self._polls:
            self._flush_when_quiet()
        elif not self._awaited and self._timer is None:
            self._set_timer(self.config.flush_delay)

    def _route(self, item: Alertable) -> bool:
        """Hand *item* to each route that takes its sort; True if one accepted it."""
        accepted = False
        now: datetime | None = None
        for route in self.routes:
            if not route.takes(item):
                continue
            if not route.accepts(item):
                self._count(route, stats.ALERTS_SUPPRESSED, 1)
                continue
            if route.quiet is not None:
                now = now or utc_now()
                if route.quiet_at(now):
                    self._count(route, stats.ALERTS_QUIET, 1)
                    continue
            self._pending[route.name].append(item)
            accepted = True
        return accepted

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
        """Send the pending items now (split into messages), route by route."""
        self._cancel_timer()
        self._awaited = 0
        self._batch_started = None
        for route in self.routes:
            items = self._pending[route.name]
            if not items:
                continue
            self._pending[route.name] = []
            sender = self._senders.get(route.name)
            for message in split_messages(items, self.config.message_limit):
                if route.log:
                    if route.name == DEFAULT_ROUTE:
                        logger.info("Kwiff alerts (%d):\n%s", message.count, message.text)
                    else:
                        logger.info(
                            "Kwiff alerts (%d, route %s):\n%s",
                            message.count,
                            route.name,
                            message.text,
                        )
                if sender is None:
                    self._count(route, stats.ALERTS_SENT, message.count)
                else:
                    sender.enqueue(message)

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

    # -- stats ------------------------------------------------------------------------

    def _where(self, route: Route) -> str:
        where = route.describe()
        return where if route.name == DEFAULT_ROUTE else f"{where} (route {route.name})"

    def _counter(self, route: Route) -> Any:
        """What a route's sender calls with each message's fate."""

        def counted(message: Message, delivered: bool) -> None:
            if message.notice:
                key = stats.ALERTS_NOTICES_SENT if delivered else stats.ALERTS_NOTICES_FAILED
                self._count(route, key, 1)
            else:
                key = stats.ALERTS_SENT if delivered else stats.ALERTS_FAILED
                self._count(route, key, message.count)

        return counted

    def _count(self, route: Route, key: str, count: int) -> None:
        """Count *count* under *key*, and under the route's own key with named routes."""
        if not count:
            return
        stats.increment(self.crawler, key, count)
        if self.config.named_routes:
            stats.increment(self.crawler, stats.alert_route(route.name, key), count)
