"""Each formula lives in one function of model/ that every front end calls."""

from __future__ import annotations

import ast
from pathlib import Path

import kwiff_scrapy.model

PACKAGE = Path(kwiff_scrapy.model.__file__).resolve().parents[1]


def functions_named(name: str) -> list[str]:
    """The modules of the package that define a function called *name*."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found += [
            path.relative_to(PACKAGE).as_posix()
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
        ]
    return found


def test_the_relative_change_of_odds_is_defined_once_in_the_model() -> None:
    assert functions_named("relative_change") == ["model/changes.py"]


def modules_writing_the_service_time_format() -> list[str]:
    """Modules with a ``strftime`` pattern of an ISO time or an ``isoformat(timespec=...)``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        if any(
            (isinstance(node, ast.keyword) and node.arg == "timespec")
            or (isinstance(node, ast.Constant) and "%Y-%m-%dT" in str(node.value))
            for node in ast.walk(tree)
        ):
            found.append(path.relative_to(PACKAGE).as_posix())
    return found


def test_the_service_time_format_is_written_in_one_place() -> None:
    assert modules_writing_the_service_time_format() == ["model/values.py"]
