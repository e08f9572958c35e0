"""kwiff_watch against the moving simulator: every change it reports is one the simulator
made, and every change the simulator made between two polls is reported exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from scrapy.utils.test import get_crawler

from kwiff_scrapy.integration.signals import unsolicited_event
from kwiff_scrapy.model.items import EventChange, OddsChange
from kwiff_scrapy.simulator import SimulatedData

from ..conftest import BASE_SETTINGS, StartSimulator
from ..support.crawl_process import started_crawl, wait_for_text
from ..support.watching import QuickWatchSpider, event_changes, odds_changes, watch

POLLS = 6
AT_REST = SimulatedData().events(11)


def listed_outcomes(items: list[Any]) -> dict[int, dict[int, list[int]]]:
    """Each event's listed markets and their outcome ids: at rest, or as first reported."""
    found: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for event in AT_REST:
        for market in event["details"]["offers"]:
            found[event["id"]][market["id"]] = [o["id"] for o in market["outcomes"]]
    for change in odds_changes(items, "new"):
        if change.event_id not in {e["id"] for e in AT_REST}:
            found[change.event_id][change.market_id].append(change.outcome_id)  # type: ignore[index]
    return found


def expected_changes(log: list[dict[str, Any]], items: list[Any]) -> Counter[tuple[Any, ...]]:
    """The items a list watch must yield for these log entries, as (type, kind, event, outcome)."""
    markets = listed_outcomes(items)
    expected: Counter[tuple[Any, ...]] = Counter()
    for change in log:
        kind, event_id = change["kind"], change["event_id"]
        if kind == "event_new":
            expected["event", "new", event_id, None] += 1
            for outcomes in markets[event_id].values():
                for outcome_id in outcomes:
                    expected["odds", "new", event_id, outcome_id] += 1
        elif kind == "event_removed":
            expected["event", "removed", event_id, None] += 1
            for outcomes in markets[event_id].values():
                for outcome_id in outcomes:
                    expected["odds", "removed", event_id, outcome_id] += 1
        elif kind == "event_status":
            expected["event", "status", event_id, None] += 1
        elif not change["listed"]:
            continue  # a market the list does not show
        elif change["outcome_id"] is not None:
            expected["odds", kind, event_id, change["outcome_id"]] += 1
        else:  # a whole market suspended or resumed
            for outcome_id in markets[event_id][change["market_id"]]:
                expected["odds", kind, event_id, outcome_id] += 1
    return expected


def reported(items: list[Any]) -> Counter[tuple[Any, ...]]:
    found: Counter[tuple[Any, ...]] = Counter()
    for item in items:
        if isinstance(item, OddsChange):
            found["odds", item.kind, item.event_id, item.outcome_id] += 1
        elif isinstance(item, EventChange):
            found["event", item.kind, item.event_id, None] += 1
    return found


