"""Deterministic, realistic Kwiff data for the simulator: :class:`SimulatedData`.

Pure: no I/O, and the only clock is the injectable one that stamps answers. Every
event, market, outcome id and price is derived from the seed, so the same seed
always gives byte-identical JSON and tests can assert exact contents.

The data is built in layers, one module each: the world (:mod:`.reference`), the price
ladder (:mod:`.prices`), markets (:mod:`.markets`) priced from a model of each match
(:mod:`.football`, :mod:`.basketball`), the fixtures (:mod:`.fixtures`), and the JSON
shapes of the answers (:mod:`.views`). Prices come from a small model rather than from
random numbers, so that they are coherent.

This module is the data at rest, what the *first* answer about an event shows; how the
data moves as it is served is :mod:`kwiff_scrapy.simulator.moves`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, Final

from .. import defaults
from .fixtures import Fixture, base_date_for, fixtures, later_fixture_builders, later_fixtures
from .markets import Market, Outcome
from .prices import Price, price_at_most
from .reference import BASKETBALL, FOOTBALL
from .views import cached_list_views, detail_view

#: Basketball events in the first ``event:list`` (football's number is configurable).
BASKETBALL_EVENTS: Final = 40

Clock = Callable[[], int]
"""Returns the current time in milliseconds since the epoch."""


def system_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def utc_today() -> date:
    """The current date in UTC."""
    return datetime.now(UTC).date()


class InvalidPayload(ValueError):
    """A command payload of the wrong shape; becomes an ``INVALID_PAYLOAD`` error answer."""


def _as_int(value: Any, where: str) -> int:
    """An integer field; digit strings are accepted, as a JavaScript service would."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise InvalidPayload(f"{where} must be an integer, not {type(value).__name__}")


def _as_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidPayload(f"{where} must be an object, not {type(value).__name__}")
    return value


def _as_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidPayload(f"{where} must be an array, not {type(value).__name__}")
    return value


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


#: Where a bet-builder leg stands: (event id, market id, price), or None if it cannot be
#: priced (unknown, or in the simulator's moving data: suspended or ended).
PriceLookup = Callable[[int], tuple[int, int, Price] | None]


