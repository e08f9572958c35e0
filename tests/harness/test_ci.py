"""``.ci/run`` runs the README's test command exactly, and fails whenever it fails.

The script is run for real with stand-ins for ``python3``, ``ruff`` and ``mypy`` first on
its ``PATH``: each records that it ran and exits with the status the test chose.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CI_SCRIPT = PROJECT_ROOT / ".ci" / "run"
README = PROJECT_ROOT / "README.md"
#: How long the script may take with stand-ins before the test fails instead of hanging.
HANG_GUARD = 60.0

PYTHON_STAND_IN = """#!/usr/bin/env bash
echo "python3 $*" >> "$CALLS"
case "$*" in
    "-m venv "*) mkdir -p .venv-ci/bin && : > .venv-ci/bin/activate ;;
    "-m pip install -e .[test]") exit "$INSTALL_STATUS" ;;
    "-m pytest"*) exit "$PYTEST_STATUS" ;;
esac
"""
TOOL_STAND_IN = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$CALLS"
"""


def readme_test_command() -> str:
    """The one command of the README's **Tests** paragraph."""
    match = re.search(r"\*\*Tests\*\*.*?```sh\n(.+?)\n```", README.read_text(), re.DOTALL)
    assert match is not None, "README.md has no **Tests** paragraph with a sh block"
    return match.group(1)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    command = readme_test_command()
    assert command == "python3 -m pip install -e '.[test]' && python3 -m pytest"
    run_lines = [
        line for line in CI_SCRIPT.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    assert any(line.startswith(command) for line in run_lines), (
        f".ci/run does not run the README's test command {command!r} on a line of its own"
    )


def run_ci(tmp_path: Path, install_status: int, pytest_status: int) -> tuple[int, list[str]]:
    """Run a copy of .ci/run with stand-ins; its exit status and the commands it ran."""
    checkout = tmp_path / "checkout"
    (checkout / ".ci").mkdir(parents=True)
    shutil.copy(CI_SCRIPT, checkout / ".ci" / "run")
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    for name, text in [
        ("python3", PYTHON_STAND_IN),
        ("ruff", TOOL_STAND_IN),
        ("mypy", TOOL_STAND_IN),
        ("chromium", TOOL_STAND_IN),  # installed: .ci/run installs no browser
    ]:
        path = stand_ins / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "calls"
    calls.touch()
    environment = {
        **os.environ,
        "PATH": f"{stand_ins}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(calls),
        "INSTALL_STATUS": str(install_status),
        "PYTEST_STATUS": str(pytest_status),
    }
    result = subprocess.run(
        ["bash", str(checkout / ".ci" / "run")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    return result.returncode, calls.read_text().splitlines()


def test_ci_passes_and_checks_style_and_types_when_the_tests_pass(tmp_path: Path) -> None:
    status, calls = run_ci(tmp_path, install_status=0, pytest_status=0)
    assert status == 0
    assert calls == [
        "python3 -m venv --clear .venv-ci",
        "python3 -m pip install --quiet --upgrade pip",
        "python3 -m pip install -e .[test]",
        "python3 -m pytest",
        "ruff check .",
        "ruff format --check .",
        "mypy ",
        "python3 -m pip install --quiet -e .[docs]",
        "python3 -m sphinx -W --keep-going -n -E -q -b html docs docs/_build/html",
    ]


@pytest.mark.parametrize(
    ("install_status", "pytest_status", "why"),
    [
        (1, 0, "the install failed"),
        (0, 1, "a test failed"),
        (0, 5, "pytest collected no test"),
        (0, 2, "pytest was interrupted"),
    ],
)
def test_ci_fails_when_the_test_command_fails(
    tmp_path: Path, install_status: int, pytest_status: int, why: str
) -> None:
    status, calls = run_ci(tmp_path, install_status, pytest_status)
    assert status != 0, f"CI passed although {why}"
    assert "ruff check ." not in calls
    assert ("python3 -m pytest" in calls) is (install_status == 0)
