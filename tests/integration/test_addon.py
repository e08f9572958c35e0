"""What the add-on sets up besides the handler: quiet ``websockets`` loggers, keeping a
level the user chose; the CSV exporter, keeping the project's own."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from kwiff_scrapy.integration.addon import CSV_EXPORTER_PATH
from kwiff_scrapy.simulator import KwiffSimulator
from kwiff_scrapy.spiders.event import KwiffEventSpider

from ..conftest import crawl
from ..support.crawl_process import assert_clean_run, run_crawl

EVENT_ID = 10744160


@pytest.fixture
def websockets_logger() -> Iterator[logging.Logger]:
    """The ``websockets`` logger without a level of its own, as in a new process; restored after."""
    logger = logging.getLogger("websockets")
    saved = logger.level
    logger.setLevel(logging.NOTSET)
    yield logger
    logger.setLevel(saved)


def websockets_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name.split(".")[0] == "websockets" and r.levelno == level
    ]


async def test_websockets_frames_are_not_logged_at_debug(
    simulator: KwiffSimulator,
    websockets_logger: logging.Logger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # Scrapy's default LOG_LEVEL
    settings = {"KWIFF_ENDPOINT": simulator.url, "LOG_LEVEL": "DEBUG"}
    result = await crawl(KwiffEventSpider, settings, ids=str(EVENT_ID))
    assert len(result.items) == 1
    assert websockets_logger.level == logging.INFO
    assert websockets_records(caplog, logging.DEBUG) == []
    assert websockets_records(caplog, logging.INFO)  # "connection open" and the like still are
    # The crawl's own debug messages are not affected.
    assert any(r.name.startswith("kwiff_scrapy.") for r in caplog.records if r.levelno == 10)


async def test_a_level_the_user_set_for_websockets_is_kept(
    simulator: KwiffSimulator,
    websockets_logger: logging.Logger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    websockets_logger.setLevel(logging.DEBUG)  # e.g. in the project's settings.py
    result = await crawl(KwiffEventSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=str(EVENT_ID))
    assert len(result.items) == 1
    assert websockets_logger.level == logging.DEBUG
    frames = [r.getMessage() for r in websockets_records(caplog, logging.DEBUG)]
    assert any(message.startswith("> GET /socket.io/") for message in frames), frames


@pytest.mark.slow
def test_scrapy_crawl_at_debug_level_logs_no_websockets_frames(tmp_path: Path) -> None:
    result = run_crawl("-L", "DEBUG", "-O", str(tmp_path / "events.json"))
    assert_clean_run(result)
    assert "[scrapy.core.engine] DEBUG: Crawled (200)" in result.stderr  # the level is DEBUG
    frames = [line for line in result.stderr.splitlines() if "[websockets." in line]
    assert not [line for line in frames if "] DEBUG: " in line], frames


def test_a_level_set_for_one_websockets_logger_applies_to_it() -> None:
    client = logging.getLogger("websockets.client")
    parent = logging.getLogger("websockets")
    saved = client.level, parent.level
    try:
        client.setLevel(logging.DEBUG)
        parent.setLevel(logging.NOTSET)
        get_crawler(settings_dict={"ADDONS": {"kwiff_scrapy.Addon": 300}})._apply_settings()
        assert parent.level == logging.INFO
        assert client.isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("websockets.server").isEnabledFor(logging.DEBUG)
    finally:
        client.setLevel(saved[0])
        parent.setLevel(saved[1])


def test_csv_feeds_get_the_spreadsheet_exporter_unless_the_project_has_its_own() -> None:
    addon = {"ADDONS": {"kwiff_scrapy.Addon": 300}}
    exporters = get_crawler(settings_dict=addon).settings.getdict("FEED_EXPORTERS")
    assert exporters["csv"] == CSV_EXPORTER_PATH
    own = {**addon, "FEED_EXPORTERS": {"csv": "myproject.exporters.Csv"}}
    exporters = get_crawler(settings_dict=own).settings.getdict("FEED_EXPORTERS")
    assert exporters["csv"] == "myproject.exporters.Csv"
