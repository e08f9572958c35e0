"""Hand-built watch polls for the detector tests: real ``diff_event`` changes, fixed times."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kwiff_scrapy.model.changes import Change, EventSnapshot, diff_event
from kwiff_scrapy.model.detectors import SignalDetectors
from kwiff_scrapy.model.items import KwiffEvent, Market, Outcome
from kwiff_scrapy.model.signal_rules import parse_rule
from kwiff_scrapy.model.signals import OddsSignal

START = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
#: Market name -> outcome name -> decimal odds.
Prices = dict[str, dict[str, float]]


def at(minutes: float) -> str:
    moment = START + timedelta(minutes=minutes)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rule(kind: str, **parameters: Any) -> Any:
    return parse_rule({"kind": kind, **parameters}, "test rule")


def kwiff_event(
    event_id: int,
    minutes: float,
    prices: Prices,
    suspended: frozenset[str] = frozenset(),
    **header: Any,
) -> KwiffEvent:
    markets = []
    for m, (market_name, outcomes) in enumerate(prices.items(), start=1):
        market_id = event_id * 100 + m
        markets.append(
            Market(
                id=market_id,
                name=market_name,
                status="suspended" if market_name in suspended else None,
                outcomes=[
                    Outcome(id=market_id * 10 + n, name=name, odds=odds)
                    for n, (name, odds) in enumerate(outcomes.items(), start=1)
                ],
            )
        )
    fields: dict[str, Any] = {
        "competition_name": "Premier League",
        "home_team": "Arsenal",
        "away_team": "Chelsea",
        "start_time": "2026-12-05T15:00:00.000Z",
        "in_play": False,
        **header,
    }
    return KwiffEvent(event_id=event_id, markets=markets, fetched_at=at(minutes), **fields)


@dataclass
class Watch:
    """The watch's side: one snapshot per event, the changes of each poll."""

    snapshots: dict[int, EventSnapshot] = field(default_factory=dict)

    def poll(
        self,
        minutes: float,
        prices: Prices,
        event_id: int = 1,
        suspended: frozenset[str] = frozenset(),
        **header: Any,
    ) -> list[Change]:
        current = EventSnapshot.of(kwiff_event(event_id, minutes, prices, suspended, **header))
        changes = diff_event(self.snapshots.get(event_id), current)
        self.snapshots[event_id] = current
        return changes

    def remove(self, minutes: float, event_id: int = 1) -> list[Change]:
        changes = diff_event(self.snapshots.pop(event_id), None, seen_at=at(minutes))
        return changes


def run(detectors: SignalDetectors, *polls: list[Change]) -> list[list[OddsSignal]]:
    """Feed each poll and close it, as the watch does; the signals of each poll."""
    return [detectors.feed(changes) + detectors.flush() for changes in polls]


def result(home: float, draw: float, away: float) -> Prices:
    return {"Match Result": {"Home": home, "Draw": draw, "Away": away}}
