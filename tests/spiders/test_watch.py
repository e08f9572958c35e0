"""kwiff_watch against the simulator: polls, baseline, failures, JOBDIR."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from scrapy.crawler import AsyncCrawlerRunner

from kwiff_scrapy.integration.signals import poll_finished
from kwiff_scrapy.simulator import SimulatedData
from kwiff_scrapy.spiders.watch import KwiffWatchSpider, poll_interval

from ..conftest import BASE_SETTINGS, StartSimulator
from ..support.crawl_process import assert_fails_at_start, run_crawl
from ..support.watching import QuickWatchSpider, event_changes, odds_changes, watch

#: A simulator whose data does not move: every answer is the first one.
STILL: dict[str, Any] = {}
DATA = SimulatedData()
LISTED = DATA.events(11, "GB")
LISTED_OUTCOMES = sum(
    len(market["outcomes"]) for event in LISTED for market in event["details"]["offers"]
)


# -- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0.5", "abc", "", "nan", "inf", "-3", None])
def test_a_bad_interval_is_refused_with_one_clear_line(value: Any) -> None:
    with pytest.raises(ValueError, match=r"interval must be a number of seconds, at least 1"):
        poll_interval(value)


def test_intervals_of_a_second_or_more_are_accepted() -> None:
    assert poll_interval("1") == 1.0
    assert poll_interval(2.5) == 2.5


def test_spider_arguments_are_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="events must be positive numeric event ids"):
        KwiffWatchSpider(events="abc")
    with pytest.raises(ValueError, match="unknown sport"):
        KwiffWatchSpider(sport="tennis")
    with pytest.raises(ValueError, match="country"):
        KwiffWatchSpider(country="United")
    spider = KwiffWatchSpider(sport="basketball", country="ie", interval="5", details="1")
    assert (spider.sport_id, spider.country, spider.interval, spider.details) == (36, "IE", 5, True)
    assert spider.baseline is True
    assert KwiffWatchSpider(baseline="0").baseline is False


# -- the baseline and steady polls ---------------------------------------------------------


async def test_the_first_poll_is_the_baseline_then_unchanged_data_yields_nothing(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(**STILL)
    run = await watch(simulator, polls=3)
    assert [(number, failed) for number, _, failed in run.polls] == [
        (1, False),
        (2, False),
        (3, False),
    ]
    assert run.polls[0][1] == len(LISTED) + LISTED_OUTCOMES
    assert [changes for _, changes, _ in run.polls[1:]] == [0, 0]
    assert len(event_changes(run.items, "new")) == len(LISTED)
    assert len(odds_changes(run.items, "new")) == LISTED_OUTCOMES
    assert len(run.items) == len(LISTED) + LISTED_OUTCOMES
    assert run.stat("kwiff/watch/polls") == 3
    assert run.stat("kwiff/watch/changes/new") == LISTED_OUTCOMES
    assert run.stat("kwiff/watch/event_changes/new") == len(LISTED)
    assert run.stat("kwiff/watch/failed_polls") == 0
    assert run.stat("kwiff/commands_sent") == 3  # one event:list per poll
    first = odds_changes(run.items)[0]
    raw = LISTED[0]
    offer = raw["details"]["offers"][0]
    assert (first.event_id, first.home_team, first.market_name) == (
        raw["id"],
        raw["homeTeam"]["name"],
        offer["name"],
    )
    assert (first.odds, first.previous_odds, first.change) == (
        offer["outcomes"][0]["odds"],
        None,
        None,
    )


async def test_baseline_0_yields_nothing_for_the_first_poll(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(**STILL)
    run = await watch(simulator, polls=2, baseline="0")
    assert run.items == []
    assert [changes for _, changes, _ in run.polls] == [0, 0]


async def test_events_argument_polls_those_events_with_event_get(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(**STILL)
    ids = [LISTED[3]["id"], LISTED[7]["id"]]
    run = await watch(simulator, polls=2, events=",".join(map(str, ids)))
    assert sorted(change.event_id for change in event_changes(run.items, "new")) == sorted(ids)
    detail_outcomes = sum(
        len(market["selections"]) for event_id in ids for market in DATA.event(event_id)["markets"]
    )
    assert len(odds_changes(run.items, "new")) == detail_outcomes
    assert run.stat("kwiff/commands_sent") == 4  # two event:get per poll


async def test_an_event_the_service_does_not_know_is_dropped_from_the_watch(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(**STILL)
    run = await watch(simulator, polls=3, events=f"{LISTED[0]['id']},1")
    assert run.stat("kwiff/commands_sent") == 4  # 2 in the first poll, then only the known one
    assert event_changes(run.items, "removed") == []  # never seen: nothing to remove


async def test_details_polls_the_list_then_every_listed_event(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(**STILL, football_events=5)
    run = await watch(simulator, polls=2, details="1")
    events = SimulatedData(football_events=5).events(11, "GB")
    assert run.stat("kwiff/commands_sent") == 2 * (1 + len(events))
    assert sorted(c.event_id for c in event_changes(run.items, "new")) == sorted(
        e["id"] for e in events
    )
    expected = sum(
        len(m["selections"])
        for e in events
        for m in SimulatedData(football_events=5).event(e["id"])["markets"]
    )
    assert len(odds_changes(run.items, "new")) == expected
    assert [changes for _, changes, _ in run.polls][1:] == [0]


# -- failures: never a spurious change -----------------------------------------------------


async def test_a_dropped_connection_costs_no_spurious_change(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(**STILL, drop_after=2, faulty_connections=1)
    run = await watch(simulator, polls=3)
    assert run.stat("kwiff/connections_opened") == 2
    assert len(run.items) == len(LISTED) + LISTED_OUTCOMES  # the baseline, nothing else
    assert run.stat("kwiff/watch/failed_polls") == 0  # the retry answered the poll


async def test_a_poll_that_fails_after_retries_is_counted_and_not_compared(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(**STILL, drop_after=2, faulty_connections=2)
    run = await watch(simulator, polls=3, settings={"RETRY_TIMES": 0})
    assert [failed for _, _, failed in run.polls] == [False, True, False]
    assert run.stat("kwiff/watch/failed_polls") == 1
    assert len(run.items) == len(LISTED) + LISTED_OUTCOMES  # no event reported removed


# -- pause and resume ----------------------------------------------------------------------


async def test_a_resumed_watch_reports_only_what_changed_and_no_baseline_again(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    simulator = await start_simulator(**STILL)
    job = {"JOBDIR": str(tmp_path / "job")}
    first = await watch(simulator, polls=1, settings=job)
    assert len(first.items) == len(LISTED) + LISTED_OUTCOMES
    resumed = await watch(simulator, polls=2, settings=job)
    assert resumed.items == []
    assert resumed.stat("kwiff/watch/polls") == 2


async def test_without_the_shared_scheduler_the_watch_is_local(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(**STILL)
    kinds: list[str] = []

    class Recording(QuickWatchSpider):
        async def start(self):  # type: ignore[no-untyped-def]
            kinds.append(type(self.watch()).__name__)
            async for item in super().start():
                yield item

    runner = AsyncCrawlerRunner({**BASE_SETTINGS, "KWIFF_ENDPOINT": simulator.url})
    crawler = runner.create_crawler(Recording)

    closing: list[asyncio.Task[None]] = []

    def finished(poll: int, changes: int, failed: bool) -> None:
        assert crawler.engine is not None
        closing.append(asyncio.create_task(crawler.engine.close_spider_async(reason="done")))

    crawler.signals.connect(finished, signal=poll_finished)
    await runner.crawl(crawler, interval=0.2)
    await asyncio.gather(*closing)
    assert kinds == ["LocalWatch"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("KWIFF_SIGNALS=1", "KWIFF_SIGNALS must be a JSON list of rules"),
        ("KWIFF_WATCH_BLIND_AFTER=three", "KWIFF_WATCH_BLIND_AFTER must be a whole number"),
    ],
)
def test_scrapy_crawl_refuses_a_bad_watch_setting_in_one_line(
    tmp_path: Path, setting: str, message: str
) -> None:
    output = tmp_path / "changes.jsonl"
    result = run_crawl("-s", setting, "-O", str(output), spider="kwiff_watch")
    assert_fails_at_start(result, message, output)
