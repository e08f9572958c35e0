"""kwiff_watch with KWIFF_SIGNALS against the moving simulator: signals come out as items,
and replaying the changes the watch yielded through new detectors gives the same signals."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from kwiff_scrapy.integration.signal_settings import load_signal_rules
from kwiff_scrapy.model.changes import Change
from kwiff_scrapy.model.detectors import SignalDetectors
from kwiff_scrapy.model.items import EventChange, OddsChange
from kwiff_scrapy.model.signals import OddsSignal
from kwiff_scrapy.spiders.watch import (
    SIGNALS_STATE_KEY,
    KwiffWatchSpider,
    LocalWatch,
    SharedWatch,
)

from ..conftest import BASE_SETTINGS, StartSimulator
from ..model.signal_feed import Watch, result
from ..support.watching import WatchRun, watch

#: Thresholds low enough for the simulator's random steps over a few polls.
RULES = [
    {"kind": "drop", "change": 0.01, "cooldown": 0},
    {"kind": "drift", "change": 0.01, "cooldown": 0},
    {"kind": "steam", "change": 0.01, "outcomes": 2, "cooldown": 0},
    {"kind": "margin", "points": 0.001, "cooldown": 0},
    {"kind": "suspensions", "count": 1, "cooldown": 0},
]


def in_poll_order(items: list[Any]) -> list[Any]:
    """*items* as the watch yielded them: Scrapy scrapes the items of several answers at
    once, CONCURRENT_ITEMS at a time each, so the polls' items reach ``item_scraped``
    interleaved; each keeps its own order, and a poll's items share its time."""
    return sorted(items, key=lambda item: item.fetched_at or "")


def signals_of(items: list[Any]) -> list[OddsSignal]:
    return in_poll_order([item for item in items if isinstance(item, OddsSignal)])


async def test_the_watch_yields_signals_and_a_replay_of_its_changes_gives_the_same(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(moving=True)
    run = await watch(simulator, polls=6, settings={"KWIFF_SIGNALS": json.dumps(RULES)})

    live = signals_of(run.items)
    assert {signal.kind for signal in live} >= {"drop", "drift", "margin"}
    changes = in_poll_order(
        [item for item in run.items if isinstance(item, OddsChange | EventChange)]
    )
    replay = SignalDetectors(load_signal_rules(RULES))
    assert replay.feed(changes) + replay.flush() == live
    for rule in {signal.rule for signal in live}:
        fired = sum(signal.rule == rule for signal in live)
        assert run.stat(f"kwiff/watch/signals/{rule}") == fired


async def test_a_watch_resumed_from_jobdir_keeps_its_detectors_windows(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    simulator = await start_simulator(moving=True)
    settings = {"JOBDIR": str(tmp_path / "job"), "KWIFF_SIGNALS": json.dumps(RULES)}
    first = await watch(simulator, polls=3, settings=settings)
    resumed = await watch(simulator, polls=3, settings=settings)  # the same JOBDIR

    def changes_of(run: WatchRun) -> list[Change]:
        return in_poll_order(
            [item for item in run.items if isinstance(item, OddsChange | EventChange)]
        )

    before, after = changes_of(first), changes_of(resumed)
    assert before
    assert after
    known = {c.event_id for c in before if isinstance(c, EventChange) and c.kind == "new"}
    again = [c for c in after if isinstance(c, EventChange) and c.kind == "new"]
    assert not [c for c in again if c.event_id in known], "a second baseline"
    # As if never stopped: one run of the detectors over both runs' changes.
    replay = SignalDetectors(load_signal_rules(RULES))
    both = replay.feed(before) + replay.flush() + replay.feed(after) + replay.flush()
    assert signals_of(first.items) + signals_of(resumed.items) == both
    # Some signal after the restart moved from a price seen before it: its window spans
    # the restart, and detectors started afresh would not have fired it.
    restarted_at = min(change.fetched_at or "" for change in after)
    spanning = [
        signal
        for signal in signals_of(resumed.items)
        if (signal.first_seen_at or restarted_at) < restarted_at
    ]
    assert spanning, "no signal's window spanned the restart: the test proves nothing"
    afresh = SignalDetectors(load_signal_rules(RULES))
    without_state = afresh.feed(after) + afresh.flush()
    assert not [signal for signal in spanning if signal in without_state]


async def test_signals_are_off_unless_asked_for(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(moving=True)
    run = await watch(simulator, polls=3)
    assert signals_of(run.items) == []
    assert [item for item in run.items if isinstance(item, OddsChange)]


async def test_an_empty_rule_list_fires_nothing(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(moving=True)
    settings = {"KWIFF_SIGNALS_ENABLED": True, "KWIFF_SIGNALS": "[]"}
    run = await watch(simulator, polls=2, settings=settings)
    assert signals_of(run.items) == []
    assert [item for item in run.items if isinstance(item, OddsChange)]


async def test_a_bad_rule_stops_the_watch_before_it_starts(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(moving=True)
    with pytest.raises(ValueError, match=r"unknown kind 'stem' \(did you mean 'steam'\?\)"):
        await watch(simulator, polls=1, settings={"KWIFF_SIGNALS": '[{"kind": "stem"}]'})
    assert simulator.commands_received == 0


def watch_spider(rules: list[dict[str, Any]]) -> KwiffWatchSpider:
    settings = {**BASE_SETTINGS, "KWIFF_ENDPOINT": "simulator", "KWIFF_SIGNALS": rules}
    spider = KwiffWatchSpider.from_crawler(get_crawler(KwiffWatchSpider, settings))
    spider._watch = LocalWatch(spider)  # what watch() makes once the crawl has an engine
    return spider


def test_the_detectors_live_in_the_spiders_state_and_survive_a_pause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spider = watch_spider(RULES)
    detectors = spider._detectors()
    assert detectors is not None
    assert spider._detectors() is detectors
    assert spider.state[SIGNALS_STATE_KEY] is detectors
    feed = Watch()
    spider.with_signals(feed.poll(0, result(2.0, 3.4, 4.0)))
    saved = pickle.dumps(spider.state)  # what JOBDIR keeps

    resumed = watch_spider(RULES)
    resumed.state = pickle.loads(saved)
    kept = resumed._detectors()
    assert kept is not None
    assert kept.tracked == detectors.tracked
    assert kept.tracked["prices"] == 3

    changed = watch_spider(RULES[:1])
    changed.state = pickle.loads(saved)
    with caplog.at_level(logging.INFO, logger="kwiff_scrapy.spiders.watch"):
        fresh = changed._detectors()
    assert fresh is not None
    assert fresh.tracked["prices"] == 0
    assert "KWIFF_SIGNALS changed since the pause" in caplog.text


def test_a_shared_watch_feeds_no_pushed_change_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A shared watch detects in its commits (tests/distributed): with_signals is left
    # with the changes the server pushed to this worker only.
    spider = watch_spider(RULES)
    spider._watch = SharedWatch.__new__(SharedWatch)  # as a shared scheduler would make it
    changes = Watch().poll(0, result(2.0, 3.4, 4.0))
    with caplog.at_level(logging.WARNING, logger="kwiff_scrapy.spiders.watch"):
        assert spider.with_signals(changes) == changes
        assert spider.with_signals(changes) == changes
    assert caplog.text.count("changes the server pushed are not fed") == 1
