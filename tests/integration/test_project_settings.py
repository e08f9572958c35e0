"""The project's settings file, and the warning when an installed copy is read instead."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import kwiff_scrapy.settings
from kwiff_scrapy.project import SETTINGS_FILE, InstalledCopyWarning, warn_if_not_the_clones


def make_clone(root: Path) -> Path:
    (root / SETTINGS_FILE).parent.mkdir(parents=True)
    (root / SETTINGS_FILE).write_text("", encoding="utf-8")
    (root / "scrapy.cfg").write_text("[settings]\ndefault = kwiff_scrapy.settings\n")
    return root / "scrapy.cfg"


def test_an_installed_copy_read_instead_of_the_clones_file_warns(tmp_path: Path) -> None:
    cfg = make_clone(tmp_path / "clone")
    installed = tmp_path / "venv" / "site-packages" / SETTINGS_FILE
    with pytest.warns(InstalledCopyWarning, match="edits to the clone .* are ignored"):
        warn_if_not_the_clones(str(installed), str(cfg))


def test_the_clones_own_file_does_not_warn(tmp_path: Path) -> None:
    cfg = make_clone(tmp_path / "clone")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_not_the_clones(str(tmp_path / "clone" / SETTINGS_FILE), str(cfg))
        warn_if_not_the_clones(str(tmp_path / "elsewhere.py"), "")  # no scrapy.cfg around
        warn_if_not_the_clones(str(tmp_path / "elsewhere.py"), str(tmp_path / "scrapy.cfg"))


def test_this_repository_reads_its_own_file() -> None:
    root = Path(__file__).resolve().parents[2]
    assert Path(kwiff_scrapy.settings.__file__).resolve() == (root / SETTINGS_FILE).resolve()
    assert kwiff_scrapy.settings.LOG_LEVEL == "INFO"
