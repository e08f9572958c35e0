"""A watch with JOBDIR, killed with SIGKILL mid-poll, resumes and polls again.

``scrapy crawl kwiff_watch -s JOBDIR=...`` runs in its own process against the simulator in
another, as under systemd: a first run stops cleanly (its state and, then, its request
queue empty), a second is killed in the middle of a poll with commands waiting in the
scheduler, and a third must go on polling with the prices the first saved.
"""

from __future__ import annotations

import json
import pickle
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.settings import Settings

from kwiff_scrapy.spiders.watch import SIGNALS_STATE_KEY, STATE_KEY, KwiffWatchSpider

from ..support.crawl_process import started_crawl
from ..support.processes import simulator_process
from ..support.waiting import HANG_GUARD, until_sync

#: What the simulator logs (at DEBUG) for the list command that starts each poll.
POLL = "received: 'event:list'"
#: What it logs for each event of a poll (``details=1``).
EVENT = "received: 'event:get'"
FIFO = "scrapy.squeues.FifoMemoryQueue"


def test_the_watch_queues_its_commands_in_memory_even_with_a_jobdir() -> None:
    settings = Settings({"JOBDIR": "job"}, priority="project")
    KwiffWatchSpider.update_settings(settings)
    assert settings["SCHEDULER_DISK_QUEUE"] == settings["SCHEDULER_MEMORY_QUEUE"]
    assert settings["SCHEDULER_START_DISK_QUEUE"] == settings["SCHEDULER_START_MEMORY_QUEUE"]
    # Whichever memory queues the project chose (None: start requests queued as others).
    chosen = Settings(
        {"SCHEDULER_MEMORY_QUEUE": FIFO, "SCHEDULER_START_MEMORY_QUEUE": None}, "project"
    )
    KwiffWatchSpider.update_settings(chosen)
    assert chosen["SCHEDULER_DISK_QUEUE"] == FIFO
    assert chosen["SCHEDULER_START_DISK_QUEUE"] is None
    # Another spider of the project keeps Scrapy's disk queues.
    other = Settings(priority="project")
    Spider.update_settings(other)
    assert other["SCHEDULER_DISK_QUEUE"] == "scrapy.squeues.PickleLifoDiskQueue"


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A still simulator in its own process, slow enough to answer that a poll's commands
    wait in the watch's scheduler: its URL and its log (each command at DEBUG)."""
    log = tmp_path / "simulator.log"
    with simulator_process(log, "--still", "-vv", "--delay", "0.05") as url:
        yield url, log


@pytest.mark.slow
def test_a_watch_killed_mid_poll_resumes_from_its_jobdir_and_polls_again(
    simulator: tuple[str, Path], tmp_path: Path
) -> None:
    url, simulator_log = simulator
    job, feed = tmp_path / "job", tmp_path / "changes.jsonl"
    arguments = (
        "-a", "interval=1", "-a", "details=1",
        "-s", f"JOBDIR={job}", "-s", "KWIFF_SIGNALS_ENABLED=1", "-o", str(feed),
    )  # fmt: skip
    #: One command at a time: the others of a poll wait in the scheduler's queue.
    one_at_a_time = ("-s", "CONCURRENT_REQUESTS=1")

    def received(command: str) -> int:
        return simulator_log.read_text(errors="replace").count(command)

    def run(name: str, polls: int, stop: signal.Signals, *extra: str) -> str:
        """Start the watch, wait until it has started *polls* polls (the last one started
        once the one before was answered) and some of the last poll's events, send it
        *stop*: its log."""
        log = tmp_path / f"{name}.log"
        polls_before = received(POLL)
        with started_crawl(log, *arguments, *extra, spider="kwiff_watch", endpoint=url) as process:
            until_sync(
                lambda: received(POLL) >= polls_before + polls,
                f"the {name} run's poll {polls} (log: {log})",
            )
            events_before = received(EVENT)
            until_sync(lambda: received(EVENT) >= events_before + 3, f"the {name} run's events")
            process.send_signal(stop)
            status = process.wait(timeout=HANG_GUARD)
        text = log.read_text(encoding="utf-8", errors="replace")
        if stop == signal.SIGTERM:
            assert status == 0, text[-3000:]
            assert "Spider closed (shutdown)" in text, text[-3000:]
        # Nothing queued by an earlier run is sent again.
        assert "Resuming crawl (" not in text, text[-3000:]
        for noise in ("Traceback", "ERROR", "Unclosed", "Task was destroyed"):
            assert noise not in text, text[-3000:]
        return text

    run("first", polls=2, stop=signal.SIGTERM)  # a whole poll seen: the baseline
    baseline = feed.read_text(encoding="utf-8")
    assert {json.loads(line)["kind"] for line in baseline.splitlines()} == {"new"}
    saved = pickle.loads((job / "spider.state").read_bytes())
    assert saved[STATE_KEY].events
    assert SIGNALS_STATE_KEY in saved

    # Killed with commands queued: in Scrapy's disk queue, the next run would be handed
    # one of them in place of its own, and its first poll would wait for ever.
    run("killed", 2, signal.SIGKILL, *one_at_a_time)
    # The first poll of the run after the kill is answered (the second starts), and so is
    # the second: the watch did not wait on a command of the killed run's.
    resumed = run("resumed", polls=3, stop=signal.SIGTERM)
    # Nothing moved: the prices the first run saved were compared, no second baseline.
    assert feed.read_text(encoding="utf-8") == baseline, resumed[-3000:]
    state = pickle.loads((job / "spider.state").read_bytes())
    assert state[STATE_KEY].events.keys() == saved[STATE_KEY].events.keys()
    assert SIGNALS_STATE_KEY in state


