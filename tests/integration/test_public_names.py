"""Every public name the README and the docs pages show imports; each module has one path;
import is cheap."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.utils.misc import load_object

import kwiff_scrapy

ROOT = Path(__file__).resolve().parents[2]
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

#: The package's own names, which the README shows imported from its root.
ROOT_NAMES = ("Addon", "KwiffClient", "KwiffRequest", "KwiffResponse")

#: Module paths from before the layers had folders: the package was never released with
#: them, so no alias keeps them importing.
OLD_MODULE_PATHS = (
    "kwiff_scrapy.addon",
    "kwiff_scrapy.config",
    "kwiff_scrapy.endpoint",
    "kwiff_scrapy.errors",
    "kwiff_scrapy.handler",
    "kwiff_scrapy.http",
    "kwiff_scrapy.items",
    "kwiff_scrapy.parsing",
    "kwiff_scrapy.pool",
    "kwiff_scrapy.proxy",
    "kwiff_scrapy.session",
    "kwiff_scrapy.signals",
    "kwiff_scrapy.sports",
)


def resolve(dotted: str) -> object:
    """Import the longest module prefix of *dotted*, then get the rest as attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            target = getattr(target, name)
        return target
    raise ModuleNotFoundError(dotted)


def readme_names() -> list[str]:
    text = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    names = set(re.findall(r"`(kwiff_scrapy(?:\.\w+)+)`", text))
    for module, imported in re.findall(r"^from (kwiff_scrapy[\w.]*) import ([\w, ]+)$", text, re.M):
        names.update(f"{module}.{name.strip()}" for name in imported.split(","))
    return sorted(names)


def test_the_readme_names_some_public_names() -> None:
    assert len(readme_names()) >= 10


def test_the_docs_pages_are_read() -> None:
    assert ROOT / "docs" / "client.md" in PAGES


@pytest.mark.parametrize("dotted", readme_names())
def test_every_name_the_readme_shows_imports(dotted: str) -> None:
    resolve(dotted)


@pytest.mark.parametrize("name", ROOT_NAMES)
def test_a_root_name_is_the_class_its_module_defines(name: str) -> None:
    defined_in = {
        "Addon": "kwiff_scrapy.integration.addon",
        "KwiffClient": "kwiff_scrapy.client",
        "KwiffRequest": "kwiff_scrapy.integration.http",
        "KwiffResponse": "kwiff_scrapy.integration.http",
    }[name]
    defined = getattr(importlib.import_module(defined_in), name)

    assert getattr(kwiff_scrapy, name) is defined
    assert load_object(f"kwiff_scrapy.{name}") is defined  # how Scrapy's ADDONS finds it
    namespace: dict[str, object] = {}
    exec(f"from kwiff_scrapy import {name}", namespace)
    assert namespace[name] is defined


def test_a_name_the_root_does_not_have_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'items'"):
        _ = kwiff_scrapy.items  # type: ignore[attr-defined]


@pytest.mark.parametrize("old_path", OLD_MODULE_PATHS)
def test_an_old_module_path_does_not_import(old_path: str) -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old_path)


def test_the_parsers_module_does_not_lend_the_answer_envelope() -> None:
    from kwiff_scrapy.model import parsing

    assert not hasattr(parsing, "Answer")
    assert not hasattr(parsing, "parse_answer")


def test_importing_the_package_imports_neither_scrapy_nor_the_client() -> None:
    code = (
        "import sys, kwiff_scrapy; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scrapy', 'kwiff_scrapy')))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert run.stdout.strip() == "['kwiff_scrapy']"
