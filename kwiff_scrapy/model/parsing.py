"""Tolerant parsing of Kwiff answers (already JSON-decoded) into items.

Nothing here raises on bad data. What cannot be used is dropped and counted in
a ``skips`` counter under one of these reasons:

- ``events_missing``: an ``event:list`` answer without an ``events`` list.
- ``result_missing``: an ``event:get`` answer without a ``result``.
- ``event_not_object``: an event that is not a JSON object.
- ``event_without_id``: an event without a usable integer ``id``.
- ``market_not_object`` / ``outcome_not_object``: a market or outcome that is
  not a JSON object.
- ``odds_invalid``: odds present but not a finite, non-negative, sane number.
- ``groups_missing``: a ``ticket:odds:get`` answer without a group list.
- ``group_not_object``: a bet-builder group that is not a JSON object.
- ``field_wrong_type``: any other field present but of the wrong type. Absent
  and null fields are not counted.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

from .items import KwiffEvent, Market, Outcome, OutcomeRow, PricedGroup
from .odds import add_probabilities
from .sports import sport_name
from .values import MAX_DECIMAL_ODDS, iso_utc
from .values import MAX_INTEGER as _MAX_INTEGER
from .values import as_integer as _as_integer

try:
    from . import wire
except ImportError:  # pragma: no cover - without msgspec: the tolerant path only
    wire = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .selection import Selection
    from .wire import PlainEvent, PlainMarket, PlainSelectionMarket

EVENTS_MISSING = "events_missing"
RESULT_MISSING = "result_missing"
EVENT_NOT_OBJECT = "event_not_object"
EVENT_WITHOUT_ID = "event_without_id"
MARKET_NOT_OBJECT = "market_not_object"
OUTCOME_NOT_OBJECT = "outcome_not_object"
ODDS_INVALID = "odds_invalid"
GROUPS_MISSING = "groups_missing"
GROUP_NOT_OBJECT = "group_not_object"
FIELD_WRONG_TYPE = "field_wrong_type"

SKIP_REASONS = (
    EVENTS_MISSING,
    RESULT_MISSING,
    EVENT_NOT_OBJECT,
    EVENT_WITHOUT_ID,
    MARKET_NOT_OBJECT,
    OUTCOME_NOT_OBJECT,
    ODDS_INVALID,
    GROUPS_MISSING,
    GROUP_NOT_OBJECT,
    FIELD_WRONG_TYPE,
)

_DECIMAL_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NUMBER_TYPES = (int, float)


def parse_events(
    data: Any,
    *,
    fetched_at: str | None = None,
    skips: Counter[str] | None = None,
    select: Selection | None = None,
) -> list[KwiffEvent]:
    """Parse an ``event:list`` answer's data (``{"events": [...]}``) into events
    (those *select* keeps, with the markets it keeps)."""
    skips = Counter() if skips is None else skips
    raw_events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(raw_events, list):
        skips[EVENTS_MISSING] += 1
        return []
    events = (
        parse_event(raw, fetched_at=fetched_at, skips=skips, select=select) for raw in raw_events
    )
    return [event for event in events if event is not None]


def parse_event_list_ack(
    body: bytes, *, skips: Counter[str], select: Selection | None = None
) -> tuple[list[KwiffEvent], str | None] | None:
    """The events of a whole ``event:list`` ACK, its JSON array as UTF-8 bytes, and the
    answer's time (its ``fetched_at``).

    The fast way, when msgspec is installed and every market and outcome of the
    answer is plain (:mod:`.wire`): the same events and skips as ``parse_answer`` then
    :func:`parse_events`. None otherwise, having counted nothing: decode the answer
    and take the tolerant path (:func:`~.event_list.read_event_list` takes both).
    """
    answer = wire.decode_event_list_ack(body) if wire is not None else None
    if answer is None:
        return None
    timestamp_ms = _as_integer(answer.timestamp)
    fetched_at = iso_utc(timestamp_ms) if timestamp_ms is not None else None
    events = (_event(raw, fetched_at, skips, _plain_markets, select) for raw in answer.data.events)
    return [event for event in events if event is not None], fetched_at


def parse_event_list_headers(
    body: bytes, *, skips: Counter[str], select: Selection | None = None
) -> tuple[list[KwiffEvent], str | None] | None:
    """The events of a whole ``event:list`` ACK without their markets (``markets`` []),
    and the answer's time: the events :func:`parse_event_list_ack` gives, with the same
    event-level skips, but the markets skipped unread (so none of their skips is
    counted). None, having counted nothing, if the envelope or an event is not plain.
    """
    answer = wire.decode_event_list_headers(body) if wire is not None else None
    if answer is None:
        return None
    timestamp_ms = _as_integer(answer.timestamp)
    fetched_at = iso_utc(timestamp_ms) if timestamp_ms is not None else None
    events = (_event(raw, fetched_at, skips, _no_markets, select) for raw in answer.data.events)
    return [event for event in events if event is not None], fetched_at


def _no_markets(fields: _FieldReader, select: Selection | None = None) -> list[Market]:
    return []


def parse_event_get_ack(
    body: bytes, *, skips: Counter[str], select: Selection | None = None
) -> tuple[KwiffEvent | None, str | None] | None:
    """The event of a whole ``event:get`` ACK, its JSON array as UTF-8 bytes, and the
    answer's time: the same event and skips as ``parse_answer`` then
    :func:`parse_event_detail`, when every market and outcome is plain (:mod:`.wire`)
    and the answer has an event and no error. None otherwise, having counted nothing:
    the caller takes the tolerant path (an error, a null result, anything odd).
    """
    answer = wire.decode_event_get_ack(body) if wire is not None else None
    if answer is None:
        return None
    timestamp_ms = _as_integer(answer.timestamp)
    fetched_at = iso_utc(timestamp_ms) if timestamp_ms is not None else None
    return _event(answer.data.result, fetched_at, skips, _plain_markets, select), fetched_at


def parse_event_detail(
    data: Any,
    *,
    fetched_at: str | None = None,
    skips: Counter[str] | None = None,
    select: Selection | None = None,
) -> KwiffEvent | None:
    """Parse an ``event:get`` answer's data (``{"result": {...}}``) into one event."""
    skips = Counter() if skips is None else skips
    raw_event = data.get("result") if isinstance(data, dict) else None
    if raw_event is None:
        skips[RESULT_MISSING] += 1
        return None
    return parse_event(raw_event, fetched_at=fetched_at, skips=skips, select=select)


