"""The README's quick start, run line by line as a user would, against the simulator.

The settings lines it shows become a settings module (on top of the project's own), with
its Discord webhook replaced by a local one that records what it is sent; every command of
its shell block then runs in a fresh directory, exactly as written (the ``pip install``
line is what this test environment already has).
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import shlex
import sys
from pathlib import Path

import pytest

from ..docs.pages import README, code_blocks, section
from ..support.crawl_process import HANG_GUARD, PROJECT_ROOT, crawl_environment
from ..support.webhook_server import WebhookServer

DISCORD_URL = "https://discord.com/api/webhooks/ID/TOKEN"
#: The alert line's change, e.g. ``(-17.4%)``.
CHANGE = re.compile(r"\(([+-]\d+\.\d)%\)")


def quick_start() -> tuple[str, list[list[str]]]:
    """The quick start's settings lines, and its commands (continuations joined)."""
    text = section(README.read_text(encoding="utf-8"), "Quick start (offline)")
    [settings] = code_blocks(text, "python")
    [shell] = code_blocks(text, "sh")
    lines = shell.replace("\\\n", " ").splitlines()
    commands = [shlex.split(line, comments=True) for line in lines]
    return settings, [command for command in commands if command]


def settings_module(directory: Path, settings: str, webhook: str) -> None:
    assert DISCORD_URL in settings
    module = (
        "from kwiff_scrapy.settings import *  # noqa: F403\n"
        + settings.replace(DISCORD_URL, webhook)
        # The format the README's discord.com address gets, kept for the local webhook.
        + 'KWIFF_ALERT_FORMAT = "discord"\n'
    )
    (directory / "quickstart_settings.py").write_text(module, encoding="utf-8")


async def run(directory: Path, command: list[str]) -> tuple[int, str]:
    """Run *command* in *directory* with the quick start's settings: status and output."""
    assert command[0] == "scrapy", command
    environment = {
        **crawl_environment("error::RuntimeWarning"),
        "SCRAPY_SETTINGS_MODULE": "quickstart_settings",
        "PYTHONPATH": os.pathsep.join([str(directory), str(PROJECT_ROOT)]),
        "PYTHONIOENCODING": "utf-8",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scrapy",
        *command[1:],
        cwd=directory,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), HANG_GUARD)
    except TimeoutError:
        process.kill()
        raise AssertionError(f"{shlex.join(command)} never ended") from None
    return process.returncode or 0, output.decode("utf-8")


def assert_quiet(command: list[str], output: str) -> None:
    """At INFO: no DEBUG line, no traceback, and never the webhook's secret path."""
    assert " DEBUG: " not in output, f"{shlex.join(command)} logged DEBUG lines"
    assert "Traceback" not in output, output[-3000:]
    assert "secret-token" not in output


@pytest.mark.slow
@pytest.mark.timeout(4 * HANG_GUARD)
async def test_the_quick_start_runs_as_written(tmp_path: Path) -> None:
    settings, commands = quick_start()
    pip_install = ["python3", "-m", "pip", "install"]
    installs = [command for command in commands if command[:4] == pip_install]
    assert len(installs) == 1
    commands.remove(installs[0])
    assert len(commands) == 4, commands

    async with WebhookServer() as webhook:
        settings_module(tmp_path, settings, webhook.url)
        outputs = []
        for command in commands:
            if "EVENT" in command:  # the plot's event: the top mover of the table before
                top = re.search(r"^1 +(\d+) ", outputs[-1], re.M)
                assert top is not None, outputs[-1]
                command = [top.group(1) if word == "EVENT" else word for word in command]
            status, output = await run(tmp_path, command)
            assert status == 0, f"{shlex.join(command)} exited {status}:\n{output[-3000:]}"
            assert_quiet(command, output)
            outputs.append(output)
        posts = list(webhook.received)

    # A spreadsheet: one row per match, kick-off as a date and time, odds as numbers.
    with (tmp_path / "odds.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) > 50
    assert {"home_team", "away_team", "start_time", "home_odds", "away_odds"} <= set(rows[0])
    assert all(float(row["home_odds"]) > 1 for row in rows)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", rows[0]["start_time"])

    # The watch: its changes, polls enough to see some, and alerts by the README's rules.
    feed = (tmp_path / "changes.jsonl").read_text(encoding="utf-8")
    changes = [json.loads(line) for line in feed.splitlines()]
    assert any(change["kind"] == "moved" for change in changes)
    polls = re.search(r"'kwiff/watch/polls': (\d+)", outputs[1])
    assert polls is not None, outputs[1][-3000:]
    assert int(polls.group(1)) >= 2, outputs[1][-3000:]
    assert posts, "the watch posted no alert to the webhook"
    lines = [line for post in posts for line in post.json()["content"].splitlines()]
    moves = [float(match.group(1)) for line in lines if (match := CHANGE.search(line))]
    assert moves, lines
    assert all(move <= -15.0 for move in moves), lines  # drops of 15 % or more
    assert lines[0] in outputs[1]  # KWIFF_ALERT_LOG: in the log too

    # The history: the biggest movers, then one match as a plot.
    assert "biggest moves" in outputs[2], outputs[2]
    assert (tmp_path / "odds.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "Drew " in outputs[3], outputs[3]


def readme_command(heading: str) -> tuple[dict[str, str], list[str]]:
    """The first command of a README section's first shell block: its ``NAME=value``
    prefixes as an environment, and the command."""
    text = section(README.read_text(encoding="utf-8"), heading)
    words = shlex.split(code_blocks(text, "sh")[0].splitlines()[0], comments=True)
    environment = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        environment[name] = value
    return environment, words


async def test_a_crawl_runs_from_outside_the_clone_as_the_readme_says(tmp_path: Path) -> None:
    variables, command = readme_command("Running from outside the clone")
    assert variables == {"SCRAPY_SETTINGS_MODULE": "kwiff_scrapy.settings"}
    assert command[:2] == ["scrapy", "crawl"]
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", *command, "-s", "KWIFF_ENDPOINT=simulator"],
        cwd=tmp_path,  # no scrapy.cfg here, nor above
        env={**crawl_environment("error::RuntimeWarning"), **variables},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), HANG_GUARD)
    assert process.returncode == 0, output.decode()[-3000:]
    events = json.loads((tmp_path / "events.json").read_text(encoding="utf-8"))
    assert len(events) > 100
    assert {"event_id", "home_team", "markets"} <= set(events[0])
