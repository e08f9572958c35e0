"""Sphinx configuration of the kwiff_scrapy documentation (pages in MyST Markdown)."""

project = "kwiff_scrapy"
author = "kwiff_scrapy contributors"
copyright = "2026, kwiff_scrapy contributors"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# `[text](page.md#a-heading)` links resolve to headings down to ###; one that names no
# heading is a warning, and so a failed build.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

html_theme = "furo"
html_title = "kwiff_scrapy"
html_static_path: list[str] = []