def parse_event(
    raw: Any,
    *,
    fetched_at: str | None = None,
    skips: Counter[str] | None = None,
    select: Selection | None = None,
) -> KwiffEvent | None:
    """Parse one event object; None (counted) if it is not an object or has no usable id,
    None (not counted) if *select* does not keep its start time."""
    skips = Counter() if skips is None else skips
    if not isinstance(raw, dict):
        skips[EVENT_NOT_OBJECT] += 1
        return None
    return _event(raw, fetched_at, skips, _parse_markets, select)


def _event(
    raw: _JsonObject,
    fetched_at: str | None,
    skips: Counter[str],
    markets: Callable[[_FieldReader, Selection | None], list[Market]],
    select: Selection | None = None,
) -> KwiffEvent | None:
    """The event of an object (a dict, or a :class:`.wire.PlainEvent`), given how to
    read its markets; None (counted) without a usable id; None (not counted, nothing
    built) if *select* does not keep its start time."""
    event_id = _as_integer(raw.get("id"))
    if event_id is None:
        skips[EVENT_WITHOUT_ID] += 1
        return None
    if select is not None and not select.keeps_start(raw.get("startDate"), fetched_at):
        return None
    fields = _FieldReader(raw, skips)
    sport_id = fields.integer("sportId")
    competition_id, competition_name = _named_entity(fields, "competition")
    _, home_team = _named_entity(fields, "homeTeam")
    _, away_team = _named_entity(fields, "awayTeam")
    event = KwiffEvent(
        event_id=event_id,
        sport_id=sport_id,
        sport_name=_sport_name(fields, sport_id),
        competition_id=competition_id,
        competition_name=competition_name,
        home_team=home_team,
        away_team=away_team,
        start_time=fields.text("startDate"),
        betting_status=raw.get("bettingStatus"),
        in_play=fields.flag("inPlay"),
        match_tracker=raw.get("matchTracker"),
        bet_builder_enabled=fields.flag("betBuilderEnabled"),
        markets=markets(fields, select),
        fetched_at=fetched_at,
    )
    for market in event.markets:  # here, so that both paths give the same items
        add_probabilities(market)
    return event


