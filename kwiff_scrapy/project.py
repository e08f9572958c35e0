"""A check for this repository's Scrapy project: is the settings file read the clone's?

After ``pip install .`` (not ``-e``), ``scrapy crawl`` in a clone imports the copy of
``kwiff_scrapy`` installed in the virtualenv: its ``settings.py`` and spiders, not the
clone's, so edits to the clone do nothing. :func:`warn_if_not_the_clones` (called by the
project's ``settings.py``) says so, with the command that fixes it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from scrapy.utils.conf import closest_scrapy_cfg

#: The settings file of the project, relative to the directory of its ``scrapy.cfg``.
SETTINGS_FILE = Path("kwiff_scrapy") / "settings.py"


class InstalledCopyWarning(UserWarning):
    """The project's settings come from an installed copy, not from the clone."""


def warn_if_not_the_clones(settings_file: str, cfg_file: str | None = None) -> None:
    """Warn if the clone around the working directory has a settings file other than
    *settings_file* (the one being read). *cfg_file*: the clone's ``scrapy.cfg``
    (default: the closest one)."""
    cfg = cfg_file if cfg_file is not None else closest_scrapy_cfg()
    if not cfg:
        return
    clones = Path(cfg).parent / SETTINGS_FILE
    read = Path(settings_file)
    if not clones.is_file() or clones.resolve() == read.resolve():
        return
    warnings.warn(
        f"Scrapy reads {read}, an installed copy, not {clones}: edits to the clone "
        "(settings, spiders) are ignored. Install the clone with: python3 -m pip install -e .",
        InstalledCopyWarning,
        stacklevel=2,
    )
