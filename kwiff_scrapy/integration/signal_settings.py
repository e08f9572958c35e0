"""``KWIFF_SIGNALS``: the signal rules, read and checked once (see :mod:`..model.signal_rules`).

The value is a list of rules (in a Scrapy settings module), or a string: the path of
an existing JSON file, else inline JSON, as the bet-builder spider reads its groups.
Unset or empty means the defaults: one rule of each kind. ``[]`` means no rules.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..model.signal_rules import DEFAULT_RULES, RULES_SHAPE, SignalRule, parse_rules

SETTING = "KWIFF_SIGNALS"


def load_signal_rules(value: Any) -> list[SignalRule]:
    """Rules from a ``KWIFF_SIGNALS`` value; a bad one raises ``ValueError`` saying why."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return parse_rules(DEFAULT_RULES, f"{SETTING} (defaults)")
    if not isinstance(value, str):
        return parse_rules(value, SETTING)
    if os.path.isfile(value):
        where, problem = f"{SETTING} file {value!r}", "is not valid JSON"
        try:
            text = Path(value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {where}: {exc}") from exc
    else:
        where, problem, text = SETTING, "is neither an existing file nor valid JSON", value
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} {problem} ({exc}): expected {RULES_SHAPE}") from exc
    return parse_rules(raw, where)