def outcome_rows(event: KwiffEvent) -> Iterator[OutcomeRow]:
    """Flatten an event into one row per outcome."""
    for market in event.markets:
        for outcome in market.outcomes:
            yield OutcomeRow(
                event_id=event.event_id,
                sport_name=event.sport_name,
                competition_name=event.competition_name,
                home_team=event.home_team,
                away_team=event.away_team,
                start_time=event.start_time,
                market_id=market.id,
                market_name=market.name,
                outcome_id=outcome.id,
                outcome_name=outcome.name,
                odds=outcome.odds,
                fractional=outcome.fractional,
                status=outcome.status or market.status,
                fetched_at=event.fetched_at,
                implied_probability=outcome.implied_probability,
                market_overround=market.overround,
            )


def parse_price_groups(
    data: Any, *, fetched_at: str | None = None, skips: Counter[str] | None = None
) -> list[PricedGroup]:
    """Parse a ``ticket:odds:get`` answer's data (``{"betBuilderOutcomeGroups": [...]}``)."""
    skips = Counter() if skips is None else skips
    raw_groups = data.get("betBuilderOutcomeGroups") if isinstance(data, dict) else None
    if not isinstance(raw_groups, list):
        skips[GROUPS_MISSING] += 1
        return []
    groups = []
    for raw in raw_groups:
        if not isinstance(raw, dict):
            skips[GROUP_NOT_OBJECT] += 1
            continue
        groups.append(_parse_price_group(_FieldReader(raw, skips), fetched_at))
    return groups


def _parse_price_group(fields: _FieldReader, fetched_at: str | None) -> PricedGroup:
    return PricedGroup(
        event_id=fields.integer("eventId"),
        outcome_ids=fields.integers("outcomeIds"),
        source=fields.integer("source"),
        odds=fields.odds("odds"),
        fractional=fields.text("fractionalOdds", "fractional"),
        fetched_at=fetched_at,
    )


def _plain_markets(fields: _FieldReader, select: Selection | None = None) -> list[Market]:
    """The markets of a :class:`.wire.PlainEvent`: plain, checked by the decoder already."""
    event: PlainEvent = fields._raw  # type: ignore[assignment]
    plain = event.plain_markets()
    if select is not None and select.markets is not None:
        plain = [market for market in plain if select.keeps_market(market.name)]
    return [_market_of_plain(market) for market in plain]


def _market_of_plain(market: PlainMarket | PlainSelectionMarket) -> Market:
    if isinstance(market, wire.PlainSelectionMarket):  # an event:get answer's
        outcomes = [
            Outcome(o.id, o.name, o.odds, o.fractional, o.status) for o in market.selections
        ]
    else:
        outcomes = [
            Outcome(o.id, o.outcomeName, o.odds, o.fractional, o.status) for o in market.outcomes
        ]
    return Market(market.id, market.name, outcomes, market.status)


def _parse_markets(fields: _FieldReader, select: Selection | None = None) -> list[Market]:
    details = fields.mapping("details")
    offers = _FieldReader(details, fields.skips).nonempty_list("offers") if details else []
    markets = _parse_market_list(fields.nonempty_list("markets") or offers, fields.skips)
    if select is not None and select.markets is not None:
        return [market for market in markets if select.keeps_market(market.name)]
    return markets


# The fast path, for the thousands of markets and outcomes of an event list. A market
# or outcome whose every field is present with exactly the type the service sends
# (``type(x) is int``, not ``isinstance``: no bools, no subclasses) is built straight
# from ``dict.get``: the tolerant reading would return the same values and count
# nothing. Anything else (a field absent, null, a digit string, out of range, of
# another type) sends the whole object down the tolerant path, which counts exactly
# what it always did. A ``_plain_*`` function counts nothing before it has decided,
# so the skip counts, and the order in which they are first counted, are unchanged.
# Items are built with positional arguments: measurably faster than keywords here.