#: The watch's line (at DEBUG) for each checkpoint: the poll, and the items scraped so far.
CHECKPOINT = re.compile(r"Saved the watch's state to \S+ after poll (\d+) \((\d+) items scraped\)")


def _checkpoints(log: Path) -> list[tuple[int, int]]:
    """Each checkpoint a run's log shows: (poll, items scraped until then)."""
    text = log.read_text(encoding="utf-8", errors="replace")
    return [(int(poll), int(items)) for poll, items in CHECKPOINT.findall(text)]


def _outcome(change: dict[str, Any]) -> tuple[Any, ...]:
    return change["event_id"], change.get("market_id"), change.get("outcome_id")


@pytest.mark.slow
def test_a_watch_killed_resumes_from_its_last_checkpoint_not_its_last_clean_stop(
    tmp_path: Path,
) -> None:
    """Killed (SIGKILL) after polls that moved prices, the watch reports again none of the
    changes its killed run reported up to its last checkpoint (the first poll's baseline
    among them): the resumed run goes on from the prices of that checkpoint."""
    job = tmp_path / "job"
    simulator_log = tmp_path / "simulator.log"
    with simulator_process(simulator_log, "--per-serve") as url:

        def run(name: str, stop: signal.Signals, checkpoints: int) -> tuple[Path, Path]:
            """A run with its own feed, stopped with *stop* once its log shows
            *checkpoints* checkpoints: its log and its feed."""
            log, feed = tmp_path / f"{name}.log", tmp_path / f"{name}.jsonl"
            arguments = (
                "-a", "interval=1", "-s", f"JOBDIR={job}", "-s", "KWIFF_WATCH_CHECKPOINT=0.001",
                "-s", "LOG_LEVEL=DEBUG", "-o", str(feed),
            )  # fmt: skip
            with started_crawl(log, *arguments, spider="kwiff_watch", endpoint=url) as process:
                until_sync(
                    lambda: len(_checkpoints(log)) >= checkpoints,
                    f"the {name} run's checkpoint {checkpoints} (log: {log})",
                )
                process.send_signal(stop)
                process.wait(timeout=HANG_GUARD)
            return log, feed

        killed_log, killed_feed = run("killed", signal.SIGKILL, checkpoints=3)
        # Killed with no clean stop ever: what JOBDIR holds is a checkpoint.
        assert pickle.loads((job / "spider.state").read_bytes())[STATE_KEY].events
        resumed_log, resumed_feed = run("resumed", signal.SIGTERM, checkpoints=1)

    # What the killed run's last checkpoint covers is in its feed (flushed before saving),
    # whatever it reported after it.
    _, covered = _checkpoints(killed_log)[-1]
    killed_lines = killed_feed.read_text(encoding="utf-8").splitlines()
    assert len(killed_lines) >= covered > 0
    reported = [json.loads(line) for line in killed_lines[:covered]]
    assert {"new", "moved"} <= {change["kind"] for change in reported}
    last_odds = {
        _outcome(change): change["odds"] for change in reported if change.get("odds") is not None
    }
    resumed = [json.loads(line) for line in resumed_feed.read_text(encoding="utf-8").splitlines()]
    resumed_text = resumed_log.read_text(encoding="utf-8", errors="replace")
    assert "Spider closed (shutdown)" in resumed_text, resumed_text[-3000:]
    # Nothing the killed run reported is new again (the moving market may add outcomes).
    known = {_outcome(change) for change in reported}
    again = [change for change in resumed if change["kind"] == "new" and _outcome(change) in known]
    assert not again, again[:3]
    moved = [change for change in resumed if change["kind"] == "moved"]
    assert moved, resumed_text[-3000:]
    # Each outcome moves on from the odds the killed run last reported for it: no change
    # since the last clean stop (here: none, so everything) is reported again.
    first_moves: dict[tuple[Any, ...], dict[str, Any]] = {}
    for change in moved:
        first_moves.setdefault(_outcome(change), change)
    continued = [key for key in first_moves if key in last_odds]
    assert continued
    for key in continued:
        assert first_moves[key]["previous_odds"] == last_odds[key], (key, first_moves[key])
