"""A stand-in for the watch: yields ``OddsChange`` items (and ``OddsSignal`` items, if a
poll has some) poll by poll from ``start()`` and sends ``poll_finished`` after each poll,
counting its changes, as ``kwiff_watch`` does.

In-process tests pass the polls and an ``after_poll`` coroutine function (to wait
for the webhook between polls). ``scrapy runspider`` uses the sample polls, with
``-a signalled=N`` to signal only the first N polls (the others are left to the
pipeline's close).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import scrapy
from scrapy.exceptions import CloseSpider

from kwiff_scrapy.integration.signals import poll_finished
from kwiff_scrapy.model.items import EventChange, OddsChange

Change = OddsChange | EventChange


def moved(
    outcome: str,
    previous_odds: float | None,
    odds: float | None,
    *,
    home: str = "Arsenal",
    away: str = "Juventus",
    market: str = "Full Time Result",
    event_id: int = 10744160,
    kind: str = "moved",
) -> OddsChange:
    change = None
    if odds is not None and previous_odds:
        change = (odds - previous_odds) / previous_odds
    return OddsChange(
        event_id=event_id,
        home_team=home,
        away_team=away,
        market_name=market,
        outcome_name=outcome,
        kind=kind,
        odds=odds,
        previous_odds=previous_odds,
        change=change,
    )


def sample_polls() -> list[list[Change]]:
    """Two polls: two big moves and a small one, then one big move."""
    return [
        [moved("Arsenal", 1.67, 1.90), moved("Draw", 4.00, 4.10), moved("Juventus", 4.50, 3.50)],
        [moved("Sporting CP", 1.73, 2.10, home="Sporting CP", away="Bodø/Glimt")],
    ]


class AlertSpider(scrapy.Spider):
    name = "kwiff_alerts_test"

    def __init__(
        self,
        polls: Sequence[Sequence[Change]] | None = None,
        after_poll: Callable[[int], Awaitable[None]] | None = None,
        signalled: int | str | None = None,
        close_reason: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.polls = [list(poll) for poll in (polls if polls is not None else sample_polls())]
        self.after_poll = after_poll
        self.signalled = len(self.polls) if signalled is None else int(signalled)
        self.close_reason = close_reason

    async def start(self) -> AsyncIterator[Change]:
        for number, changes in enumerate(self.polls, 1):
            for change in changes:
                yield change
            if number <= self.signalled:
                count = sum(isinstance(change, OddsChange | EventChange) for change in changes)
                self.crawler.signals.send_catch_log(
                    signal=poll_finished, poll=number, changes=count, failed=False
                )
            if self.after_poll is not None:
                await self.after_poll(number)
        if self.close_reason is not None:
            raise CloseSpider(self.close_reason)