def _parse_market_list(raws: list[Any], skips: Counter[str]) -> list[Market]:
    markets = []
    for raw in raws:
        if not isinstance(raw, dict):
            skips[MARKET_NOT_OBJECT] += 1
            continue
        market = _plain_market(raw, skips)
        if market is None:
            market = _parse_market(_FieldReader(raw, skips))
        markets.append(market)
    return markets


def _parse_outcome_list(raws: list[Any], skips: Counter[str]) -> list[Outcome]:
    outcomes = []
    for raw in raws:
        if not isinstance(raw, dict):
            skips[OUTCOME_NOT_OBJECT] += 1
            continue
        outcome = _plain_outcome(raw)
        if outcome is None:
            outcome = _parse_outcome(_FieldReader(raw, skips))
        outcomes.append(outcome)
    return outcomes


def _plain_market(raw: dict[str, Any], skips: Counter[str]) -> Market | None:
    """The market if its id, name, (non-empty) ``outcomes`` and status are plain, else None.

    Its outcomes are parsed (and their skips counted) only once the market is decided.
    """
    market_id = raw.get("id")
    name = raw.get("name")
    outcomes = raw.get("outcomes")
    status = raw.get("status")
    if not (_is_plain_integer(market_id) and type(name) is str and type(outcomes) is list):
        return None
    if not outcomes or not _is_plain_status(status):  # [] : the tolerant path tries "selections"
        return None
    parsed = _plain_outcome_list(outcomes)
    if parsed is None:  # one outcome at a time, each plain or tolerant
        parsed = _parse_outcome_list(outcomes, skips)
    return Market(market_id, name, parsed, status)


_PLAIN_OUTCOME_FIELDS = operator.itemgetter("id", "outcomeName", "odds", "fractional")


def _plain_outcome_list(raws: list[Any]) -> list[Outcome] | None:
    """Every outcome of a plain market, if each is plain as :func:`_plain_outcome` says.

    The same test and the same items, in one loop with no call per outcome (an event
    list has thousands); None, having counted nothing, at the first outcome that is
    not a plain object.
    """
    outcomes: list[Outcome] = []
    append = outcomes.append
    for raw in raws:
        if type(raw) is not dict:
            return None
        try:
            outcome_id, name, odds, fractional = _PLAIN_OUTCOME_FIELDS(raw)
        except KeyError:  # absent: perhaps null, or under another name, for the tolerant path
            return None
        status = raw.get("status")
        odds_type = type(odds)
        if not (
            type(outcome_id) is int
            and 0 <= outcome_id <= _MAX_INTEGER
            and type(name) is str
            and (odds_type is float or odds_type is int)
            and 0 <= odds <= MAX_DECIMAL_ODDS
            and type(fractional) is str
            and (status is None or type(status) is str)
        ):
            return None
        append(Outcome(outcome_id, name, float(odds), fractional, status))
    return outcomes


def _plain_outcome(raw: dict[str, Any]) -> Outcome | None:
    """The outcome if its id, ``outcomeName``, odds, ``fractional`` and status are plain."""
    outcome_id = raw.get("id")
    name = raw.get("outcomeName")
    odds = raw.get("odds")
    fractional = raw.get("fractional")
    status = raw.get("status")
    if (
        _is_plain_integer(outcome_id)
        and type(name) is str
        and _is_plain_odds(odds)
        and type(fractional) is str
        and _is_plain_status(status)
    ):
        return Outcome(outcome_id, name, float(odds), fractional, status)
    return None


def _is_plain_integer(value: Any) -> bool:
    """A JSON integer that :func:`~kwiff_scrapy.model.values.as_integer` returns unchanged."""
    return type(value) is int and 0 <= value <= _MAX_INTEGER


def _is_plain_status(value: Any) -> TypeGuard[str | None]:
    """An absent status (open) or a string one."""
    return value is None or type(value) is str


def _is_plain_odds(value: Any) -> TypeGuard[int | float]:
    """A JSON number that :func:`_as_odds` accepts (NaN fails the comparison)."""
    return type(value) in _NUMBER_TYPES and 0 <= value <= MAX_DECIMAL_ODDS


