"""A test that needs a package of the ``test`` extra, or a service, skips where it is
missing (saying what to do) and fails under ``CI=true``: CI never passes by skipping."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ..support import extras

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("in_ci", [False, True])
def test_a_missing_package_skips_saying_how_to_install_it_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, in_ci: bool
) -> None:
    monkeypatch.setattr(extras, "IN_CI", in_ci)
    outcome = pytest.fail.Exception if in_ci else pytest.skip.Exception
    with pytest.raises(outcome) as info:
        extras.require("kwiff_no_such_module", "fast", "the typed path")
    message = str(info.value)
    assert message.startswith("the typed path needs kwiff_no_such_module (")
    assert "pip install -e '.[fast]'" in message
    assert ("CI=true" in message) is in_ci


def test_an_installed_package_is_returned() -> None:
    assert extras.require("json", "fast", "nothing") is json


def test_every_skip_of_the_suite_goes_through_the_one_helper() -> None:
    """``importorskip``, ``pytest.skip`` and ``skipif`` would pass silently in CI."""
    skipping = re.compile(r"importorskip|pytest\.skip\(|mark\.skip")
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}"
        for path in (PROJECT_ROOT / "tests").rglob("*.py")
        if path.name not in {"extras.py", Path(__file__).name}
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if skipping.search(line)
    ]
    assert offenders == [], "skip through tests/support/extras.py instead"
