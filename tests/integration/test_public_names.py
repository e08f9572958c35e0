"""Every public name the README and the docs pages show imports, and so do the names of
earlier releases."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

#: Names the README showed before the package was split into layer folders.
EARLIER_NAMES = (
    "kwiff_scrapy.Addon",
    "kwiff_scrapy.KwiffClient",
    "kwiff_scrapy.KwiffRequest",
    "kwiff_scrapy.KwiffResponse",
    "kwiff_scrapy.errors.CommandError",
    "kwiff_scrapy.errors.HandshakeRefused",
    "kwiff_scrapy.errors.KwiffError",
    "kwiff_scrapy.items.KwiffEvent",
    "kwiff_scrapy.items.OutcomeRow",
    "kwiff_scrapy.parsing.Answer",
    "kwiff_scrapy.parsing.parse_answer",
    "kwiff_scrapy.parsing.parse_event_detail",
    "kwiff_scrapy.parsing.parse_events",
    "kwiff_scrapy.pool.Backoff",
    "kwiff_scrapy.signals.unsolicited_event",
    "kwiff_scrapy.simulator.SimulatorConfig",
    "kwiff_scrapy.spiders.base.KwiffEventListSpider",
    "kwiff_scrapy.handler.KwiffDownloadHandler",
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


@pytest.mark.parametrize("dotted", EARLIER_NAMES)
def test_names_of_earlier_releases_still_import(dotted: str) -> None:
    resolve(dotted)


def test_an_old_module_path_is_the_new_module() -> None:
    from kwiff_scrapy import items
    from kwiff_scrapy.model import items as model_items

    assert items is model_items
    assert resolve("kwiff_scrapy.parsing.Answer") is resolve(
        "kwiff_scrapy.integration.answer.Answer"
    )