# The tolerant path.


def _parse_market(fields: _FieldReader) -> Market:
    outcomes = _parse_outcome_list(fields.nonempty_list("outcomes", "selections"), fields.skips)
    return Market(
        id=fields.integer("id"),
        name=fields.text("name"),
        outcomes=outcomes,
        status=fields.text("status"),
    )


def _parse_outcome(fields: _FieldReader) -> Outcome:
    return Outcome(
        id=fields.integer("id"),
        name=fields.text("outcomeName", "name"),
        odds=fields.odds("odds"),
        fractional=fields.text("fractional", "fractionalOdds"),
        status=fields.text("status"),
    )


def _sport_name(fields: _FieldReader, sport_id: int | None) -> str | None:
    """The registry's name for a known sport id, else the event's own ``sportName``."""
    known = sport_name(sport_id) if sport_id is not None else None
    return known or fields.text("sportName")


def _named_entity(fields: _FieldReader, key: str) -> tuple[int | None, str | None]:
    """Read an ``{"id": ..., "name": ...}`` object, or a plain name string, as (id, name)."""
    value = fields.value(key)
    if isinstance(value, str):
        return None, value
    entity = fields.mapping(key)
    if entity is None:
        return None, None
    entity_fields = _FieldReader(entity, fields.skips)
    return entity_fields.integer("id"), entity_fields.text("name")


class _JsonObject(Protocol):
    """A decoded JSON object: a dict, or a typed object with the same ``get``."""

    def get(self, key: str, /) -> Any: ...


class _FieldReader:
    """Reads optional fields of one JSON object, counting values of the wrong type.

    Given several keys, a reader returns the first usable value among them.
    """

    def __init__(self, raw: _JsonObject, skips: Counter[str]) -> None:
        self._raw = raw
        self.skips = skips

    def value(self, key: str) -> Any:
        return self._raw.get(key)

    def integer(self, *keys: str) -> int | None:
        return self._first(keys, _as_integer, FIELD_WRONG_TYPE)

    def text(self, *keys: str) -> str | None:
        return self._first(keys, _as_text, FIELD_WRONG_TYPE)

    def flag(self, *keys: str) -> bool | None:
        return self._first(keys, _as_flag, FIELD_WRONG_TYPE)

    def odds(self, *keys: str) -> float | None:
        return self._first(keys, _as_odds, ODDS_INVALID)

    def mapping(self, *keys: str) -> dict[str, Any] | None:
        return self._first(keys, _as_mapping, FIELD_WRONG_TYPE)

    def nonempty_list(self, *keys: str) -> list[Any]:
        """The first non-empty list among *keys*, else []."""
        for key in keys:
            values = self._first((key,), _as_list, FIELD_WRONG_TYPE)
            if values:
                return values
        return []

    def integers(self, key: str) -> list[int]:
        """A list of integers, dropping (and counting) elements that are not."""
        values = self._first((key,), _as_list, FIELD_WRONG_TYPE) or []
        integers = [_as_integer(value) for value in values]
        unusable = integers.count(None)
        if unusable:
            self.skips[FIELD_WRONG_TYPE] += unusable
        return [integer for integer in integers if integer is not None]

    def _first(self, keys: tuple[str, ...], convert: Callable[[Any], Any], reason: str) -> Any:
        for key in keys:
            value = self._raw.get(key)
            if value is None:
                continue
            converted = convert(value)
            if converted is not None:
                return converted
            self.skips[reason] += 1
        return None


def _as_odds(value: Any) -> float | None:
    """Decimal odds from a JSON number or a decimal string, if finite, >= 0 and sane."""
    if isinstance(value, str):
        text = value.strip()
        value = float(text) if _DECIMAL_TEXT.fullmatch(text) else None
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    # Compared before float() so that a huge JSON integer cannot overflow it.
    if not 0 <= value <= MAX_DECIMAL_ODDS:
        return None
    return float(value)


def _as_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _as_mapping(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _as_list(value: Any) -> list[Any] | None:
    return value if isinstance(value, list) else None
