"""A details poll's ``event:get`` commands in groups, one Scrapy request each (``-a group=``).

End to end against the simulator: the same changes as one request per event, and each
command's failure (no answer, an error answer, a malformed one, a lost connection)
handled for that command alone, retried within ``RETRY_TIMES``, never losing the others.
Command numbers in ``answer_faults`` count per connection from 1: a poll of the 5
football events is its ``event:list`` then ``event:get`` 2 to 6, in the listed order.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.request import request_from_dict

from kwiff_scrapy.integration.batch import KwiffBatchRequest
from kwiff_scrapy.simulator import SimulatedData
from kwiff_scrapy.spiders.watch import KwiffWatchSpider, poll_group

from ..conftest import StartSimulator
from ..support.watching import QuickWatchSpider, WatchRun, event_changes, odds_changes, watch

EVENTS = SimulatedData(football_events=5).events(11, "GB")
OUTCOMES = sum(
    len(market["selections"])
    for event in EVENTS
    for market in SimulatedData(football_events=5).event(event["id"])["markets"]
)


def baseline_of(run: WatchRun) -> tuple[set[int], int]:
    """The events reported new, and how many outcomes were."""
    return {c.event_id for c in event_changes(run.items, "new")}, len(odds_changes(run.items))


# -- the argument and the setting ----------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "abc", "", "2.5", None, True])
def test_a_bad_group_is_refused_with_one_clear_line(value: Any) -> None:
    with pytest.raises(ValueError, match=r"group must be a whole number of event:get commands"):
        poll_group(value)


def test_the_group_comes_from_the_argument_then_the_setting_then_the_default() -> None:
    assert KwiffWatchSpider().group == 50
    assert KwiffWatchSpider(group="7").group == 7
    assert poll_group(1) == 1


async def test_the_setting_sets_the_group_and_a_bad_one_says_its_name(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(football_events=5)
    run = await watch(simulator, polls=1, details="1", settings={"KWIFF_WATCH_GROUP": 2})
    assert run.stat("kwiff/batch/requests") == 2  # events 1-2 and 3-4; the 5th alone
    assert run.stat("kwiff/batch/commands") == 4
    given = await watch(
        simulator, polls=1, details="1", group="5", settings={"KWIFF_WATCH_GROUP": 2}
    )
    assert given.stat("kwiff/batch/requests") == 1  # the argument wins over the setting
    with pytest.raises(ValueError, match="KWIFF_WATCH_GROUP must be a whole number"):
        await watch(simulator, polls=1, details="1", settings={"KWIFF_WATCH_GROUP": "x"})


# -- the same watch, fewer requests --------------------------------------------------------


async def test_a_group_yields_what_one_request_per_event_yields(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(football_events=5)
    grouped = await watch(simulator, polls=2, details="1")
    single = await watch(simulator, polls=2, details="1", group="1")
    assert grouped.stat("kwiff/batch/requests") == 2  # one group of 5 per poll
    assert single.stat("kwiff/batch/requests") == 0
    for run in (grouped, single):
        assert run.stat("kwiff/commands_sent") == 2 * (1 + len(EVENTS))
        assert baseline_of(run) == ({event["id"] for event in EVENTS}, OUTCOMES)
        assert [failed for _, _, failed in run.polls] == [False, False]
    # One request for the list and one for the group, per poll.
    assert grouped.stat("downloader/request_count") == 4
    assert single.stat("downloader/request_count") == 2 * (1 + len(EVENTS))


async def test_an_event_that_disappears_is_dropped_from_its_group(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator()
    known = SimulatedData().events(11, "GB")[0]["id"]
    run = await watch(simulator, polls=3, events=f"{known},1", group="2")
    assert run.stat("kwiff/batch/requests") == 1  # the first poll: both; then the known one
    assert run.stat("kwiff/commands_sent") == 4
    assert [failed for _, _, failed in run.polls] == [False, False, False]
    assert event_changes(run.items, "removed") == []  # never seen: nothing to remove


# -- a command that fails, alone -----------------------------------------------------------


async def test_a_command_without_an_answer_is_retried_alone_and_the_poll_holds(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(football_events=5, answer_faults={3: "silent"})
    settings = {"DOWNLOAD_TIMEOUT": 0.5, "RETRY_TIMES": 1}
    run = await watch(simulator, polls=2, details="1", settings=settings)
    assert [failed for _, _, failed in run.polls] == [False, False]
    assert run.stat("kwiff/batch/commands_failed") == 1
    assert run.stat("retry/count") == 1
    assert run.stat("kwiff/batch/commands") == 2 * len(EVENTS) + 1  # the retry: one command
    assert baseline_of(run) == ({event["id"] for event in EVENTS}, OUTCOMES)


async def test_a_command_still_unanswered_after_retries_fails_the_poll_and_only_itself(
    start_simulator: StartSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    simulator = await start_simulator(football_events=5, answer_faults={3: "silent"})
    settings = {"DOWNLOAD_TIMEOUT": 0.5, "RETRY_TIMES": 0}
    with caplog.at_level(logging.WARNING):
        run = await watch(simulator, polls=2, details="1", settings=settings)
    assert [failed for _, _, failed in run.polls] == [True, False]
    assert run.stat("kwiff/watch/failed_polls") == 1
    assert run.stat("kwiff/batch/commands_failed") == 1
    silent = EVENTS[1]["id"]
    failures = [r.getMessage() for r in caplog.records if "failed: " in r.getMessage()]
    assert len(failures) == 1
    assert f"event:get {{'eventId': {silent}}} failed" in failures[0]
    assert "within 0.5 s" in failures[0]
    # The other four events of the first poll were compared; the silent one the next time.
    first = [c.event_id for c in event_changes(run.items, "new")]
    assert sorted(first) == sorted(event["id"] for event in EVENTS)
    assert first[-1] == silent
    assert event_changes(run.items, "removed") == []


@pytest.mark.parametrize("fault", ["error", "malformed"])
async def test_an_error_or_malformed_answer_fails_the_poll_not_the_other_events(
    start_simulator: StartSimulator, fault: str
) -> None:
    simulator = await start_simulator(football_events=5, answer_faults={3: fault})
    run = await watch(simulator, polls=2, details="1")
    assert [failed for _, _, failed in run.polls] == [True, False]
    assert run.stat("kwiff/answer_errors") == (1 if fault == "error" else 0)
    assert run.stat("kwiff/batch/commands_failed") == 0  # answered: nothing to retry
    assert run.stat("retry/count") == 0
    assert baseline_of(run) == ({event["id"] for event in EVENTS}, OUTCOMES)
    assert event_changes(run.items, "removed") == []


async def test_a_lost_connection_retries_the_unanswered_commands_and_no_change_is_spurious(
    start_simulator: StartSimulator,
) -> None:
    # The 4th command aborts the connection: 4 to 6 are lost, and 2 and 3 too unless
    # their answers left before the abort (the server's answers race it).
    simulator = await start_simulator(football_events=5, drop_after=4, faulty_connections=1)
    run = await watch(simulator, polls=3, details="1")
    assert run.stat("kwiff/connections_opened") == 2
    assert [failed for _, _, failed in run.polls] == [False, False, False]
    assert 3 <= run.stat("kwiff/batch/commands_failed") <= 5
    assert run.stat("retry/count") == 1  # one request for those lost
    assert baseline_of(run) == ({event["id"] for event in EVENTS}, OUTCOMES)
    assert len(run.items) == len(EVENTS) + OUTCOMES  # the baseline, nothing else


async def test_a_group_with_no_answer_at_all_is_one_error_retried_whole(
    start_simulator: StartSimulator,
) -> None:
    # The 2nd command (the group's first) aborts the connection: no command is answered.
    simulator = await start_simulator(football_events=5, drop_after=2, faulty_connections=1)
    run = await watch(simulator, polls=2, details="1")
    assert [failed for _, _, failed in run.polls] == [False, False]
    assert run.stat("retry/count") == 1
    assert run.stat("retry/reason_count/scrapy.exceptions.DownloadFailedError") == 1
    assert baseline_of(run) == ({event["id"] for event in EVENTS}, OUTCOMES)


# -- pause and resume ----------------------------------------------------------------------


def test_a_group_request_survives_the_jobdir_queue() -> None:
    spider = QuickWatchSpider(details="1")
    request = spider.command_group(
        "event:get", [{"eventId": 2}, {"eventId": 1}], spider.parse_poll_events, {"x": 1}
    )
    restored = request_from_dict(request.to_dict(spider=spider), spider=spider)
    assert isinstance(restored, KwiffBatchRequest)
    assert (restored.message, restored.payloads, restored.url) == (
        "event:get",
        [{"eventId": 2}, {"eventId": 1}],
        request.url,
    )
    assert restored.callback == spider.parse_poll_events
    assert restored.errback == spider.poll_failed
    assert restored.meta["x"] == 1


async def test_a_resumed_details_watch_reports_only_what_changed(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    simulator = await start_simulator(football_events=5)
    job = {"JOBDIR": str(tmp_path / "job")}
    first = await watch(simulator, polls=1, details="1", settings=job)
    assert baseline_of(first) == ({event["id"] for event in EVENTS}, OUTCOMES)
    resumed = await watch(simulator, polls=2, details="1", settings=job)
    assert resumed.items == []
    assert resumed.stat("kwiff/batch/requests") == 2


async def test_a_group_that_fails_whole_after_retries_fails_the_poll_and_logs_each_command(
    start_simulator: StartSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    simulator = await start_simulator(football_events=5, drop_after=2, faulty_connections=1)
    with caplog.at_level(logging.WARNING):
        run = await watch(simulator, polls=2, details="1", settings={"RETRY_TIMES": 0})
    assert [failed for _, _, failed in run.polls] == [True, False]
    failures = [r.getMessage() for r in caplog.records if "failed: " in r.getMessage()]
    assert [f"event:get {{'eventId': {event['id']}}}" for event in EVENTS] == [
        failure.partition(" failed: ")[0] for failure in failures
    ]
    assert baseline_of(run) == ({event["id"] for event in EVENTS}, OUTCOMES)  # the next poll
    assert event_changes(run.items, "removed") == []
