"""The watch's journal: the prices reported since the last checkpoint, applied at resume.

Without it, a watch killed after reporting a move and resumed when the outcome is back at
its checkpoint's price compares equal and never reports the move back (the feed and the
history keep the price it had moved to).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import pickle
import shutil
import sqlite3
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from scrapy.utils.test import get_crawler

from kwiff_scrapy.model.changes import EventSnapshot, PricePoint
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData
from kwiff_scrapy.spiders.watch import STATE_KEY, KwiffWatchSpider, WatchState
from kwiff_scrapy.spiders.watch.checkpoint import STATE_FILE
from kwiff_scrapy.spiders.watch.journal import JOURNAL_FILE, EventDelta, Journal, apply

from ..support.waiting import until
from ..support.watching import odds_changes, watch
from ..support.webhook_server import Reply, WebhookServer

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

SPORT = 11


class OneMovingPrice(SimulatedData):
    """The still data, but the first outcome of the first listed event has ``odds``."""

    def __init__(self) -> None:
        super().__init__()
        self.odds: float | None = None

    def first_outcome(self) -> dict[str, Any]:
        return dict(super().events(SPORT)[0]["details"]["offers"][0]["outcomes"][0])

    def events(self, sport_id: int, country: str = "GB") -> list[dict[str, Any]]:
        events = super().events(sport_id, country)
        if self.odds is None or sport_id != SPORT:
            return events
        first = copy.deepcopy(events[0])
        outcome = first["details"]["offers"][0]["outcomes"][0]
        outcome["odds"], outcome["fractional"] = self.odds, None
        return [first, *events[1:]]


async def test_a_killed_watch_reports_the_move_back_to_its_checkpoints_price(
    tmp_path: Path,
) -> None:
    data = OneMovingPrice()
    outcome = data.first_outcome()
    opening, moved = outcome["odds"], round(outcome["odds"] * 2, 2)
    job, killed = tmp_path / "job", tmp_path / "killed"

    def on_poll(crawler: Crawler, poll: int) -> None:
        spider = crawler.spider
        assert isinstance(spider, KwiffWatchSpider)
        if poll == 2:  # its checkpoint (due: 0.001 s) holds the opening price
            data.odds = moved  # from poll 3 on
        elif poll == 3:  # the move is reported; no checkpoint after it
            spider.checkpoint.every = 3600
        elif poll == 4:  # the JOBDIR a SIGKILL now would leave: poll 3 recorded, no close
            shutil.copytree(job, killed)

    settings = {"JOBDIR": str(job), "KWIFF_WATCH_CHECKPOINT": 0.001}
    async with KwiffSimulator(data=data) as simulator:
        first = await watch(simulator, polls=4, settings=settings, on_poll=on_poll)
        reported = [c for c in odds_changes(first.items, "moved")]
        assert [(c.outcome_id, c.previous_odds, c.odds) for c in reported] == [
            (outcome["id"], opening, moved)
        ]
        saved = pickle.loads((killed / STATE_FILE).read_bytes())[STATE_KEY]
        assert _odds(saved, outcome["id"]) == opening  # the checkpoint is before the move
        assert (killed / JOURNAL_FILE).stat().st_size > 0

        # Without the journal: the blind spot (nothing reported, the move back lost).
        blind = tmp_path / "blind"
        shutil.copytree(killed, blind)
        (blind / JOURNAL_FILE).unlink()
        data.odds = None  # back at the opening price
        resumed_blind = await watch(simulator, polls=1, settings={"JOBDIR": str(blind)})
        assert odds_changes(resumed_blind.items) == []

        resumed = await watch(simulator, polls=2, settings={"JOBDIR": str(killed)})
    back = [(c.kind, c.outcome_id, c.previous_odds, c.odds) for c in odds_changes(resumed.items)]
    assert back == [("moved", outcome["id"], moved, opening)]
    # A clean stop saved the state and emptied the journal, which it holds.
    assert (killed / JOURNAL_FILE).stat().st_size == 0
    state = pickle.loads((killed / STATE_FILE).read_bytes())[STATE_KEY]
    assert _odds(state, outcome["id"]) == opening


async def test_a_move_the_history_has_not_written_yet_is_reported_again_after_a_kill(
    tmp_path: Path,
) -> None:
    """The history keeps prices it could not write yet (its database locked, away) in
    memory, which a kill loses: the journal records a poll only once they are written,
    so the resumed watch reports the move again and the history gets it."""
    data = OneMovingPrice()
    outcome = data.first_outcome()
    opening, moved = outcome["odds"], round(outcome["odds"] * 2, 2)
    job, killed, database = tmp_path / "job", tmp_path / "killed", tmp_path / "odds.sqlite"
    locks: list[sqlite3.Connection] = []

    def on_poll(crawler: Crawler, poll: int) -> None:
        if poll == 2:  # the baseline is written and recorded: lock the history's database
            lock = sqlite3.connect(database, isolation_level=None)
            lock.execute("BEGIN EXCLUSIVE")
            locks.append(lock)
            data.odds = moved  # poll 3 reports the move; its row cannot be written
        elif poll == 4:  # the JOBDIR a SIGKILL now would leave, the row still in memory
            shutil.copytree(job, killed)
            locks.pop().close()

    settings = {
        "JOBDIR": str(job),
        "KWIFF_WATCH_CHECKPOINT": 3600,
        "KWIFF_HISTORY_URI": f"sqlite:///{database}",
    }
    async with KwiffSimulator(data=data) as simulator:
        first = await watch(simulator, polls=4, settings=settings, on_poll=on_poll)
        assert [(c.previous_odds, c.odds) for c in odds_changes(first.items, "moved")] == [
            (opening, moved)
        ]
        resumed = await watch(simulator, polls=1, settings={"JOBDIR": str(killed)})
    back = [(c.kind, c.outcome_id, c.previous_odds, c.odds) for c in odds_changes(resumed.items)]
    assert back == [("moved", outcome["id"], opening, moved)]


async def test_a_move_whose_alert_is_not_out_yet_is_reported_and_alerted_again_after_a_kill(
    tmp_path: Path,
) -> None:
    """An alert waits in memory for its webhook (slow, retrying), which a kill loses: the
    journal records a poll only once its alerts are out, so the resumed watch reports the
    move again and alerts it."""
    data = OneMovingPrice()
    outcome = data.first_outcome()
    opening, moved = outcome["odds"], round(outcome["odds"] * 2, 2)
    job, killed = tmp_path / "job", tmp_path / "killed"
    held = asyncio.Event()

    def on_poll(crawler: Crawler, poll: int) -> None:
        if poll == 2:
            data.odds = moved  # poll 3 reports the move; its alert's answer is held
        elif poll == 4:  # the JOBDIR a SIGKILL now would leave, the alert not out
            shutil.copytree(job, killed)
            held.set()

    settings = {
        "JOBDIR": str(job),
        "KWIFF_WATCH_CHECKPOINT": 3600,
        "KWIFF_ALERT_RETRY_DELAY": 0.01,
    }
    async with WebhookServer(Reply(hold=held)) as server, KwiffSimulator(data=data) as simulator:
        settings["KWIFF_ALERT_WEBHOOK"] = server.url
        first = await watch(simulator, polls=4, settings=settings, on_poll=on_poll)
        assert [(c.previous_odds, c.odds) for c in odds_changes(first.items, "moved")] == [
            (opening, moved)
        ]
        assert len(server.received) == 1
        resumed = await watch(simulator, polls=1, settings={**settings, "JOBDIR": str(killed)})
        alerted = server.received  # a closing watch waits for its alerts to go out
    back = [(c.kind, c.outcome_id, c.previous_odds, c.odds) for c in odds_changes(resumed.items)]
    assert back == [("moved", outcome["id"], opening, moved)]
    assert [
        [(c["outcome_id"], c["previous_odds"], c["odds"]) for c in request.json()["changes"]]
        for request in alerted
    ] == [[(outcome["id"], opening, moved)]] * 2


def _odds(state: WatchState, outcome_id: int) -> float | None:
    for snapshot in state.events.values():
        if (point := snapshot.outcomes.get(outcome_id)) is not None:
            return point.odds
    raise AssertionError(f"outcome {outcome_id} not in the state")


# -- the file ---------------------------------------------------------------------------


def _snapshot(event_id: int, odds: float) -> EventSnapshot:
    point = PricePoint(1, "Match Result", 2, "Arsenal", odds, None, True)
    return EventSnapshot(event_id, home_team="Arsenal", outcomes={2: point})


def _recorded(journal: Journal, state: WatchState) -> None:
    journal.append(state, *journal.changes_since(state))


def test_records_apply_in_order_over_the_saved_state(tmp_path: Path) -> None:
    saved = WatchState({1: _snapshot(1, 2.0), 2: _snapshot(2, 3.0)}, baselined=True)
    journal = Journal(tmp_path / JOURNAL_FILE)
    live = WatchState(dict(saved.events), saved.baselined)
    journal.start(live)
    _recorded(journal, live)  # nothing changed: nothing written
    assert not journal.path.exists()
    live.events[1] = _snapshot(1, 2.5)
    _recorded(journal, live)
    live.events[1] = _snapshot(1, 2.2)
    del live.events[2]
    live.events[3] = _snapshot(3, 4.0)
    _recorded(journal, live)

    resumed = WatchState(dict(saved.events), saved.baselined)
    assert apply(journal.path, resumed) == (2, journal.size)
    assert resumed == live


def test_a_record_cut_short_is_ignored_and_the_next_go_after_the_last_whole_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal(tmp_path / JOURNAL_FILE)
    live = WatchState({}, baselined=True)
    journal.start(live)
    live.events[1] = _snapshot(1, 2.0)
    _recorded(journal, live)
    whole = journal.size
    live.events[1] = _snapshot(1, 9.0)
    _recorded(journal, live)
    # A kill in the middle of the second record's write.
    with journal.path.open("r+b") as file:
        file.truncate(journal.size - 3)

    resumed = WatchState()
    with caplog.at_level(logging.INFO):
        assert apply(journal.path, resumed) == (1, whole)
    assert "was cut short" in caplog.text
    assert resumed.events[1] == _snapshot(1, 2.0)

    # The resumed watch keeps the whole records and appends after them.
    journal = Journal(journal.path)
    journal.keep(whole)
    journal.start(resumed)
    resumed.events[1] = _snapshot(1, 3.0)
    _recorded(journal, resumed)
    again = WatchState()
    assert apply(journal.path, again) == (2, journal.size)
    assert again.events[1] == _snapshot(1, 3.0)


def test_a_corrupt_record_ends_the_reading(tmp_path: Path) -> None:
    journal = Journal(tmp_path / JOURNAL_FILE)
    live = WatchState()
    journal.start(live)
    live.events[1] = _snapshot(1, 2.0)
    _recorded(journal, live)
    data = bytearray(journal.path.read_bytes())
    data[-1] ^= 0xFF
    journal.path.write_bytes(bytes(data))
    resumed = WatchState()
    assert apply(journal.path, resumed) == (0, 0)
    assert resumed.events == {}


def test_an_unreadable_record_is_a_warning_and_the_watch_resumes_from_before_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / JOURNAL_FILE
    body = pickle.dumps("not a record")
    path.write_bytes(struct.pack(">II", len(body), zlib.crc32(body)) + body)
    resumed = WatchState()
    assert apply(path, resumed) == (0, 0)
    assert "Could not read record 1 of the watch's journal" in caplog.text


async def test_a_kill_between_the_checkpoint_and_emptying_the_journal_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record of the poll a checkpoint follows holds that checkpoint's prices: read
    over it, the journal a kill left gives the checkpoint's state again."""
    spider = KwiffWatchSpider.from_crawler(
        get_crawler(KwiffWatchSpider, {"JOBDIR": str(tmp_path), "KWIFF_WATCH_CHECKPOINT": 0.001})
    )
    checkpoint = spider.checkpoint
    assert checkpoint.journal is not None
    spider.state = {STATE_KEY: WatchState({1: _snapshot(1, 2.0)}, True)}
    live = spider.state[STATE_KEY]
    checkpoint.resume(live)
    assert not await checkpoint.after_poll(spider.crawler, spider.state, poll=1)  # the clock
    live.events[1] = _snapshot(1, 2.5)
    live.events[2] = _snapshot(2, 5.0)
    monkeypatch.setattr(checkpoint.journal, "clear", lambda: None)  # killed before it
    loop = asyncio.get_running_loop()
    await until(lambda: checkpoint.due(loop.time()), "the checkpoint's interval")
    assert await checkpoint.after_poll(spider.crawler, spider.state, poll=2)
    saved = pickle.loads((tmp_path / STATE_FILE).read_bytes())[STATE_KEY]
    assert (tmp_path / JOURNAL_FILE).stat().st_size > 0
    resumed = copy.deepcopy(saved)
    assert apply(tmp_path / JOURNAL_FILE, resumed)[0] == 1
    assert resumed == saved == live


