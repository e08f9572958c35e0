"""The watch's checkpoint: ``spider.state`` saved to ``JOBDIR`` after a poll, atomically,
in the format Scrapy's ``SpiderState`` reads back (the killed watch: test_watch_jobdir.py)."""

from __future__ import annotations

import asyncio
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.extensions.spiderstate import SpiderState
from scrapy.utils.test import get_crawler

from kwiff_scrapy import defaults
from kwiff_scrapy.model.changes import EventSnapshot
from kwiff_scrapy.spiders.watch import STATE_KEY, KwiffWatchSpider, WatchState
from kwiff_scrapy.spiders.watch.checkpoint import (
    STATE_FILE,
    Checkpoint,
    checkpoint_every,
    pickled,
    snapshot_of,
    write_atomically,
)

from ..support.waiting import until


def _spider(**settings: Any) -> KwiffWatchSpider:
    return KwiffWatchSpider.from_crawler(get_crawler(KwiffWatchSpider, settings))


async def _until_due(checkpoint: Checkpoint) -> None:
    """Until the checkpoint's interval (a millisecond) has passed on the loop's clock."""
    loop = asyncio.get_running_loop()
    await until(lambda: checkpoint.due(loop.time()), "the interval's end")


def _state(*event_ids: int) -> dict[str, Any]:
    events = {
        event_id: EventSnapshot(event_id, home_team="Arsenal", outcomes={(1, 2): (2.5, "6/4")})  # type: ignore[dict-item]
        for event_id in event_ids
    }
    return {STATE_KEY: WatchState(events=events, baselined=True), "windows": [[1.5, 2.0]]}


@pytest.mark.parametrize(
    ("raw", "seconds"), [(None, defaults.WATCH_CHECKPOINT), ("", 60.0), ("0", 0.0), (2.5, 2.5)]
)
def test_the_setting_is_seconds_and_0_turns_it_off(raw: Any, seconds: float) -> None:
    settings = get_crawler(Spider, {"KWIFF_WATCH_CHECKPOINT": raw}).settings
    assert checkpoint_every(settings) == seconds


@pytest.mark.parametrize("raw", ["-1", "soon", True, "nan", "inf"])
def test_a_bad_setting_says_what_it_takes(raw: Any) -> None:
    with pytest.raises(ValueError, match=r"KWIFF_WATCH_CHECKPOINT must be a number of seconds"):
        _spider(KWIFF_WATCH_CHECKPOINT=raw)


def test_no_checkpoint_without_a_jobdir_or_with_0(tmp_path: Path) -> None:
    assert _spider().checkpoint.path is None
    assert _spider(JOBDIR=str(tmp_path), KWIFF_WATCH_CHECKPOINT=0).checkpoint.path is None
    assert _spider(JOBDIR=str(tmp_path)).checkpoint.path == tmp_path / STATE_FILE


async def test_a_checkpoint_is_what_spider_state_reads_back_at_most_once_an_interval(
    tmp_path: Path,
) -> None:
    spider = _spider(JOBDIR=str(tmp_path), KWIFF_WATCH_CHECKPOINT=0.001)
    # The first poll starts the clock; each poll when the interval has passed saves.
    assert not await spider.checkpoint.after_poll(spider.crawler, _state(1), poll=1)
    await _until_due(spider.checkpoint)
    assert await spider.checkpoint.after_poll(spider.crawler, _state(1, 2), poll=2)
    # The next poll comes well within 60 s: not saved again.
    spider.checkpoint.every = 60
    assert not await spider.checkpoint.after_poll(spider.crawler, _state(1, 2, 3), poll=3)

    restored = Spider("restored")
    SpiderState(str(tmp_path)).spider_opened(restored)
    assert restored.state == _state(1, 2)  # type: ignore[attr-defined]
    assert os.listdir(tmp_path) == [STATE_FILE]  # no temporary left


async def test_the_close_writes_the_last_state_after_a_checkpoint(tmp_path: Path) -> None:
    """Whichever of Scrapy's SpiderState and the checkpoint's close handler runs first, the
    last state is what stays."""
    spider = _spider(JOBDIR=str(tmp_path), KWIFF_WATCH_CHECKPOINT=0.001)
    spider.state = _state(1)
    await spider.checkpoint.after_poll(spider.crawler, spider.state, poll=1)
    await _until_due(spider.checkpoint)
    assert await spider.checkpoint.after_poll(spider.crawler, spider.state, poll=2)
    spider.state = _state(1, 2)
    spider.checkpoint.spider_closed(spider)
    saved = pickle.loads((tmp_path / STATE_FILE).read_bytes())
    assert saved[STATE_KEY].events.keys() == {1, 2}


def test_the_snapshot_is_the_state_when_it_was_taken() -> None:
    """Pickled in a thread later, it is the state of the moment it was taken, not the
    state the watch changed meanwhile (a new event, a window changed in place)."""
    state = _state(1, 2)
    snapshot = snapshot_of(state)
    state[STATE_KEY].events[3] = EventSnapshot(3)
    state["windows"][0].append(3.0)
    assert pickle.loads(pickled(snapshot)) == _state(1, 2)


def test_a_write_that_fails_leaves_the_previous_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / STATE_FILE
    write_atomically(path, b"previous")

    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(path, b"next")
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == [STATE_FILE]


async def test_a_checkpoint_that_cannot_be_written_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "gone"
    checkpoint = Checkpoint(missing, 0.001)
    spider = _spider()
    await checkpoint.after_poll(spider.crawler, _state(1), poll=1)
    await _until_due(checkpoint)
    assert not await checkpoint.after_poll(spider.crawler, _state(1), poll=2)
    assert "Could not save the watch's state" in caplog.text
    assert "check the JOBDIR folder's space and permissions" in caplog.text
