"""Packages of the ``test`` extra, and services, that a test needs.

Where one is missing, the test is skipped with what to do, except under ``CI=true``: CI
installs the ``test`` extra and runs the services, so there a missing one fails the test.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(message: str) -> NoReturn:
    """Skip the test (or the module, at import) saying *message*; fail it under ``CI=true``."""
    if IN_CI:
        pytest.fail(f"{message} (CI=true: every test must run)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require(module: str, extra: str, needed_for: str) -> ModuleType:
    """Import *module* (of the pyproject extra *extra*), or skip (fail in CI) saying so."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        unavailable(f"{needed_for} needs {module} ({exc}): pip install -e '.[{extra}]'")
