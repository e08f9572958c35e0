"""One event's detector state as plain JSON data, and back (pure, no I/O).

A shared watch keeps each event's state in Redis beside its snapshot (see
:mod:`kwiff_scrapy.distributed.signal_states`): whichever worker polls the event next
reads it, feeds the answer's changes, and writes it back. Every rule looks at one
event only (its outcomes, markets, suspensions and cooldowns), so an event's state is
all a worker needs to give the signals one process would have given.

The record is JSON data (lists, numbers, strings): never code. Keys keep their types
(an outcome key ``(market, name)`` is a two-item list); dict orders are kept as list
orders, since a signal lists outcomes and markets in the order they were first seen.
:func:`event_state` raises ``ValueError`` on anything it did not write.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .detector_state import (
    M_BOOK,
    M_ID,
    M_KEYS,
    M_NAME,
    M_OVERROUNDS,
    O_ID,
    O_NAME,
    O_ODDS,
    O_OPEN,
    O_PRICES,
    Points,
    bounds,
    flat,
    pairs,
)
from .detectors import EventState

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .detectors import CooldownKey, MarketKey, OutcomeKey
    from .signal_rules import SignalRule

#: Bumped when the record's shape changes: an older one is then started afresh.
RECORD_VERSION = 1


def rules_fingerprint(rules: Iterable[SignalRule]) -> str:
    """A short digest of *rules*: state built under other rules is not carried on."""
    text = json.dumps(
        [asdict(rule) for rule in rules], sort_keys=True, default=sorted, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def event_record(event: EventState, rules: str) -> dict[str, Any]:
    """*event*'s state as JSON data, stamped with the *rules* fingerprint."""
    return {
        "v": RECORD_VERSION,
        "rules": rules,
        "id": event.event_id,
        "header": [
            event.home_team,
            event.away_team,
            event.competition_name,
            event.start_time,
            event.in_play,
        ],
        "clock": event.clock,
        "markets": [
            [
                market_key,
                market[M_ID],
                market[M_NAME],
                market[M_BOOK],
                [
                    [
                        _key(keys[1]),
                        outcome[O_ID],
                        outcome[O_NAME],
                        outcome[O_ODDS],
                        outcome[O_OPEN],
                        [list(point) for point in pairs(outcome[O_PRICES])],
                    ]
                    for keys in market[M_KEYS]
                    for outcome in (event.outcomes[keys],)
                ],
                [list(point) for point in pairs(market[M_OVERROUNDS])],
            ]
            for market_key, market in event.markets.items()
        ],
        "suspensions": [list(entry) for entry in event.suspensions],
        "moving": [[market_key, _key(outcome_key)] for market_key, outcome_key in event.moving],
        "cooldowns": [
            [name, scope, _key(subject), at, strength]
            for (name, scope, subject), (at, strength) in event.cooldowns.items()
        ],
    }


def record_rules(record: Any) -> str | None:
    """The rules fingerprint a record was written under (None: not a record of this version)."""
    if isinstance(record, dict) and record.get("v") == RECORD_VERSION:
        rules = record.get("rules")
        return rules if isinstance(rules, str) else None
    return None


def event_state(record: Any) -> EventState:
    """The state a record holds; ``ValueError`` if it is not one :func:`event_record` wrote."""
    if record_rules(record) is None:
        raise ValueError("not a detector state of this version")
    try:
        return _event_state(record)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ValueError(f"not a detector state: {exc!r}") from None


def _event_state(record: dict[str, Any]) -> EventState:
    home, away, competition, start, in_play = record["header"]
    event = EventState(
        _int(record["id"]),
        home_team=_text(home),
        away_team=_text(away),
        competition_name=_text(competition),
        start_time=_text(start),
        in_play=_flag(in_play),
        clock=_number(record["clock"]),
    )
    for market_key, market_id, market_name, book, outcomes, overrounds in record["markets"]:
        key = _market_key(market_key)
        keys = []
        for outcome_key, outcome_id, outcome_name, odds, is_open, prices in outcomes:
            if not isinstance(is_open, bool):
                raise ValueError(f"open {is_open!r}")
            points = _window(prices)
            keys_of = (key, _outcome_key(outcome_key))
            event.outcomes[keys_of] = (
                _id(outcome_id),
                _text(outcome_name),
                _number(odds),
                is_open,
                *bounds(points),
                points,
            )
            keys.append(keys_of)
        points = _window(overrounds)
        event.markets[key] = (
            _id(market_id),
            _text(market_name),
            _flag(book),
            tuple(keys),
            *bounds(points),
            points,
        )
    event.suspensions = deque(
        (_float(at), _market_key(key), _text(name), _number(odds))
        for at, key, name, odds in record["suspensions"]
    )
    event.moving = {
        (_market_key(market_key), _outcome_key(outcome_key)): None
        for market_key, outcome_key in record["moving"]
    }
    event.cooldowns = {
        _cooldown_key(name, scope, subject): (_float(at), _float(strength))
        for name, scope, subject, at, strength in record["cooldowns"]
    }
    return event


def _key(key: Any) -> Any:
    return list(key) if isinstance(key, tuple) else key


def _window(points: Any) -> Points:
    return flat((_float(at), _float(value)) for at, value in points)


def _market_key(value: Any) -> MarketKey:
    if value is None or isinstance(value, str):
        return value
    return _int(value)


def _outcome_key(value: Any) -> OutcomeKey:
    if isinstance(value, list):
        market_key, name = value
        return (_market_key(market_key), _text(name))
    return _int(value)


def _cooldown_key(name: Any, scope: Any, subject: Any) -> CooldownKey:
    if not isinstance(name, str) or scope not in ("outcome", "market", "event"):
        raise ValueError(f"cooldown {name!r} {scope!r}")
    if scope == "outcome":
        return (name, scope, _outcome_key(subject))
    if scope == "market":
        return (name, scope, _market_key(subject))
    if subject is not None:
        raise ValueError(f"event cooldown subject {subject!r}")
    return (name, scope, None)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"id {value!r}")
    return value


def _id(value: Any) -> int | None:
    return None if value is None else _int(value)


def _text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"text {value!r}")
    return value


def _flag(value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"flag {value!r}")
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"number {value!r}")
    return float(value)


def _number(value: Any) -> float | None:
    return None if value is None else _float(value)
