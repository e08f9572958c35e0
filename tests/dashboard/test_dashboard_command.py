"""`scrapy kwiff dashboard` as a user starts it: the address it serves, the warning for
another host, and one line with exit status 1 for a history it cannot serve."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import contextlib
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kwiff_scrapy.history.schema import SCHEMA_VERSION, database_url
from kwiff_scrapy.history.store import HistoryStore

from ..commands.test_history_command import build_history
from ..support.crawl_process import HANG_GUARD, crawl_environment, scrapy_kwiff, wait_for_text
from ..support.databases import sqlite_uri  # fixture, used by name


@contextlib.contextmanager
def dashboard(tmp_path: Path, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """``scrapy kwiff dashboard ARGS --port 0`` running; its process, URL and log file."""
    log = tmp_path / "dashboard.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "scrapy", "kwiff", "dashboard", *args, "--port", "0"],
            cwd=tmp_path,
            env={**crawl_environment("error::RuntimeWarning"), "PYTHONIOENCODING": "utf-8"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_text(log, "(Ctrl-C stops it)")
            found = re.search(r"at (http://\S+/) ", log.read_text(encoding="utf-8"))
            assert found is not None, log.read_text(encoding="utf-8")
            yield process, found[1], log
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)  # Ctrl-C
    return process.wait(timeout=HANG_GUARD)


@pytest.mark.slow
def test_it_serves_on_127_0_0_1_until_ctrl_c(sqlite_uri: str, tmp_path: Path) -> None:
    build_history(sqlite_uri)
    with dashboard(tmp_path, "--db", sqlite_uri) as (process, url, log):
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=HANG_GUARD) as response:
            assert response.status == 200
            assert "Arsenal" in response.read().decode()
        assert stop(process) == 0
    text = log.read_text(encoding="utf-8")
    assert text.startswith(f"Dashboard of {sqlite_uri} at {url} (Ctrl-C stops it)\n")
    assert "warning" not in text
    assert "Traceback" not in text


@pytest.mark.slow
def test_another_host_is_served_with_a_warning_and_the_token_never_shown(
    sqlite_uri: str, tmp_path: Path
) -> None:
    build_history(sqlite_uri)
    token = "tok-123-secret"
    with dashboard(tmp_path, "--db", sqlite_uri, "--host", "0.0.0.0", "--token", token) as (
        process,
        url,
        log,
    ):
        assert url.startswith("http://0.0.0.0:")
        port = url.rsplit(":", 1)[1].rstrip("/")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=HANG_GUARD)
        assert refused.value.code == 401
        refused.value.close()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=HANG_GUARD) as response:
            assert response.status == 200
        assert stop(process) == 0
    text = log.read_text(encoding="utf-8")
    assert (
        "scrapy kwiff dashboard: warning: serving on 0.0.0.0, not 127.0.0.1: anyone who can "
        "reach this machine on port "
    ) in text
    assert "can read the odds history (each must give the token" in text
    assert token not in text


@pytest.mark.slow
def test_a_history_it_cannot_serve_is_one_line_and_exit_1(sqlite_uri: str, tmp_path: Path) -> None:
    build_history(sqlite_uri)
    newer = f"sqlite:///{tmp_path / 'newer.sqlite'}"
    build_history(newer)
    with sqlite3.connect(newer.removeprefix("sqlite:///")) as connection:
        connection.execute(f"UPDATE kwiff_history_meta SET value = '{SCHEMA_VERSION + 1}'")
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    HistoryStore(database_url(empty)).open()
    cases: list[tuple[list[str], int, str]] = [
        (["--db", "sqlite:///nowhere.sqlite"], 1,
         "scrapy kwiff dashboard: sqlite:///nowhere.sqlite: there is no database file "
         "nowhere.sqlite\n"),
        (["--db", empty], 1, f"scrapy kwiff dashboard: {empty} is empty: no prices stored yet\n"),
        (["--db", newer], 1, f"scrapy kwiff dashboard: {newer} holds odds history of schema "
         f"version {SCHEMA_VERSION + 1}, newer than this kwiff_scrapy's {SCHEMA_VERSION}"),
        ([], 2, "scrapy kwiff: error: dashboard needs --db URI (or the KWIFF_HISTORY_URI setting)"),
        (["--db", sqlite_uri, "--port", "70000"], 2, "--port must be 0 to 65535, not 70000"),
        (["--db", sqlite_uri, "--top", "3"], 2,
         "scrapy kwiff: error: --top: an option of scrapy kwiff history, not of scrapy kwiff "
         "dashboard"),
    ]  # fmt: skip
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda c: scrapy_kwiff(tmp_path, "dashboard", *c[0]), cases))
    for (args, status, message), result in zip(cases, results, strict=True):
        assert result.returncode == status, (args, result.stderr)
        assert result.stdout == ""
        if status == 1:
            assert result.stderr.startswith(message), (args, result.stderr)
            assert result.stderr.count("\n") == 1, result.stderr
        else:
            assert message in result.stderr, (args, result.stderr)
    assert not (tmp_path / "nowhere.sqlite").exists()
    # history takes --db too, and refuses the dashboard's options.
    refused = scrapy_kwiff(tmp_path, "history", "--db", sqlite_uri, "--port", "1")
    assert refused.returncode == 2
    assert "--port: an option of scrapy kwiff dashboard, not of scrapy kwiff history" in (
        refused.stderr
    )


@pytest.mark.slow
def test_a_port_in_use_is_one_line_and_exit_1(sqlite_uri: str, tmp_path: Path) -> None:
    build_history(sqlite_uri)
    with dashboard(tmp_path, "--db", sqlite_uri) as (process, url, _log):
        port = url.rsplit(":", 1)[1].rstrip("/")
        result = scrapy_kwiff(tmp_path, "dashboard", "--db", sqlite_uri, "--port", port)
        assert stop(process) == 0
    assert result.returncode == 1
    assert result.stderr.startswith("scrapy kwiff dashboard: ")
    assert "address already in use" in result.stderr.lower()
    assert result.stderr.count("\n") == 1
