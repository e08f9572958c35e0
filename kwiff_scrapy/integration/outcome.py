"""Whether a crawl got any answer from Kwiff, said in one line when it got none.

A crawl whose every command failed (no server, a refused handshake, no answer in time)
used to end like a good one: "finished", an empty feed, exit status 0, and above it a
traceback of three chained exceptions for each failed command. Here:

- :class:`KwiffAnswersMiddleware` (a downloader middleware the add-on enables, outside
  ``RetryMiddleware`` so that it sees each command's last outcome) counts the commands
  answered and not. If none was answered, it sets :data:`~kwiff_scrapy.integration.
  stats.NO_ANSWER` when the spider closes, and ends the log with one ERROR line: the
  last cause and what to do; ``scrapy crawl`` in this project then exits with status 1
  (:mod:`kwiff_scrapy.commands.crawl`).
- :class:`DownloadErrorFilter` turns Scrapy's "Error downloading <request>" of a Kwiff
  command into one line with the cause; the traceback goes to ``DEBUG``.
- :class:`FailedCommandLines` holds Scrapy's lines about failed Kwiff commands ("Gave up
  retrying", "Error downloading") until a command is answered: a crawl that gets no
  answer at all says so in its last line alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from .. import defaults
from . import stats
from .config import KwiffSettings
from .http import SCHEME

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

#: The logger of Scrapy's "Error downloading <request>" (``scrapy.core.scraper``).
SCRAPER_LOGGER = "scrapy.core.scraper"
#: The logger of Scrapy's "Gave up retrying <request>" (``RetryMiddleware``).
RETRY_LOGGER = "scrapy.downloadermiddlewares.retry"
#: The most lines about failed commands held while none is answered; later ones pass.
HELD_LINES = 100
#: The attribute of a held record logged after all.
_RELEASED = "kwiff_released"
#: Flag of the response the handler makes of a refused handshake.
REFUSED_FLAG = "kwiff_handshake_refused"
ANSWERED_STATUS = 200


def offline_hint(endpoint: str) -> str:
    """What to try when *endpoint* gave no answer ("" if it is the simulator already)."""
    if endpoint == defaults.SIMULATOR_ENDPOINT:
        return ""
    return "offline, try -s KWIFF_ENDPOINT=simulator"


def is_kwiff_request(request: Request) -> bool:
    return urlparse_cached(request).scheme == SCHEME


class KwiffAnswersMiddleware:
    """Counts the Kwiff commands answered and not; says so once if none was answered."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.answered = 0
        self.unanswered = 0
        self.last_cause = ""
        self.error_filter = DownloadErrorFilter()
        self.failed_lines = FailedCommandLines()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(middleware.engine_stopped, signal=signals.engine_stopped)
        return middleware

    def spider_opened(self, spider: Spider) -> None:
        scraper = logging.getLogger(SCRAPER_LOGGER)
        scraper.addFilter(self.error_filter)  # first: the line is rewritten, then held
        scraper.addFilter(self.failed_lines)
        logging.getLogger(RETRY_LOGGER).addFilter(self.failed_lines)

    def process_response(self, request: Request, response: Response) -> Response:
        if is_kwiff_request(request):
            if response.status == ANSWERED_STATUS:
                self.answered += 1
                if self.failed_lines.holding:
                    self.failed_lines.release()
            elif REFUSED_FLAG in response.flags:
                self.unanswered += 1
                self.last_cause = f"the service refused the handshake (HTTP {response.status})"
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if is_kwiff_request(request) and not isinstance(exception, IgnoreRequest):
            self.unanswered += 1
            self.last_cause = str(exception) or type(exception).__name__

    @property
    def got_no_answer(self) -> bool:
        return self.unanswered > 0 and self.answered == 0

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Set the stat before Scrapy dumps the stats."""
        scraper = logging.getLogger(SCRAPER_LOGGER)
        scraper.removeFilter(self.error_filter)
        scraper.removeFilter(self.failed_lines)
        logging.getLogger(RETRY_LOGGER).removeFilter(self.failed_lines)
        if self.got_no_answer:
            stats.increment(self.crawler, stats.NO_ANSWER)
            self.failed_lines.drop()
        else:
            self.failed_lines.release()

    def engine_stopped(self) -> None:
        """The crawl's last line, after the stats and "Spider closed"."""
        if not self.got_no_answer:
            return
        endpoint = KwiffSettings.of(self.crawler).endpoint
        hint = offline_hint(endpoint) or "the messages above say more"
        logger.error(
            "No Kwiff command was answered (%d failed), the last because: %s. "
            "Check KWIFF_ENDPOINT (%s) and the network; %s",
            self.unanswered,
            self.last_cause,
            endpoint,
            hint,
        )


class DownloadErrorFilter(logging.Filter):
    """Scrapy's "Error downloading <request>" of a Kwiff command, as one line with the cause.

    Scrapy logs a failed download at ``ERROR`` with its traceback: for a Kwiff command,
    three chained exceptions (the socket's, the connection's, Scrapy's) whose last line
    says it all. The record keeps its level and message with the cause added; the
    traceback is logged at ``DEBUG`` by :data:`logger`. Other records pass unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = _request_of(record)
        if request is None or not record.exc_info or not is_kwiff_request(request):
            return True
        error = record.exc_info[1]
        logger.debug("Traceback of the failed %s", request, exc_info=record.exc_info)
        record.msg = f"{record.msg}: %(kwiff_cause)s"
        record.args = {**record.args, "kwiff_cause": str(error) or type(error).__name__}  # type: ignore[dict-item]
        record.exc_info = None
        record.exc_text = None
        return True


class FailedCommandLines(logging.Filter):
    """Scrapy's lines about failed Kwiff commands, held while no command is answered.

    A crawl that gets no answer at all ends with one line saying what happened and what
    to do (:class:`KwiffAnswersMiddleware`); Scrapy's "Gave up retrying" and "Error
    downloading" of each command would say it again, twice, above it. So they are held
    until a command is answered (then logged, with their own times: the crawl works in
    part) or the crawl ends: logged if a command was answered, at ``DEBUG`` if none was.
    At most :data:`HELD_LINES` are held; later ones pass, as do other records.
    """

    def __init__(self) -> None:
        super().__init__()
        self.held: list[logging.LogRecord] = []
        self.holding = True

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.holding or getattr(record, _RELEASED, False):
            return True
        request = _request_of(record)
        if request is None or not is_kwiff_request(request) or len(self.held) >= HELD_LINES:
            return True
        self.held.append(record)
        return False

    def release(self) -> None:
        """Log the lines held, and hold no more."""
        self.holding = False
        held, self.held = self.held, []
        for record in held:
            setattr(record, _RELEASED, True)
            logging.getLogger(record.name).handle(record)

    def drop(self) -> None:
        """No command was answered: the crawl's last line says it; these go to ``DEBUG``."""
        self.holding = False
        held, self.held = self.held, []
        for record in held:
            logger.debug("%s (the last line says why)", record.getMessage())


def _request_of(record: logging.LogRecord) -> Request | None:
    args: Any = record.args
    if not isinstance(args, Mapping):
        return None
    request = args.get("request")
    return request if isinstance(request, Request) else None
