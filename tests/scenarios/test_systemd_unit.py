"""docs/kwiff-watch.service: systemd accepts it, and its ExecStart runs a watch that stops
cleanly on the unit's KillSignal and resumes from its JOBDIR when started again."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..docs.pages import DOCS
from ..support.crawl_process import crawl_environment
from ..support.extras import unavailable
from ..support.processes import simulator_process
from ..support.projects import write_project
from ..support.waiting import HANG_GUARD, until_sync

UNIT = DOCS / "kwiff-watch.service"
ENVIRONMENT_FILE = DOCS / "kwiff-watch.env"
#: Where the unit expects the virtualenv and the project: here, this venv and a tmp one.
VENV, PROJECT_DIR = "/opt/kwiff/venv", "/opt/kwiff/project"
#: What the simulator logs (at DEBUG) for each poll of a watch without details.
POLL = "received: 'event:list'"


def directives(text: str) -> dict[str, str]:
    """``Section.Key`` -> value of each line of a unit file (one value per key here)."""
    found: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert f"{section}.{key}" not in found, f"{key} given twice in [{section}]"
            found[f"{section}.{key}"] = value
    return found


def environment_file(text: str) -> dict[str, str]:
    """The variables of a systemd environment file (``KEY=VALUE`` lines, ``#`` comments)."""
    pairs = (line.partition("=") for line in text.splitlines() if line and line[0] != "#")
    return {key: value for key, _, value in pairs}


def command_line(exec_start: str, environment: dict[str, str], state: Path) -> list[str]:
    """*exec_start* as systemd runs it: ``%S`` the state directory root, ``$VAR`` alone
    split into words, ``${VAR}`` in place; the venv this test runs in."""
    words: list[str] = []
    for word in shlex.split(exec_start.replace(VENV, sys.prefix)):
        if match := re.fullmatch(r"\$(\w+)", word):
            words += environment[match.group(1)].split()
            continue
        word = re.sub(r"\$\{(\w+)\}", lambda m: environment[m.group(1)], word)
        unknown = re.findall(r"%[^S%]", word)
        assert not unknown, f"this test knows no specifier {unknown} (ExecStart: {exec_start})"
        words.append(word.replace("%S", str(state)).replace("%%", "%"))
    return words


@pytest.fixture
def unit() -> dict[str, str]:
    return directives(UNIT.read_text(encoding="utf-8"))


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("checking the unit needs systemd-analyze: apt-get install systemd")
    project = write_project(tmp_path / "project")
    # Installed: the paths the unit names exist (verify checks that ExecStart is executable).
    text = UNIT.read_text(encoding="utf-8")
    installed = tmp_path / UNIT.name
    installed.write_text(text.replace(VENV, sys.prefix).replace(PROJECT_DIR, str(project)))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(installed)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""  # not even a warning (an unknown key...)


def test_the_unit_restarts_on_failure_stops_with_one_signal_and_keeps_its_job(
    unit: dict[str, str],
) -> None:
    assert unit["Service.Restart"] == "on-failure"
    # Scrapy's graceful stop; a second signal would force an unclean one.
    assert unit["Service.KillSignal"] in {"SIGTERM", "SIGINT"}
    assert unit["Service.KillMode"] == "mixed"  # the signal goes to the crawl only
    assert unit["Service.WorkingDirectory"] == PROJECT_DIR
    assert unit["Service.EnvironmentFile"].startswith("/etc/")
    state = unit["Service.StateDirectory"]
    assert f"-s JOBDIR=%S/{state}/job " in unit["Service.ExecStart"]
    # Nothing to clean before a start: the watch keeps no request queue in its JOBDIR
    # (tests/spiders/test_watch_jobdir.py restarts one after a SIGKILL).
    assert "Service.ExecStartPre" not in unit
    # The example environment file gives every variable the command line uses.
    used = set(re.findall(r"\$\{?(\w+)", unit["Service.ExecStart"]))
    assert used <= environment_file(ENVIRONMENT_FILE.read_text(encoding="utf-8")).keys()


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A still simulator in its own process: its URL and its log (each command at DEBUG)."""
    log = tmp_path / "simulator.log"
    with simulator_process(log, "--still", "-vv") as url:
        yield url, log


@pytest.mark.slow
def test_the_exec_start_runs_a_watch_that_stops_on_the_kill_signal_and_resumes(
    unit: dict[str, str], simulator: tuple[str, Path], tmp_path: Path
) -> None:
    url, simulator_log = simulator
    project = write_project(tmp_path / "project")
    state = tmp_path / "state"
    (state / unit["Service.StateDirectory"]).mkdir(parents=True)  # systemd makes it
    environment = {"KWIFF_WATCH_ARGS": f"-a interval=1 -s KWIFF_ENDPOINT={url}"}
    command = command_line(unit["Service.ExecStart"], environment, state)
    feed = state / unit["Service.StateDirectory"] / "changes.jsonl"
    kill_signal = signal.Signals[unit["Service.KillSignal"]]

    def polls() -> int:
        return simulator_log.read_text(errors="replace").count(POLL)

    def run(name: str) -> str:
        """Start the command, let it finish a poll, stop it as systemd does: its log."""
        log = tmp_path / f"{name}.log"
        polls_before = polls()
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=project,
                env={**crawl_environment("default"), **environment},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            until_sync(lambda: polls() >= polls_before + 2, f"the {name} run's second poll")
            process.send_signal(kill_signal)
            assert process.wait(timeout=HANG_GUARD) == 0, log.read_text()[-3000:]
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        text = log.read_text(encoding="utf-8")
        assert f"Received {kill_signal.name}, shutting down gracefully" in text, text[-3000:]
        assert "Spider closed (shutdown)" in text, text[-3000:]
        for noise in ("Traceback", "ERROR", "Unclosed", "Task was destroyed"):
            assert noise not in text, text[-3000:]
        return text

    run("first")
    job = state / unit["Service.StateDirectory"] / "job"
    assert (job / "spider.state").exists()
    # No request kept for the next run: only Scrapy's note of the queues' priorities.
    queued = [path.name for path in (job / "requests.queue").rglob("*") if path.is_file()]
    assert queued in ([], ["active.json"])
    baseline = feed.read_text(encoding="utf-8")
    assert baseline.endswith("\n")
    kinds = {json.loads(line)["kind"] for line in baseline.splitlines()}
    assert kinds == {"new"}  # the still market's opening prices, once

    # A restart: the same command resumes from JOBDIR, finishes a poll (the second poll
    # goes out once the first is done), and, nothing having moved, appends nothing: no
    # second baseline.
    second = run("restarted")
    polled = re.search(r"'kwiff/watch/polls': (\d+)", second)
    assert polled is not None, second[-3000:]
    assert int(polled.group(1)) >= 1
    assert feed.read_text(encoding="utf-8") == baseline
