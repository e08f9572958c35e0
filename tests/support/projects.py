"""A Scrapy project of a user's, using the plugin as docs/existing-project.md says."""

from __future__ import annotations

from pathlib import Path

from ..docs.pages import DOCS, code_blocks

PROJECT = "myproject"
#: The settings besides those docs/existing-project.md shows: what any project has.
OWN_SETTINGS = f"""
BOT_NAME = "{PROJECT}"
SPIDER_MODULES = ["{PROJECT}.spiders", "kwiff_scrapy.spiders"]
COMMANDS_MODULE = "kwiff_scrapy.commands"
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
"""


def write_project(root: Path, deploy_url: str | None = None) -> Path:
    """A Scrapy project in *root* whose settings and spider are those of
    docs/existing-project.md (with the plugin's spiders too), with a ``[deploy]`` target
    for Scrapyd at *deploy_url* if given: *root*."""
    page = (DOCS / "existing-project.md").read_text(encoding="utf-8")
    settings, spider = code_blocks(page, "python")
    assert "ADDONS" in settings
    assert "class MySpider" in spider
    package = root / PROJECT
    (package / "spiders").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(settings + OWN_SETTINGS)
    (package / "spiders" / "__init__.py").write_text("")
    (package / "spiders" / "my_kwiff.py").write_text(spider)
    deploy = f"\n[deploy]\nurl = {deploy_url}\nproject = {PROJECT}\n" if deploy_url else ""
    (root / "scrapy.cfg").write_text(f"[settings]\ndefault = {PROJECT}.settings\n{deploy}")
    return root
