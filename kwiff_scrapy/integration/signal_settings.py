"""``KWIFF_SIGNALS*``: the signal rules, read and checked once (see :mod:`..model.signal_rules`).

``KWIFF_SIGNALS`` is a list of rules (in a Scrapy settings module), or a string: the
path of an existing JSON file, else inline JSON, as the bet-builder spider reads its
groups. Unset or empty means the defaults: one rule of each kind; ``[]`` no rules.
The watch runs the detectors when ``KWIFF_SIGNALS`` is set or ``KWIFF_SIGNALS_ENABLED``
is true.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model.signal_rules import DEFAULT_RULES, RULES_SHAPE, SignalRule, parse_rules

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

SETTING = "KWIFF_SIGNALS"
ENABLED_SETTING = "KWIFF_SIGNALS_ENABLED"


@dataclass(frozen=True, slots=True)
class SignalSettings:
    """Whether the watch detects signals, and with which rules."""

    enabled: bool = False
    rules: tuple[SignalRule, ...] = ()

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> SignalSettings:
        """Read and validate; a bad value raises ``ValueError`` naming the setting."""
        value = settings.get(SETTING)
        try:
            enabled = settings.getbool(ENABLED_SETTING, False)
        except ValueError:
            raise ValueError(
                f"{ENABLED_SETTING} must be True or False (or 1/0, true/false), "
                f"not {settings.get(ENABLED_SETTING)!r}"
            ) from None
        given = value is not None and not (isinstance(value, str) and not value.strip())
        if not (enabled or given):
            return cls()
        return cls(enabled=True, rules=tuple(load_signal_rules(value)))


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
