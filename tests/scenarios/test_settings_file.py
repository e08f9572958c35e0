"""The settings file the README points at is the one ``scrapy crawl`` reads.

As a user meets it: a clone, installed with the README's command into a fresh
virtualenv, ``kwiff_scrapy/settings.py`` edited, then the README's offline crawl. The
clone is a copy in a temporary directory; the virtualenv borrows the dependencies of
the one running the tests (a ``.pth`` file: no download), so its install is
``--no-deps``. The crawl runs as the ``scrapy`` script does: the working directory is
not on ``sys.path`` (``python -P``), so only the install decides which copy of
``kwiff_scrapy`` is imported.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from ..support.crawl_process import HANG_GUARD, PROJECT_ROOT, crawl_environment

pytestmark = pytest.mark.slow

#: What a clone needs to be installed and crawled (the rest is tests and tooling).
CLONE_CONTENT = ("pyproject.toml", "README.md", "scrapy.cfg", "kwiff_scrapy")
SETTINGS_FILE = Path("kwiff_scrapy/settings.py")
EDIT = """
KWIFF_COUNTRY = "IE"
LOG_LEVEL = "DEBUG"
FEED_EXPORT_FIELDS = ["event_id", "home_team"]
"""


def readme_offline_command() -> tuple[list[str], list[str]]:
    """The README's offline main command: its install and its crawl, as arguments."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    [line] = [
        line
        for line in readme.splitlines()
        if line.startswith("python3 -m pip install ") and "KWIFF_ENDPOINT=simulator" in line
    ]
    install, crawl = line.split(" && ")
    return shlex.split(install), shlex.split(crawl)


def clone(destination: Path) -> Path:
    destination.mkdir()
    for name in CLONE_CONTENT:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / name)
    return destination


def virtualenv(path: Path) -> Path:
    """A fresh virtualenv seeing this one's packages; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "kwiff_test_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    return python


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = crawl_environment("default")
    environment.pop("PYTHONPATH", None)
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True,
        timeout=HANG_GUARD, check=False,
    )  # fmt: skip


def test_the_readme_names_the_settings_file() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{SETTINGS_FILE}`" in readme
    assert re.search(
        r"^default = kwiff_scrapy\.settings$", (PROJECT_ROOT / "scrapy.cfg").read_text(), re.M
    )


def test_an_edit_of_the_settings_file_takes_effect(tmp_path: Path) -> None:
    install, crawl = readme_offline_command()
    assert install[:4] == ["python3", "-m", "pip", "install"], install
    assert crawl[:2] == ["scrapy", "crawl"], crawl
    project = clone(tmp_path / "kwiff_scrapy")
    python = virtualenv(tmp_path / "venv")

    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    installed = run([*pip, *install[4:]], project)
    assert installed.returncode == 0, installed.stderr[-3000:]

    with (project / SETTINGS_FILE).open("a", encoding="utf-8") as settings:
        settings.write(EDIT)
    result = run([str(python), "-P", "-m", "scrapy", *crawl[1:]], project)

    assert result.returncode == 0, result.stderr[-3000:]
    assert '"country":"IE"' in result.stderr  # KWIFF_COUNTRY, in the DEBUG log (LOG_LEVEL)
    events = json.loads((project / "events.json").read_text(encoding="utf-8"))
    assert len(events) == 111
    assert {tuple(event) for event in events} == {("event_id", "home_team")}


def test_a_plain_install_warns_that_edits_are_ignored(tmp_path: Path) -> None:
    project = clone(tmp_path / "kwiff_scrapy")
    python = virtualenv(tmp_path / "venv")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "."]
    installed = run(pip, project)
    assert installed.returncode == 0, installed.stderr[-3000:]

    result = run([str(python), "-P", "-m", "scrapy", "list"], project)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        f"not {project / SETTINGS_FILE}: edits to the clone (settings, spiders) are ignored. "
        "Install the clone with: python3 -m pip install -e ."
    ) in result.stderr
