"""The sports Kwiff is known to serve, and how a user may name one.

Only football and basketball ids are known. Any other sport can still be asked
for by its plain numeric id.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Known sports by lower-case name.
SPORT_IDS: Mapping[str, int] = MappingProxyType({"football": 11, "basketball": 36})

_DISPLAY_NAMES: Mapping[int, str] = MappingProxyType(
    {sport_id: name.capitalize() for name, sport_id in SPORT_IDS.items()}
)

# ASCII digits only: str.isdigit() would also accept "²" or Arabic-Indic digits.
_NUMERIC_ID = re.compile(r"[0-9]+")


def sport_name(sport_id: int) -> str | None:
    """Return the display name of a known sport id ("Football"), or None."""
    return _DISPLAY_NAMES.get(sport_id)


def resolve_sport(value: str | int) -> int:
    """Return the sport id for a known name (any case) or a positive numeric id.

    Raises ValueError for anything else, naming the sports that are known.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value > 0:
            return value
    elif isinstance(value, str):
        text = value.strip()
        known_id = SPORT_IDS.get(text.casefold())
        if known_id is not None:
            return known_id
        if _NUMERIC_ID.fullmatch(text) and int(text) > 0:
            return int(text)
    known = ", ".join(sorted(SPORT_IDS))
    raise ValueError(f"unknown sport {value!r}: use one of {known}, or a numeric sport id")


def sport_argument(sport: str | None = None, sport_id: str | int | None = None) -> int:
    """The sport of ``-a sport=NAME`` or ``-a sport_id=NUMBER`` (neither: football)."""
    if sport is not None and sport_id is not None:
        raise ValueError("give -a sport=NAME or -a sport_id=NUMBER, not both")
    return resolve_sport(sport_id if sport_id is not None else (sport or "football"))


#: Codes people give that are not the ISO 3166 code of the country they mean.
COUNTRY_SLIPS: Mapping[str, str] = MappingProxyType({"UK": "GB", "EN": "GB"})


def country_code(value: str) -> str:
    """An ISO 3166 alpha-2 country code, upper-cased (``gb`` -> ``GB``); ValueError otherwise
    (``UK``: "did you mean GB?")."""
    code = value.strip().upper()
    if code in COUNTRY_SLIPS:
        meant = COUNTRY_SLIPS[code]
        raise ValueError(
            f"country {value!r} is not an ISO 3166 alpha-2 code: did you mean {meant}?"
        )
    if len(code) != 2 or not code.isalpha():
        raise ValueError(
            f"country must be an ISO 3166 alpha-2 code such as GB or IE, not {value!r}"
        )
    return code
