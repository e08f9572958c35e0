"""Deployed with Scrapyd: a project that uses the plugin as docs/existing-project.md says is
deployed with ``scrapyd-deploy`` to a real Scrapyd, a watch is scheduled, runs and is
cancelled through Scrapyd's HTTP API, and leaves a complete feed (docs/deployment.md)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..support.crawl_process import crawl_environment
from ..support.extras import require, unavailable
from ..support.processes import free_port, simulator_process, stop
from ..support.projects import PROJECT, write_project
from ..support.waiting import HANG_GUARD, until_sync

pytestmark = pytest.mark.slow

require("scrapyd", "test", "Deploying to Scrapyd")
require("scrapyd_client", "test", "Deploying to Scrapyd")

BIN = Path(sys.executable).parent


class Scrapyd:
    """A Scrapyd server in its own process, in its own directory, and its HTTP API."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        directory.mkdir()
        # items_dir: each job's feed as JSON lines (Scrapyd sets FEEDS); a short
        # poll_interval so that a scheduled job starts at once.
        (directory / "scrapyd.conf").write_text(
            f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {self.port}\n"
            "poll_interval = 0.2\nmax_proc = 2\nitems_dir = items\nlogs_dir = logs\n"
            "eggs_dir = eggs\ndbs_dir = dbs\n"
        )
        self.log = directory / "scrapyd.log"
        self.pids: set[int] = set()

    @contextlib.contextmanager
    def running(self) -> Iterator[Scrapyd]:
        with self.log.open("wb") as log:
            process = subprocess.Popen(
                [BIN / "scrapyd"],
                cwd=self.directory,
                env=crawl_environment("default"),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            until_sync(lambda: self._up(process), f"Scrapyd answering on {self.url}")
            yield self
        finally:
            stop(process)
            for pid in self.pids:  # a job cancel did not end: never left running
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def _up(self, process: subprocess.Popen[bytes]) -> bool:
        assert process.poll() is None, self.log.read_text(errors="replace")[-3000:]
        try:
            return self.get("daemonstatus.json")["status"] == "ok"
        except OSError:
            return False

    def get(self, endpoint: str, **query: str) -> Any:
        url = self.url + endpoint + ("?" + urllib.parse.urlencode(query) if query else "")
        with urllib.request.urlopen(url, timeout=30) as answer:
            return json.load(answer)

    def post(self, endpoint: str, fields: list[tuple[str, str]]) -> Any:
        body = urllib.parse.urlencode(fields).encode()
        with urllib.request.urlopen(self.url + endpoint, body, timeout=30) as answer:
            result = json.load(answer)
        assert result["status"] == "ok", result
        return result

    def job(self, job: str) -> tuple[str, dict[str, Any]] | None:
        """Where the job is (``pending``, ``running``, ``finished``) and its entry."""
        jobs = self.get("listjobs.json", project=PROJECT)
        for state in ("pending", "running", "finished"):
            for entry in jobs[state]:
                if entry["id"] == job:
                    if "pid" in entry:
                        self.pids.add(entry["pid"])
                    return state, entry
        return None


def complete_lines(path: Path) -> list[str]:
    """The lines of a feed being written, without a last line not yet ended."""
    if not path.exists():
        return []
    return path.read_text(encoding="utf-8").split("\n")[:-1]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrapyd]:
    """A Scrapyd server with the project deployed to it by ``scrapyd-deploy`` (once for
    the module: each test schedules its own job)."""
    tmp_path = tmp_path_factory.mktemp("scrapyd")
    if not (BIN / "scrapyd").exists() or not (BIN / "scrapyd-deploy").exists():
        unavailable(f"scrapyd and scrapyd-deploy are not in {BIN}: pip install -e '.[test]'")
    scrapyd = Scrapyd(tmp_path / "scrapyd")
    project = tmp_path / "project"
    write_project(project, scrapyd.url)
    with scrapyd.running():
        deploy = subprocess.run(
            [BIN / "scrapyd-deploy", "--version", "r1"],
            cwd=project,
            env=crawl_environment("default"),
            capture_output=True,
            text=True,
            timeout=HANG_GUARD,
            check=False,
        )
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        assert '"status": "ok"' in deploy.stdout, deploy.stdout + deploy.stderr
        yield scrapyd


def test_the_egg_holds_the_project_and_finds_the_plugin_installed(deployed: Scrapyd) -> None:
    egg = deployed.directory / "eggs" / PROJECT / "r1.egg"
    with zipfile.ZipFile(egg) as archive:
        packages = {name.split("/")[0] for name in archive.namelist()}
    # Only the project: kwiff_scrapy comes from Scrapyd's own environment (pip install).
    assert packages == {"EGG-INFO", PROJECT}
    spiders = deployed.get("listspiders.json", project=PROJECT)["spiders"]
    assert "my_kwiff" in spiders  # the project's own, from the egg
    assert "kwiff_watch" in spiders  # the plugin's, from the environment


@pytest.mark.parametrize("cancel_signal", [None, "TERM"], ids=["cancel-default-INT", "TERM"])
def test_a_scheduled_watch_runs_and_a_cancel_leaves_a_complete_feed(
    deployed: Scrapyd, tmp_path: Path, cancel_signal: str | None
) -> None:
    with simulator_process(tmp_path / "simulator.log", "--per-serve") as endpoint:
        job = deployed.post(
            "schedule.json",
            [
                ("project", PROJECT),
                ("spider", "kwiff_watch"),
                ("setting", f"KWIFF_ENDPOINT={endpoint}"),
                # A guard only: the cancel below is what stops it.
                ("setting", f"CLOSESPIDER_TIMEOUT={int(HANG_GUARD)}"),
                ("interval", "1"),
            ],
        )["jobid"]
        feed = deployed.directory / "items" / PROJECT / "kwiff_watch" / f"{job}.jl"
        log = deployed.directory / "logs" / PROJECT / "kwiff_watch" / f"{job}.log"

        def moved_seen() -> bool:  # the baseline, then at least one poll compared with it
            state = deployed.job(job)
            assert state is None or state[0] != "finished", log.read_text(errors="replace")
            return any('"kind": "moved"' in line for line in complete_lines(feed))

        until_sync(moved_seen, "the scheduled watch writing a moved price to its feed")
        running = deployed.job(job)
        assert running is not None
        assert running[0] == "running"

        fields = [("project", PROJECT), ("job", job)]
        fields += [("signal", cancel_signal)] if cancel_signal else []
        answer = deployed.post("cancel.json", fields)
        assert answer["prevstate"] == "running"
        until_sync(
            lambda: (deployed.job(job) or ("",))[0] == "finished", "the cancelled job finishing"
        )

    text = log.read_text(encoding="utf-8")
    name = f"SIG{cancel_signal or 'INT'}"
    assert f"Received {name}, shutting down gracefully" in text, text[-3000:]
    assert "Spider closed (shutdown)" in text, text[-3000:]
    for noise in ("Traceback", "ERROR", "Unclosed", "Task was destroyed"):
        assert noise not in text, text[-3000:]
    # Complete: the file ends with a whole line, every line is an item, and there are as
    # many as the crawl's stats say it scraped.
    body = feed.read_text(encoding="utf-8")
    assert body.endswith("\n")
    items = [json.loads(line) for line in body.splitlines()]
    scraped = re.search(r"'item_scraped_count': (\d+)", text)
    assert scraped is not None, text[-3000:]
    assert len(items) == int(scraped.group(1))
    assert {item["kind"] for item in items} >= {"new", "moved"}
