"""A setting given as a Python value, the path of a JSON file, or inline JSON.

``KWIFF_ALERT_ROUTES`` is read this way (as ``KWIFF_SIGNALS`` and the bet-builder
spider's groups are): a list in a Scrapy settings module is taken as it is; a string is
the path of an existing file holding JSON, or else the JSON itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def read_json_setting(value: Any, setting: str, shape: str) -> tuple[Any, str]:
    """The decoded value and where it came from (``KWIFF_ALERT_ROUTES`` or ``KWIFF_ALERT_ROUTES
    file 'routes.json'``), for messages. A string that is neither an existing file nor
    valid JSON, or a file that cannot be read, raises ``ValueError`` saying *shape*."""
    if not isinstance(value, str):
        return value, setting
    if os.path.isfile(value):
        where, problem = f"{setting} file {value!r}", "is not valid JSON"
        try:
            text = Path(value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {where}: {exc}") from exc
    else:
        where, problem, text = setting, "is neither an existing file nor valid JSON", value
    try:
        return json.loads(text), where
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} {problem} ({exc}): expected {shape}") from exc
