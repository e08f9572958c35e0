"""Spider arguments (``-a NAME=VALUE``) read strictly: a value or a name that cannot be
used raises ``ValueError`` saying what is expected, and the crawl stops before it starts.

- :func:`boolean`: ``1/true/yes/on`` or ``0/false/no/off``; anything else is an error.
- :func:`unknown_arguments`: an argument the spider does not take, with the known ones.
- :func:`selection`: ``markets=``, ``within=``, ``date=`` and ``tz=``
  (a :class:`~kwiff_scrapy.model.selection.Selection`).
- :func:`layout` / :func:`feed_layout`: ``layout=nested|flat|match`` (and ``flat=1``),
  flat rows when a feed is CSV and no layout was asked for.
"""

from __future__ import annotations

import difflib
import inspect
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..model.match_rows import RESULT_MARKETS
from ..model.selection import Selection, TimeWindow

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
#: Arguments Scrapy's own tools give every spider: ``name`` (``scrapy.Spider``) and
#: ``_job`` (scrapyd's job id).
SCRAPY_ARGUMENTS: tuple[str, ...] = ("_job", "name")

NESTED, FLAT, MATCH = "nested", "flat", "match"
LAYOUTS: tuple[str, ...] = (NESTED, FLAT, MATCH)
#: Feed formats that cannot hold nested events.
FLAT_FEED_FORMATS = frozenset({"csv"})

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def boolean(value: Any, name: str) -> bool:
    """``-a NAME=1`` / ``true`` / ``yes`` / ``on`` (or 0 / false / no / off)."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(
        f"{name} must be a boolean: 1, true, yes or on / 0, false, no or off, not {value!r}"
    )


def known_arguments(spider_class: type) -> list[str]:
    """The keyword arguments of every ``__init__`` along *spider_class*'s MRO, and the
    names it lists in ``extra_arguments``: the spider's own arguments, sorted."""
    names: set[str] = set(getattr(spider_class, "extra_arguments", ()))
    for klass in spider_class.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                names.add(parameter.name)
    names.discard("self")
    return sorted(names - set(SCRAPY_ARGUMENTS))


def unknown_arguments(spider_class: type, given: Iterable[str]) -> None:
    """Raise ``ValueError`` naming the arguments in *given* that are not
    :data:`SCRAPY_ARGUMENTS` nor in the class's ``extra_arguments``, with the known ones."""
    extra = set(getattr(spider_class, "extra_arguments", ()))
    unknown = [name for name in given if name not in SCRAPY_ARGUMENTS and name not in extra]
    if not unknown:
        return
    known = known_arguments(spider_class)
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]}?)" if close else ""))
    spider = getattr(spider_class, "name", None) or spider_class.__name__
    plural = "s" if len(unknown) > 1 else ""
    raise ValueError(
        f"unknown argument{plural} {', '.join(hints)}: {spider} takes "
        f"{', '.join(known) or 'no argument'}; Scrapy's own: {', '.join(SCRAPY_ARGUMENTS)}"
    )


# -- markets and time window --------------------------------------------------------------


def market_names(value: str | Iterable[str] | None) -> list[str] | None:
    """``-a markets="Full Time Result,Both Teams To Score"``: the names, or None (all)."""
    if value is None:
        return None
    pieces = value.split(",") if isinstance(value, str) else list(value)
    names = [name.strip() for name in pieces if name.strip()]
    if not names:
        raise ValueError('markets must be market names separated by commas: -a markets="Full '
                         'Time Result,Both Teams To Score"')  # fmt: skip
    return names


def duration(value: str) -> timedelta:
    """``-a within=24h`` (``s``, ``m``, ``h``, ``d``; ``1d12h`` adds up)."""
    text = value.strip().lower()
    parts = list(_DURATION.finditer(text))
    if not parts or "".join(part.group(0) for part in parts) != text.replace(" ", ""):
        raise ValueError(f"within must be a duration such as 24h, 90m, 2d or 1d12h, not {value!r}")
    seconds = sum(float(part.group(1)) * _UNIT_SECONDS[part.group(2)] for part in parts)
    if seconds <= 0:
        raise ValueError(f"within must be longer than nothing, not {value!r}")
    return timedelta(seconds=seconds)


def day(value: str) -> date | None:
    """``-a date=today`` (None: today, then) or ``-a date=2026-12-08``."""
    text = value.strip().lower()
    if text == "today":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date must be today or a day such as 2026-12-08, not {value!r}") from None


def time_zone(value: str | None) -> ZoneInfo:
    """``-a tz=Europe/London`` (default UTC): an IANA time zone name."""
    name = (value or "UTC").strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"tz must be an IANA time zone name such as Europe/London or UTC, not {value!r}"
        ) from None


def time_window(within: str | None, on: str | None, tz: str | None) -> TimeWindow | None:
    """The window of ``within=`` or ``date=`` (in ``tz=``), or None if neither is given."""
    if within is not None and on is not None:
        raise ValueError("give -a within=24h or -a date=today, not both")
    if tz is not None and on is None:
        raise ValueError("tz sets the time zone of -a date=...: give a date too")
    if within is not None:
        return TimeWindow(within=duration(within))
    if on is not None:
        return TimeWindow(day=day(on), zone=time_zone(tz))
    return None


def selection(
    markets: str | Iterable[str] | None,
    within: str | None,
    on: str | None,
    tz: str | None,
    chosen_layout: str | None = None,
) -> Selection | None:
    """What the parsers keep (None: everything). ``layout=match`` needs only the
    result markets, so those alone are built unless ``markets=`` names others."""
    names = market_names(markets)
    if names is None and chosen_layout == MATCH:
        names = list(RESULT_MARKETS)
    window = time_window(within, on, tz)
    if names is None and window is None:
        return None
    return Selection.of(names, window)


# -- layout -------------------------------------------------------------------------------


def layout(value: str | None, flat: Any) -> str | None:
    """``-a layout=nested|flat|match``; ``-a flat=1`` is ``layout=flat``. None: not asked."""
    is_flat = boolean(flat, "flat") if flat is not None else None
    if value is None:
        return FLAT if is_flat else (NESTED if is_flat is False else None)
    chosen = value.strip().lower()
    if chosen not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {value!r}")
    if is_flat is not None and (chosen == FLAT) != is_flat:
        raise ValueError(f"give -a layout={chosen} or -a flat={flat}, not both")
    return chosen


def flat_feeds(feeds: Mapping[str, Any]) -> list[str]:
    """The feeds (URIs) whose format cannot hold nested events (CSV)."""
    return [
        uri
        for uri, options in feeds.items()
        if isinstance(options, dict) and options.get("format") in FLAT_FEED_FORMATS
    ]


def feed_layout(chosen: str | None, feeds: Mapping[str, Any]) -> tuple[str, str | None]:
    """The layout for these feeds, and the INFO line to log when it was chosen for the
    user: flat rows when a feed is CSV and no layout was asked for. Nested events into
    a CSV feed (Python reprs in its cells) is an error."""
    csv_feeds = flat_feeds(feeds)
    if chosen is None:
        if not csv_feeds:
            return NESTED, None
        return FLAT, (
            f"Writing one flat row per outcome, as the CSV feed {csv_feeds[0]} needs "
            "(-a layout=match: one row per match)"
        )
    if chosen == NESTED and csv_feeds:
        raise ValueError(
            f"the CSV feed {csv_feeds[0]} cannot hold nested events: "
            "use -a layout=flat (one row per outcome) or -a layout=match (one row per match), "
            "or a JSON feed (-O events.json)"
        )
    return chosen, None
