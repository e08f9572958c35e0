"""A crawl that cannot start because of a bad spider argument: one clear line, no traceback.

``scrapy crawl`` builds the spider inside an asyncio task
(``AsyncCrawlerRunner._crawl_and_track``). An exception there makes Scrapy exit with
status 1, but the task's exception is never retrieved, so asyncio logs it when the
task is collected: ``Task exception was never retrieved`` and a traceback through
Scrapy's internals, which hide the one line that matters. :func:`report_start_error`
logs that line and marks the exception of the current task as seen.

The exception still propagates: ``scrapy crawl`` exits with status 1, and code that
awaits the crawl (``await runner.crawl(...)``) still gets it.
"""

from __future__ import annotations

import asyncio
import logging


def report_start_error(logger_name: str, error: BaseException) -> None:
    """Log *error* as the reason the crawl cannot start; no traceback for it from asyncio.

    Call it where the error is caught, then re-raise. Outside an asyncio task (the
    Twisted-based ``CrawlerProcess`` of ``FORCE_CRAWLER_PROCESS``) only the line is
    logged, and Twisted may still print its own report.
    """
    logging.getLogger(logger_name).error("Cannot start the crawl: %s", error)
    task = _current_task()
    if task is not None:
        task.add_done_callback(_retrieve_exception)


def _current_task() -> asyncio.Task[object] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running event loop
        return None


def _retrieve_exception(task: asyncio.Task[object]) -> None:
    """Mark the task's exception as retrieved: asyncio then does not log it again."""
    if not task.cancelled():
        task.exception()
