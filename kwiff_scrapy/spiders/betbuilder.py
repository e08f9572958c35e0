from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import defaults
from ..integration import stats
from ..integration.http import KwiffRequest
from ..model.parsing import parse_price_groups
from .base import KwiffSpider

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from ..integration.http import KwiffResponse
    from ..model.items import PricedGroup

GROUPS_SHAPE = (
    'a non-empty JSON list of groups such as [{"eventId": 10748848, "outcomeIds": '
    '[107488480101, 107488480301]}] (positive integer ids; "source" is optional, '
    f"default {defaults.BET_BUILDER_SOURCE}), "
    "given inline or as the path of a JSON file"
)


def load_groups(value: str) -> list[dict[str, Any]]:
    """Read ``-a groups=...``: the path of an existing JSON file, else inline JSON."""
    if os.path.isfile(value):
        where, problem = f"groups file {value!r}", "is not valid JSON"
        try:
            text = Path(value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {where}: {exc}") from exc
    else:
        where, problem, text = "groups", "is neither an existing file nor valid JSON", value
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} {problem} ({exc}): expected {GROUPS_SHAPE}") from exc
    return outcome_groups(raw, where)


def outcome_groups(raw: Any, where: str = "groups") -> list[dict[str, Any]]:
    """Check decoded groups; return them as ``ticket:odds:get`` wants them."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where} must be {GROUPS_SHAPE}")
    return [_outcome_group(group, f"{where}[{n}]") for n, group in enumerate(raw)]


def _outcome_group(raw: Any, where: str) -> dict[str, Any]:
    group = raw if isinstance(raw, dict) else {}
    event_id, outcome_ids = group.get("eventId"), group.get("outcomeIds")
    source = group.get("source", defaults.BET_BUILDER_SOURCE)
    valid = (
        _is_positive_integer(event_id)
        and isinstance(outcome_ids, list)
        and bool(outcome_ids)
        and all(_is_positive_integer(outcome_id) for outcome_id in outcome_ids)
        and _is_positive_integer(source)
    )
    if not valid:
        raise ValueError(f"{where} is {json.dumps(raw)[:200]}: groups must be {GROUPS_SHAPE}")
    return {"source": source, "outcomeIds": outcome_ids, "eventId": event_id}


def _is_positive_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class KwiffBetBuilderSpider(KwiffSpider):
    """Prices bet-builder combinations: ``-a groups=FILE.json`` or ``-a groups='[...]'``.

    Sends the groups with ``ticket:odds:get``, :attr:`groups_per_command` at a time, and
    yields one :class:`~kwiff_scrapy.model.items.PricedGroup` per group answered. A group the
    service cannot price (``odds`` null) is yielded with ``odds`` None and counted as
    ``kwiff/betbuilder/unpriced``; groups missing from an answer are counted as
    ``kwiff/betbuilder/unanswered``.
    """

    name = "kwiff_betbuilder"
    groups_per_command: int = 50

    def __init__(self, *args: Any, groups: str | list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not groups:
            raise ValueError(f"give the groups to price with -a groups=...: {GROUPS_SHAPE}")
        self.groups = load_groups(groups) if isinstance(groups, str) else outcome_groups(groups)

    async def start(self) -> AsyncIterator[KwiffRequest]:
        size = self.groups_per_command
        for first in range(0, len(self.groups), size):
            payload = {"betBuilderOutcomeGroups": self.groups[first : first + size]}
            # Two identical batches are both wanted: the user listed them.
            yield KwiffRequest(
                "ticket:odds:get", payload, callback=self.parse_prices, dont_filter=True
            )

    def parse_prices(self, response: KwiffResponse) -> Iterator[PricedGroup]:
        priced = self.parse_with(response, parse_price_groups)
        sent = len(response.payload["betBuilderOutcomeGroups"])
        if len(priced) < sent:
            self.logger.warning("ticket:odds:get answered %d of %d groups", len(priced), sent)
            self.count(stats.BETBUILDER_UNANSWERED, sent - len(priced))
        for group in priced:
            if group.odds is not None:
                self.count(stats.BETBUILDER_PRICED)
            else:
                self.count(stats.BETBUILDER_UNPRICED)
            yield group
