"""What every Kwiff spider shares, written once.

- :class:`KwiffSpider`: parse an answer with counted skips; stats under ``kwiff/``.
- :func:`listed_events`: an ``event:list`` response's events, the one way
  (:func:`~kwiff_scrapy.model.event_list.read_event_list`).
- :class:`KwiffEventItemsSpider`: yield events nested, as flat rows (``-a layout=flat``,
  chosen by itself for a CSV feed) or one row per match (``-a layout=match``), only
  those of ``-a markets=`` / ``within=`` / ``date=``; full events from ``event:get``.
- :class:`KwiffEventListSpider`: ``event:list`` of one sport; a spider for another
  sport is a name and a sport id.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

import scrapy

from .. import defaults
from ..integration import stats
from ..integration.config import KwiffSettings
from ..integration.http import KwiffRequest
from ..integration.startup import report_start_error
from ..model.event_list import ListedEvents, read_event_list
from ..model.match_rows import match_row
from ..model.parsing import outcome_rows, parse_event_detail, parse_event_get_ack
from ..model.sports import country_code
from . import arguments

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

    from ..integration.http import KwiffResponse
    from ..model.answer import Answer
    from ..model.items import KwiffEvent, OutcomeRow
    from ..model.match_rows import MatchRow
    from ..model.selection import Selection

    EventItem = KwiffEvent | OutcomeRow | MatchRow

Parsed = TypeVar("Parsed", covariant=True)


class AnswerParser(Protocol[Parsed]):
    """A parser of :mod:`kwiff_scrapy.model.parsing`: ``parse_events``, ``parse_price_groups``..."""

    def __call__(
        self, data: Any, *, fetched_at: str | None = ..., skips: Counter[str] | None = ...
    ) -> Parsed: ...


def listed_events(
    response: KwiffResponse, select: Selection | None = None, *, markets: bool = True
) -> ListedEvents:
    """The events of an ``event:list`` response (those *select* keeps): from its bytes if
    not decoded yet (*markets* False: without their markets, if that is quicker)."""
    return read_event_list(
        None if response.decoded else response.body,
        lambda: response.answer,
        select,
        markets=markets,
    )


class KwiffSpider(scrapy.Spider):
    """Base of every Kwiff spider: answers parsed tolerantly, with what was skipped counted.

    A spider argument that cannot be used raises ``ValueError`` from the constructor,
    with a message saying what is expected. Under ``scrapy crawl`` it is logged as one
    line and the command exits with status 1, before anything is sent or written. So
    does an argument the spider does not take (``-a contry=IE``): the line lists those
    it takes (:func:`.arguments.known_arguments`). A subclass that reads more arguments
    as attributes, Scrapy's way, names them in :attr:`extra_arguments`.
    """

    #: Arguments a subclass reads as attributes (``-a foo=1`` → ``self.foo``).
    extra_arguments: ClassVar[tuple[str, ...]] = ()
    #: What the parsers keep of each answer (``-a markets=``, ``within=``...); None: all.
    selection: Selection | None = None
    #: ``CONCURRENT_ITEMS`` of this spider's crawls when neither the project's settings,
    #: ``-s`` nor :attr:`custom_settings` set it (None: Scrapy's 100). Each answer of these
    #: spiders gives a few items, and Scrapy 2.19 starts ``CONCURRENT_ITEMS`` tasks per
    #: response whatever their number (scrapy/scrapy#5182).
    concurrent_items: ClassVar[int | None] = defaults.SPIDER_CONCURRENT_ITEMS
    _warned_markets = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        arguments.unknown_arguments(type(self), kwargs)
        super().__init__(*args, **kwargs)

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Scrapy's (``custom_settings``), then :attr:`concurrent_items` at an add-on's
        priority: the project's settings, ``-s`` and ``custom_settings`` win over it."""
        super().update_settings(settings)
        if cls.concurrent_items is not None:
            settings.set(
                "CONCURRENT_ITEMS",
                cls.concurrent_items,
                priority=defaults.SPIDER_CONCURRENT_ITEMS_PRIORITY,
            )

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        try:
            return super().from_crawler(crawler, *args, **kwargs)
        except ValueError as exc:  # a bad spider argument
            report_start_error(cls.name, exc)
            raise

    def parse_with(self, response: KwiffResponse, parser: AnswerParser[Parsed]) -> Parsed:
        """Run *parser* on the answer's data; report an error answer and the skips."""
        answer = response.answer
        skips: Counter[str] = Counter()
        parsed = parser(answer.data, fetched_at=answer.fetched_at, skips=skips)
        self.report_answer(response.message, answer, skips)
        return parsed

    def event_detail(
        self, response: KwiffResponse, select: Selection | None = None
    ) -> KwiffEvent | None:
        """The event of an ``event:get`` answer (the markets *select* keeps), reported as
        :meth:`parse_with` does: read straight from the answer's bytes when it is plain
        (:func:`~kwiff_scrapy.model.parsing.parse_event_get_ack`: same event, same
        skips), else decoded and parsed tolerantly."""
        skips: Counter[str] = Counter()
        read = parse_event_get_ack(response.body, skips=skips, select=select)
        if read is None:
            return self.parse_with(response, partial(parse_event_detail, select=select))
        self.report_answer(response.message, None, skips)
        return read[0]

    def events_of(self, response: KwiffResponse) -> list[KwiffEvent]:
        """The events of an ``event:list`` answer (:func:`listed_events`), reported."""
        listed = listed_events(response, self.selection)
        self.report_answer(response.message, listed.answer, listed.skips)
        return listed.events

    def warn_unmatched_markets(self) -> None:
        """Once markets have been seen: warn once for each ``-a markets=`` name that none
        of them had, with the closest names."""
        selection = self.selection
        if self._warned_markets or selection is None or not selection.seen_markets:
            return
        self._warned_markets = True
        for wanted, close in selection.unmatched_markets().items():
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            self.logger.warning("No market is named %r in the answers so far%s", wanted, hint)

    def report_answer(self, message: str, answer: Answer | None, skips: Counter[str]) -> None:
        """Log and count an error answer; count and log what parsing it skipped."""
        if answer is not None and answer.error is not None:
            self.logger.warning("%s answered with an error: %.300r", message, answer.error)
            self.count(stats.ANSWER_ERRORS)
        self.warn_unmatched_markets()
        self.count_skips(skips)
        if skips:
            self.logger.info("Skipped while parsing %s: %s", message, dict(skips))

    def count_skips(self, skips: Counter[str]) -> None:
        for reason, count in skips.items():
            self.count(stats.parse_skipped(reason), count)

    def count(self, key: str, value: int = 1) -> None:
        """Add *value* to the stats *key* (a name of :mod:`kwiff_scrapy.integration.stats`)."""
        stats.increment(self.crawler, key, value)