def _event(event_id: int, fetched_at: str, **odds: float | None) -> EventSnapshot:
    outcomes = {
        int(key[1:]): PricePoint(
            1, "Match Result", int(key[1:]), key, price, None, price is not None
        )
        for key, price in odds.items()
    }
    return EventSnapshot(event_id, home_team="Arsenal", fetched_at=fetched_at, outcomes=outcomes)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (_event(1, "t1", o1=2.0, o2=3.0), _event(1, "t2", o1=2.5, o2=3.0)),  # one moved
        (_event(1, "t1", o1=2.0, o2=3.0), _event(1, "t2", o1=2.0)),  # one gone
        (_event(1, "t1", o1=2.0), _event(1, "t1", o1=None, o3=4.0)),  # suspended, new
        (_event(1, "t1", o1=2.0), dataclasses.replace(_event(1, "t2", o1=2.0), in_play=True)),
    ],
)
def test_a_delta_applied_gives_the_new_snapshot_and_applied_again_changes_nothing(
    old: EventSnapshot, new: EventSnapshot
) -> None:
    delta = EventDelta.between(old, new)
    assert delta.applied_to(old) == new
    assert delta.applied_to(new) == new
    assert set(delta.outcomes) == {k for k, p in new.outcomes.items() if old.outcomes.get(k) != p}


def test_a_poll_that_moved_one_price_of_a_big_event_makes_a_small_record(tmp_path: Path) -> None:
    many = {f"o{number}": 1.5 + number / 100 for number in range(1, 400)}
    journal = Journal(tmp_path / JOURNAL_FILE)
    live = WatchState()
    journal.start(live)
    live.events[1] = _event(1, "t1", **many)
    _recorded(journal, live)
    whole = journal.size
    live.events[1] = _event(1, "t2", **{**many, "o7": 9.0})
    _recorded(journal, live)
    assert journal.size - whole < whole / 20
    resumed = WatchState()
    assert apply(journal.path, resumed) == (2, journal.size)
    assert resumed.events == live.events
