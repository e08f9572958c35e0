"""The odds history pipeline: every price the crawl yields, stored when it changes.

The add-on enables :class:`KwiffHistoryPipeline` when ``KWIFF_HISTORY_URI`` is set
(``sqlite:///odds.sqlite`` or ``postgresql://user@host/db``). It records the prices
of ``KwiffEvent``, ``OutcomeRow``, ``OddsChange`` and ``PricedGroup`` items, the
event fields (and state over time) of ``EventChange`` items, and ``OddsSignal`` items
(:mod:`kwiff_scrapy.history.records`), and passes every item on unchanged.

``process_item`` only turns the item into records and buffers them: the database is
written from a thread of its own, one transaction per batch
(:mod:`kwiff_scrapy.history.writer`), so a slow or absent database never slows the
crawl or its feeds. Only changed prices are written
(:mod:`kwiff_scrapy.history.store`). Everything buffered is written when the spider
closes.

A URI that cannot be opened stops the crawl at its start with one line saying why.
A database that goes away later: the error is logged and counted
(``kwiff/history/errors``), the batch is tried again later, and prices that
overflow the buffer (``KWIFF_HISTORY_BUFFER_SIZE``), or are still unwritten when the
close timeout runs out, are counted as ``kwiff/history/dropped``. A lost connection is
replaced at the next batch: unnoticed between batches; inside a batch's transaction,
that batch fails whole (one error) and is written again on the new connection.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from ..history.config import URI_SETTING, HistorySettings
from ..history.errors import HistoryError, require_sqlalchemy
from ..history.records import observe
from ..integration import stats
from ..integration.startup import report_start_error

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from ..history.retention import Deleted
    from ..history.store import HistoryStore, WriteResult

logger = logging.getLogger(__name__)


class KwiffHistoryPipeline:
    """Stores the prices of the crawl's items in the odds history database.

    Settings: every ``KWIFF_HISTORY_*`` setting, read once into :class:`HistorySettings`.
    """

    def __init__(self, crawler: Crawler, config: HistorySettings, store: HistoryStore) -> None:
        from ..history.writer import HistoryWriter

        self.crawler = crawler
        self.config = config
        self.writer = HistoryWriter(store, self, config.limits)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KwiffHistoryPipeline:
        try:
            config = HistorySettings.from_settings(crawler.settings)
            if config.uri is None:
                raise NotConfigured(f"{URI_SETTING} is not set")
            store = _store(config.uri)
            # At the crawl's start, before anything is sent: a database that cannot be
            # used stops the crawl here, with one line.
            version = store.open()
        except (ValueError, HistoryError) as exc:
            report_start_error(__name__, ValueError(f"{URI_SETTING}: {exc}"))
            raise
        logger.info(
            "Odds history to %s (schema version %d): changed prices only, in batches of "
            "up to %d prices or %g s",
            store.description,
            version,
            config.limits.batch_size,
            config.limits.flush_interval,
        )
        return cls(crawler, config, store)

    # -- Scrapy's pipeline methods ----------------------------------------------------

    async def open_spider(self) -> None:
        self.writer.start()

    def process_item(self, item: Any) -> Any:
        seen = observe(item)
        if seen is not None:
            if seen.skipped:
                self._count(stats.HISTORY_PRICES_SKIPPED, seen.skipped)
            if not seen.empty:
                self.writer.add(seen)
        return item

    async def settle(self) -> None:
        """Return once every price handed to the pipeline so far is written or dropped
        (see :meth:`HistoryWriter.settle`)."""
        await self.writer.settle()

    async def close_spider(self) -> None:
        await self.writer.close()
        logger.info(
            "Odds history: %d price rows written, %d unchanged prices skipped",
            self._stat(stats.HISTORY_PRICES_WRITTEN),
            self._stat(stats.HISTORY_PRICES_UNCHANGED),
        )

    # -- what the writer reports (WriterEvents) ---------------------------------------

    def batch_written(self, result: WriteResult) -> None:
        self._count(stats.HISTORY_PRICES_WRITTEN, result.written)
        self._count(stats.HISTORY_PRICES_UNCHANGED, result.unchanged)
        self._count(stats.HISTORY_SIGNALS_WRITTEN, result.signals_written)
        if result.transaction:
            self._count(stats.HISTORY_BATCHES)

    def write_failed(self, error: BaseException) -> None:
        self._count(stats.HISTORY_ERRORS)

    def dropped(self, prices: int) -> None:
        self._count(stats.HISTORY_DROPPED, prices)

    def deleted(self, rows: Deleted) -> None:
        self._count(stats.HISTORY_PRICES_DELETED, rows.prices)
        self._count(stats.HISTORY_EVENTS_DELETED, rows.events)

    def _count(self, key: str, count: int = 1) -> None:
        if count:
            stats.increment(self.crawler, key, count)

    def _stat(self, key: str) -> int:
        value = self.crawler.stats.get_value(key, 0) if self.crawler.stats else 0
        return int(value)


def _store(uri: str) -> HistoryStore:
    """The store of *uri*; ``HistoryError`` or ``ValueError`` (one line) if it cannot be."""
    require_sqlalchemy()
    from ..history.schema import check_driver, database_url
    from ..history.store import HistoryStore

    url = database_url(uri)
    check_driver(url)
    return HistoryStore(url)
