"""The README and the docs pages as text: sections, code blocks and links."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def section(text: str, heading: str) -> str:
    """The text under the ``## heading`` (exactly), up to the next ``##`` heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match is not None, f"no '## {heading}' section"
    return match.group(1)


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S)


def headings(text: str) -> list[str]:
    """Every Markdown heading outside code blocks, without its ``#`` marks."""
    found: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^#{1,6} (.+)$", line)):
            found.append(match.group(1))
    return found


def anchor(heading: str) -> str:
    """GitHub's (and MyST's) anchor of a heading: lower case, punctuation dropped."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def links(text: str) -> list[str]:
    """The targets of every inline Markdown link that is not a web address."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [target for target in targets if not re.match(r"^[a-z]+://", target)]