class KwiffEventItemsSpider(KwiffSpider):
    """A spider that yields events, in the layout of ``-a layout=``:

    - ``nested`` (the default): a :class:`~kwiff_scrapy.model.items.KwiffEvent` each;
    - ``flat`` (or ``-a flat=1``): one :class:`~kwiff_scrapy.model.items.OutcomeRow` per
      outcome; chosen, with an INFO line, when a feed of the crawl is CSV and no layout
      was asked for (``layout=nested`` with a CSV feed is an error);
    - ``match``: one :class:`~kwiff_scrapy.model.match_rows.MatchRow` per event with a
      result market.

    ``-a markets=NAME,NAME``, ``-a within=24h`` or ``-a date=today|YYYY-MM-DD`` (with
    ``-a tz=Europe/London``, default UTC) keep only those markets and events: applied
    as the answer is read (:mod:`.arguments`, :class:`~kwiff_scrapy.model.selection.
    Selection`).

    :meth:`parse_event_get` turns an ``event:get`` answer into the full event. If the
    answer has no usable event, the event's ``event:list`` version is yielded instead
    when the request carries it (``cb_kwargs={"listed": event}``), so that no listed
    event is lost (``kwiff/event_details_fallback``); otherwise the event is reported
    not found (``kwiff/events_not_found``).
    """

    def __init__(
        self,
        *args: Any,
        flat: Any = None,
        layout: str | None = None,
        markets: str | None = None,
        within: str | None = None,
        date: str | None = None,
        tz: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.chosen_layout = arguments.layout(layout, flat)
        self.layout = self.chosen_layout or arguments.NESTED
        self.selection = arguments.selection(markets, within, date, tz, self.chosen_layout)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        try:
            feeds = crawler.settings.getdict("FEEDS")
            spider.layout, note = arguments.feed_layout(spider.chosen_layout, feeds)
        except ValueError as exc:
            report_start_error(cls.name, exc)
            raise
        if note:
            spider.logger.info(note)
        return spider

    @property
    def flat(self) -> bool:
        return self.layout == arguments.FLAT

    def event_items(self, event: KwiffEvent) -> Iterator[EventItem]:
        if self.layout == arguments.FLAT:
            yield from outcome_rows(event)
        elif self.layout == arguments.MATCH:
            row = match_row(event)
            if row is not None:
                yield row
        else:
            yield event

    def parse_event_get(
        self, response: KwiffResponse, listed: KwiffEvent | None = None
    ) -> Iterator[EventItem]:
        event = self.event_detail(response, self.selection)
        if event is not None:
            self.count(stats.EVENT_DETAILS_PARSED)
            yield from self.event_items(event)
        elif listed is not None:
            yield from self.listed_instead(listed, "its event:get answer had no usable event")
        else:
            event_id = response.payload.get("eventId")
            self.logger.warning("Event %s not found: event:get answered no event", event_id)
            self.count(stats.EVENTS_NOT_FOUND)

    def event_get_failed(self, failure: Failure) -> Iterator[EventItem]:
        """Errback of a followed ``event:get``: the listed version replaces the full event."""
        listed = failure.request.cb_kwargs.get("listed")  # type: ignore[attr-defined]
        if listed is not None:
            yield from self.listed_instead(listed, f"its event:get failed ({failure.value!r})")

    def listed_instead(self, listed: KwiffEvent, reason: str) -> Iterator[EventItem]:
        self.logger.warning(
            "Yielding the event:list version of event %s: %s", listed.event_id, reason
        )
        self.count(stats.EVENT_DETAILS_FALLBACK)
        yield from self.event_items(listed)


class KwiffEventListSpider(KwiffEventItemsSpider):
    """Sends ``event:list`` for :attr:`sport_id` and yields one item per event.

    Arguments: ``-a country=XX`` (default: the ``KWIFF_COUNTRY`` setting), ``-a
    details=1`` to follow every listed event with ``event:get`` and yield the full event
    (every market) instead, and those of :class:`KwiffEventItemsSpider` (``layout``,
    ``flat``, ``markets``, ``within``, ``date``, ``tz``).
    """

    sport_id: int
    list_id: str = defaults.LIST_ID

    def __init__(
        self, *args: Any, country: str | None = None, details: Any = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(getattr(self, "sport_id", None), int):
            raise TypeError(f"{type(self).__name__} must set the integer class attribute sport_id")
        self.country = country_code(country) if country else None
        self.details = arguments.boolean(details, "details")

    async def start(self) -> AsyncIterator[KwiffRequest]:
        yield self.event_list_request()

    def event_list_request(self) -> KwiffRequest:
        country = self.country or KwiffSettings.of(self.crawler).country
        payload = {"listId": self.list_id, "sportId": self.sport_id, "country": country}
        return KwiffRequest("event:list", payload, callback=self.parse_event_list)

    def parse_event_list(self, response: KwiffResponse) -> Iterator[EventItem | KwiffRequest]:
        events = self.events_of(response)
        self.count(stats.EVENTS_PARSED, len(events))
        for event in events:
            if self.details:
                yield response.follow_command(
                    "event:get",
                    {"eventId": event.event_id},
                    callback=self.parse_event_get,
                    errback=self.event_get_failed,
                    cb_kwargs={"listed": event},
                )
            else:
                yield from self.event_items(event)