class SimulatedData:
    """Everything the simulated service knows, derived from one seed and one day.

    *today* (default: the current UTC date, read once, here) only moves the start
    dates: every event is upcoming from it (see :func:`~.fixtures.base_date_for`), and
    the same day gives the same dates. Returned structures may share cached objects
    between calls: treat them as read-only (serialise them, do not mutate them).
    """

    def __init__(
        self,
        seed: int = defaults.SIMULATOR_SEED,
        *,
        football_events: int = defaults.SIMULATOR_FOOTBALL_EVENTS,
        clock: Clock = system_clock_ms,
        today: date | None = None,
    ) -> None:
        self.seed = seed
        self.football_events = football_events
        self.clock = clock
        self.today = utc_today() if today is None else today
        self.base_date = base_date_for(self.today)
        """Midnight UTC of the first day of the fixtures' first week (a Tuesday)."""
        self._outcomes: dict[int, tuple[Fixture, Market, Outcome]] | None = None
        self._by_id: dict[int, Fixture] | None = None

    def _counts(self) -> dict[int, int]:
        return {FOOTBALL: self.football_events, BASKETBALL: BASKETBALL_EVENTS}

    def sports(self) -> tuple[int, ...]:
        """The sport ids whose ``event:list`` has events."""
        return tuple(sport for sport, count in self._counts().items() if count > 0)

    def count(self, sport_id: int) -> int:
        """How many events of *sport_id* the first ``event:list`` shows (0: not served)."""
        return self._counts().get(sport_id, 0)

    def fixtures(self, sport_id: int) -> tuple[Fixture, ...]:
        """The internal model behind :meth:`events` (ids, labels and prices)."""
        count = self.count(sport_id)
        return fixtures(self.seed, sport_id, count, self.base_date) if count else ()

    def later_fixtures(self, sport_id: int) -> Iterator[Fixture]:
        """The fixtures after those of :meth:`fixtures`, one by one, in the order drawn:
        the new events of the moving simulator (fresh ids, full markets, later dates)."""
        count = self.count(sport_id)
        return later_fixtures(self.seed, sport_id, count, self.base_date) if count else iter(())

    def later_fixture_builders(self, sport_id: int) -> Iterator[tuple[int, Callable[[], Fixture]]]:
        """:meth:`later_fixtures` as (event id, a function that builds it), so that one
        can be passed over without being built."""
        count = self.count(sport_id)
        if not count:
            return iter(())
        return later_fixture_builders(self.seed, sport_id, count, self.base_date)

    def events(self, sport_id: int, country: str = "GB") -> list[dict[str, Any]]:
        """The ``event:list`` events of a sport; the same for every *country*."""
        count = self.count(sport_id)
        return list(cached_list_views(self.seed, sport_id, count, self.base_date)) if count else []

    def _index(self) -> dict[int, Fixture]:
        if self._by_id is None:
            self._by_id = {f.id: f for sport in self._counts() for f in self.fixtures(sport)}
        return self._by_id

    def event(self, event_id: int) -> dict[str, Any] | None:
        """The ``event:get`` result: every market, in the ``markets``/``selections`` variant."""
        fixture = self._index().get(event_id)
        return None if fixture is None else detail_view(fixture)

    def outcome(self, outcome_id: int) -> tuple[Fixture, Market, Outcome] | None:
        """Find an outcome (of any market, listed or not) by its id."""
        if self._outcomes is None:
            self._outcomes = {
                o.id: (f, m, o)
                for f in self._index().values()
                for m in f.markets
                for o in m.outcomes
            }
        return self._outcomes.get(outcome_id)

    def _static_price(self, outcome_id: int) -> tuple[int, int, Price] | None:
        found = self.outcome(outcome_id)
        if found is None:
            return None
        fixture, market, outcome = found
        return fixture.id, market.id, outcome.price

    def price_groups(
        self, groups: list[Any], lookup: PriceLookup | None = None
    ) -> list[dict[str, Any]]:
        """Price bet-builder groups; raise :class:`InvalidPayload` for a malformed group.

        A group is priced as the product of its outcomes' decimal odds, with the
        profit part cut by 15% per extra leg (the bet builder's margin), rounded down
        onto the ladder. An unknown outcome, one from another event than the group's
        ``eventId``, or two outcomes of the same market make the group unpriceable:
        ``odds`` and ``fractionalOdds`` are then ``null``. *lookup* finds each leg's
        current price (default: the data at rest).
        """
        lookup = lookup or self._static_price
        return [
            self._price_group(_as_dict(g, f"group {n}"), n, lookup) for n, g in enumerate(groups)
        ]

    def _price_group(self, group: dict[str, Any], n: int, lookup: PriceLookup) -> dict[str, Any]:
        where = f"betBuilderOutcomeGroups[{n}]"
        ids = [
            _as_int(i, f"{where}.outcomeIds[{k}]")
            for k, i in enumerate(_as_list(group.get("outcomeIds"), f"{where}.outcomeIds"))
        ]
        event_id = group.get("eventId")
        if event_id is not None:
            event_id = _as_int(event_id, f"{where}.eventId")
        price = _combined_price([lookup(i) for i in ids], event_id)
        return {
            **group,
            "odds": None if price is None else price.odds,
            "fractionalOdds": None if price is None else price.fractional,
        }

    # ----------------------------------------------------------------- answers

    def answer(self, message: Any, payload: Any) -> dict[str, Any]:
        """The ack argument for a command: ``{"timestamp": ms, "data": {...}}``.

        Never raises for bad input: an unknown command or a malformed payload gives
        ``{"timestamp": ms, "data": null, "error": {"code": ..., "message": ...}}``.
        """
        handler = self._handlers().get(message) if isinstance(message, str) else None
        if handler is None:
            return self.error_answer("UNKNOWN_COMMAND", f"unknown command {message!r}")
        try:
            data = handler(_as_dict(payload, "payload"))
        except InvalidPayload as exc:
            return self.error_answer("INVALID_PAYLOAD", f"{message}: {exc}")
        return {"timestamp": self.clock(), "data": data}

    def error_answer(self, code: str, message: str) -> dict[str, Any]:
        """An answer carrying an ``error`` object instead of ``data``."""
        return {"timestamp": self.clock(), "data": None, "error": _error(code, message)}

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "event:list": self._answer_event_list,
            "event:get": self._answer_event_get,
            "ticket:odds:get": self._answer_ticket_odds,
        }

    def _answer_event_list(self, payload: dict[str, Any]) -> dict[str, Any]:
        sport_id, country = event_list_payload(payload)
        return {"events": self.events(sport_id, country)}

    def _answer_event_get(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"result": self.event(event_get_payload(payload))}

    def _answer_ticket_odds(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"betBuilderOutcomeGroups": self.price_groups(ticket_odds_payload(payload))}


def event_list_payload(payload: Any) -> tuple[int, str]:
    """The sport id and country of an ``event:list`` payload, or :class:`InvalidPayload`."""
    payload = _as_dict(payload, "payload")
    sport_id = _as_int(payload.get("sportId"), "payload.sportId")
    country = payload.get("country", "GB")
    if not isinstance(country, str):
        raise InvalidPayload("payload.country must be a string")
    return sport_id, country


def event_get_payload(payload: Any) -> int:
    """The event id of an ``event:get`` payload, or :class:`InvalidPayload`."""
    return _as_int(_as_dict(payload, "payload").get("eventId"), "payload.eventId")


def ticket_odds_payload(payload: Any) -> list[Any]:
    """The groups of a ``ticket:odds:get`` payload, or :class:`InvalidPayload`."""
    groups = _as_dict(payload, "payload").get("betBuilderOutcomeGroups")
    return _as_list(groups, "payload.betBuilderOutcomeGroups")


def _combined_price(
    legs: list[tuple[int, int, Price] | None], event_id: int | None
) -> Price | None:
    found = [leg for leg in legs if leg is not None]
    if not legs or len(found) != len(legs):
        return None
    if event_id is not None and any(leg_event != event_id for leg_event, _, _ in found):
        return None
    if len({market_id for _, market_id, _ in found}) != len(found):
        return None
    product = math.prod(price.decimal for _, _, price in found)
    return price_at_most(1 + (product - 1) * 0.85 ** (len(found) - 1))
