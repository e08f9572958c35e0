"""The README is a page to start with: short, in the order a new user needs it, and every
link it has leads somewhere."""

from __future__ import annotations

import pytest

from .pages import DOCS, README, ROOT, anchor, headings, links

#: The README's sections, in order (issue 17, item 13): what it is comes first, untitled.
SECTIONS = [
    "The two commands",
    "Quick start (offline)",
    "Where settings go",
    "Running from outside the clone",
    "Several workers against one simulator",
    "When something goes wrong",
    "Documentation",
]


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_the_readme_has_at_most_400_lines() -> None:
    assert len(readme().splitlines()) <= 400


def test_the_readme_has_its_sections_in_order() -> None:
    found = [heading for heading in headings(readme()) if heading in SECTIONS]
    assert found == SECTIONS
    assert headings(readme())[0] == "kwiff_scrapy"


@pytest.mark.parametrize("target", links(README.read_text(encoding="utf-8")))
def test_every_link_of_the_readme_leads_somewhere(target: str) -> None:
    path, _, fragment = target.partition("#")
    page = ROOT / path if path else README
    assert page.is_file(), f"{target}: no file {page.relative_to(ROOT)}"
    if fragment:
        anchors = {anchor(heading) for heading in headings(page.read_text(encoding="utf-8"))}
        assert fragment in anchors, f"{target}: no such heading in {page.name}"


def test_the_readme_links_to_every_docs_page() -> None:
    linked = {target.partition("#")[0] for target in links(readme())}
    pages = {f"docs/{page.name}" for page in DOCS.glob("*.md")}
    assert pages - linked == set()


def test_the_readme_keeps_the_two_commands_verbatim() -> None:
    text = readme()
    assert "python3 -m pip install -e '.[test]' && python3 -m pytest" in text
    assert "scrapy crawl kwiff_football -O events.json\n" in text
    assert "scrapy crawl kwiff_football -s KWIFF_ENDPOINT=simulator -O events.json\n" in text
