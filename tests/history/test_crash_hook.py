"""The test-only pause of the history's write transaction (``KWIFF_HISTORY_TEST_PAUSE``):
off unless set, refused when malformed, and holding only the transaction it names."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kwiff_scrapy.history.crash_hook import ENVIRONMENT, PauseBeforeCommit
from kwiff_scrapy.history.schema import database_url
from kwiff_scrapy.history.store import HistoryStore

from ..support.paused_writer import PausedWriter


def test_a_store_holds_no_pause_unless_the_variable_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    assert HistoryStore(database_url("sqlite:///odds.sqlite"))._pause is None
    monkeypatch.setenv(ENVIRONMENT, "")
    assert PauseBeforeCommit.from_environment() is None


@pytest.mark.parametrize("value", ["x", "0:/tmp/pause", "3", "3:", "-1:/tmp/pause"])
def test_a_malformed_value_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENVIRONMENT, value)
    with pytest.raises(ValueError, match=rf"^{ENVIRONMENT} \(test only\) must be N:FIFO"):
        PauseBeforeCommit.from_environment()


def test_only_the_named_transaction_is_held_until_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pause = PausedWriter(tmp_path, transaction=2)
    for name, value in pause.environment.items():
        monkeypatch.setenv(name, value)
    hook = PauseBeforeCommit.from_environment()
    assert hook is not None
    hook.reached(5, [7])  # the first: not held
    second = threading.Thread(target=hook.reached, args=(12, {9, 8}))
    second.start()
    try:
        assert pause.wait(alive=second.is_alive) == {
            "transaction": 2,
            "written": 12,
            "events": [8, 9],
        }
        assert second.is_alive()
    finally:
        pause.close()
        second.join(timeout=30)
    assert not second.is_alive()
    hook.reached(1, [7])  # the third: not held