async def test_every_change_between_two_polls_is_reported_exactly_once(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(moving=True)
    run = await watch(simulator, polls=POLLS)
    assert run.stat("kwiff/commands_sent") == POLLS
    assert [failed for _, _, failed in run.polls] == [False] * POLLS
    baseline_time = odds_changes(run.items)[0].fetched_at
    later = [item for item in run.items if item.fetched_at != baseline_time]
    log = [change for change in simulator.change_log() if change["answer"] <= POLLS]
    assert len(log) > 3 * POLLS, "the simulator should have moved a lot"
    assert reported(later) == expected_changes(log, run.items)


async def test_moved_odds_carry_the_simulators_prices(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(moving=True)
    run = await watch(simulator, polls=3, baseline="0")
    moved = {change.outcome_id: change for change in odds_changes(run.items, "moved")}
    logged = [
        c
        for c in simulator.change_log()
        if c["kind"] == "moved" and c["listed"] and c["answer"] <= 3
    ]
    assert logged
    for entry in logged:
        change = moved[entry["outcome_id"]]
        assert (change.previous_odds, change.odds) == (entry["odds_before"], entry["odds_after"])
        assert change.change == (entry["odds_after"] - entry["odds_before"]) / entry["odds_before"]
        assert change.previous_fetched_at is not None
        assert change.fetched_at is not None
        assert change.previous_fetched_at < change.fetched_at


async def test_a_silent_poll_is_not_compared_and_the_watch_goes_on(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(moving=True, answer_faults={2: "silent"})
    settings = {"DOWNLOAD_TIMEOUT": 1, "RETRY_TIMES": 0}
    run = await watch(simulator, polls=4, settings=settings)
    assert [failed for _, _, failed in run.polls] == [False, True, False, False]
    assert run.stat("kwiff/watch/failed_polls") == 1
    assert event_changes(run.items, "removed") == []
    baseline_time = odds_changes(run.items)[0].fetched_at
    later = [item for item in run.items if item.fetched_at != baseline_time]
    # The silent answer moved nothing: the three answers that came are steps 0, 1, 2.
    log = [change for change in simulator.change_log() if change["answer"] <= 4]
    assert reported(later) == expected_changes(log, run.items)


async def test_error_and_malformed_answers_are_not_compared(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(moving=True, answer_faults={2: "error", 3: "malformed"})
    run = await watch(simulator, polls=5)
    assert [failed for _, _, failed in run.polls] == [False, True, True, False, False]
    assert run.stat("kwiff/watch/failed_polls") == 2
    assert run.stat("kwiff/answer_errors") == 1
    assert event_changes(run.items, "removed") == []
    baseline_time = odds_changes(run.items)[0].fetched_at
    later = [item for item in run.items if item.fetched_at != baseline_time]
    log = [change for change in simulator.change_log() if change["answer"] <= 5]
    assert reported(later) == expected_changes(log, run.items)


def test_sigterm_leaves_a_complete_json_lines_feed(tmp_path: Path) -> None:
    feed = tmp_path / "changes.jsonl"
    log = tmp_path / "crawl.log"
    arguments = ("-a", "interval=1", "-L", "DEBUG", "-O", str(feed))  # DEBUG: "Scraped from"
    with started_crawl(log, *arguments, spider="kwiff_watch") as crawl:
        wait_for_text(log, "Scraped from")  # the baseline is flowing into the feed
        crawl.send_signal(signal.SIGTERM)
        assert crawl.wait(timeout=60) == 0
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text, text[-3000:]
    assert "Closing spider (shutdown)" in text
    lines = feed.read_text(encoding="utf-8").splitlines()
    changes = [json.loads(line) for line in lines]  # every line is whole
    assert changes
    assert {change["kind"] for change in changes} <= {
        "new",
        "moved",
        "suspended",
        "resumed",
        "removed",
        "status",
    }
    scraped = text.count("Scraped from")
    assert len(changes) == scraped


async def test_a_poll_that_outlasts_the_interval_delays_the_next_and_is_counted(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(moving=True, response_delay=0.3)
    run = await watch(simulator, polls=3, interval=0.2)  # every answer takes longer
    assert run.stat("kwiff/watch/overrun") == 3
    assert run.stat("kwiff/commands_sent") == 3  # never two polls at once
    assert simulator.max_in_flight_seen == 1


class PushedEventsWatch(QuickWatchSpider):
    """Turns the service's opening ``response`` event into an event change."""

    def pushed_event(self, name: str, args: list[Any]) -> list[EventChange]:
        return [EventChange(event_id=1, kind="status", betting_status=name)]


async def test_pushed_events_are_counted_and_a_subclass_turns_them_into_changes() -> None:
    crawler = get_crawler(PushedEventsWatch, {**BASE_SETTINGS, "KWIFF_ENDPOINT": "simulator"})
    crawler._apply_settings()  # the stats collector
    spider = PushedEventsWatch.from_crawler(crawler)
    crawler.signals.send_catch_log(
        signal=unsolicited_event, name="response", args=[{}], endpoint="ws://127.0.0.1:1/"
    )
    deadline = asyncio.get_running_loop().time() + 0.2
    pushed = [change async for change in spider.pushed_until(deadline)]
    assert [(c.event_id, c.kind, c.betting_status) for c in pushed] == [(1, "status", "response")]
    assert crawler.stats is not None
    assert crawler.stats.get_value("kwiff/watch/pushed_events") == 1
    assert crawler.stats.get_value("kwiff/watch/event_changes/status") == 1
