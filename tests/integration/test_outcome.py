"""The crawl's verdict on Kwiff's answers, and Scrapy's download errors in one line."""

from __future__ import annotations

import logging
import sys

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from kwiff_scrapy import KwiffRequest
from kwiff_scrapy.integration import stats
from kwiff_scrapy.integration.outcome import (
    HELD_LINES,
    REFUSED_FLAG,
    RETRY_LOGGER,
    SCRAPER_LOGGER,
    DownloadErrorFilter,
    KwiffAnswersMiddleware,
    offline_hint,
)

COMMAND = KwiffRequest("event:list", {"sportId": 11})


def middleware() -> KwiffAnswersMiddleware:
    return KwiffAnswersMiddleware(get_crawler(settings_dict={"KWIFF_ENDPOINT": "ws://x.test/"}))


def closed(answers: KwiffAnswersMiddleware, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Close the spider and stop the engine; the ERROR lines of the outcome."""
    with caplog.at_level(logging.INFO, logger="kwiff_scrapy.integration.outcome"):
        answers.spider_closed(spider=None, reason="finished")  # type: ignore[arg-type]
        answers.engine_stopped()
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]


def test_no_answer_at_all_is_a_failed_crawl(caplog: pytest.LogCaptureFixture) -> None:
    answers = middleware()
    answers.process_exception(COMMAND, ConnectionRefusedError("could not connect to x"))
    refused = Response(COMMAND.url, status=403, request=COMMAND, flags=[REFUSED_FLAG])
    assert answers.process_response(COMMAND, refused) is refused
    [line] = closed(answers, caplog)
    assert line.startswith("No Kwiff command was answered (2 failed), the last because: ")
    assert "the service refused the handshake (HTTP 403)" in line
    assert line.endswith("(ws://x.test/) and the network; " + offline_hint("ws://x.test/"))
    assert answers.crawler.stats is not None
    assert answers.crawler.stats.get_value(stats.NO_ANSWER) == 1


def test_one_answer_is_enough(caplog: pytest.LogCaptureFixture) -> None:
    answers = middleware()
    answers.process_exception(COMMAND, ConnectionRefusedError("no"))
    answers.process_response(COMMAND, Response(COMMAND.url, status=200, request=COMMAND))
    assert closed(answers, caplog) == []
    assert answers.crawler.stats is not None
    assert answers.crawler.stats.get_value(stats.NO_ANSWER) is None


@pytest.mark.parametrize(
    ("request_", "exception"),
    [
        (COMMAND, IgnoreRequest("robots.txt")),  # not sent: no service to blame
        (Request("https://example.com/"), ConnectionRefusedError("no")),  # not Kwiff
    ],
)
def test_what_is_not_a_kwiff_command_failing_is_not_counted(
    caplog: pytest.LogCaptureFixture, request_: Request, exception: Exception
) -> None:
    answers = middleware()
    answers.process_exception(request_, exception)
    assert closed(answers, caplog) == []


def test_nothing_sent_is_no_failure(caplog: pytest.LogCaptureFixture) -> None:
    assert closed(middleware(), caplog) == []


def test_the_simulator_gets_no_offline_hint() -> None:
    assert offline_hint("simulator") == ""
    assert "KWIFF_ENDPOINT=simulator" in offline_hint("wss://web-api.kwiff.com/socket.io/")


def error_record(request: Request) -> logging.LogRecord:
    try:
        raise ConnectionError("could not connect to ws://x.test/") from OSError("refused")
    except ConnectionError:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "scrapy.core.scraper", logging.ERROR, __file__, 1, "Error downloading %(request)s",
        ({"request": request},), exc_info,
    )  # fmt: skip


def test_a_failed_kwiff_download_is_one_line_with_the_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    record = error_record(COMMAND)
    with caplog.at_level(logging.DEBUG, logger="kwiff_scrapy.integration.outcome"):
        assert DownloadErrorFilter().filter(record)
    assert record.exc_info is None
    assert record.levelno == logging.ERROR
    assert record.getMessage() == f"Error downloading {COMMAND}: could not connect to ws://x.test/"
    [traceback] = [r for r in caplog.records if r.name == "kwiff_scrapy.integration.outcome"]
    assert traceback.levelno == logging.DEBUG
    assert traceback.exc_info is not None


def test_other_download_errors_keep_their_traceback() -> None:
    record = error_record(Request("https://example.com/"))
    assert DownloadErrorFilter().filter(record)
    assert record.exc_info is not None
    assert record.getMessage() == "Error downloading <GET https://example.com/>"


# -- Scrapy's lines about failed commands, held while none is answered -----------------------


def gave_up(request: Request) -> None:
    """What RetryMiddleware logs when it gives up on *request*."""
    logging.getLogger(RETRY_LOGGER).error(
        "Gave up retrying %(request)s (failed %(retry_times)d times): %(reason)s",
        {"request": request, "retry_times": 3, "reason": "could not connect to x"},
    )


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_crawl_without_any_answer_says_so_in_its_last_line_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers = middleware()
    answers.spider_opened(spider=None)  # type: ignore[arg-type]
    with caplog.at_level(logging.DEBUG):
        gave_up(COMMAND)
        logging.getLogger(SCRAPER_LOGGER).error(
            "Error downloading %(request)s", {"request": COMMAND}
        )
        answers.process_exception(COMMAND, ConnectionRefusedError("could not connect to x"))
        assert error_lines(caplog) == []
        answers.spider_closed(spider=None, reason="finished")  # type: ignore[arg-type]
        answers.engine_stopped()
    [last] = error_lines(caplog)
    assert last.startswith("No Kwiff command was answered (1 failed)")
    # What was held is in the DEBUG log, for whoever wants it.
    assert any("Gave up retrying" in r.getMessage() for r in caplog.records)


def test_once_a_command_is_answered_the_failures_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers = middleware()
    answers.spider_opened(spider=None)  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.INFO):
            gave_up(COMMAND)
            assert error_lines(caplog) == []
            answers.process_response(COMMAND, Response("kwiff://x.test/", status=200))
            held = error_lines(caplog)
            assert len(held) == 1
            assert held[0].startswith(f"Gave up retrying {COMMAND}")
            gave_up(COMMAND)  # from now on, at once
            assert len(error_lines(caplog)) == 2
    finally:
        closed(answers, caplog)


def test_other_lines_pass_and_at_most_held_lines_are_held(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers = middleware()
    answers.spider_opened(spider=None)  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.INFO):
            gave_up(Request("https://example.com/"))
            assert len(error_lines(caplog)) == 1
            for _ in range(HELD_LINES + 1):
                gave_up(COMMAND)
            assert len(error_lines(caplog)) == 2
    finally:
        closed(answers, caplog)
