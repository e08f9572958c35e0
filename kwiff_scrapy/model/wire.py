"""An ``event:list`` answer in the plain shape the service sends, decoded by msgspec.

The tolerant parsers of :mod:`.parsing` read JSON already decoded into dicts and lists,
then check every field of thousands of markets and outcomes in Python. Here msgspec
decodes the answer's bytes (the ACK's JSON array) straight into the typed objects
below, checking in C that every market and outcome is *plain*: each field present
where it must be, of exactly the type the service sends, within range. Items are then
built from those without another check, and the event-level fields (a hundred events)
still go through the tolerant reader.

The plain shape is the one in which the tolerant path returns exactly these items and
counts nothing for markets and outcomes: a field absent or null, a digit string, a
bool, a number out of range, an empty outcome list (the tolerant path looks under
``selections`` then), an answer with an ``error`` or with more than one argument, and
anything else, makes the decoding fail; nothing has been counted then, and the caller
takes the tolerant path over the whole answer. So this is a faster way to the same
result, never a different one (``tests/model/test_wire_equivalence.py``).

Needs msgspec (a dependency of the package); :mod:`.parsing` does without.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import msgspec

from .values import MAX_DECIMAL_ODDS, MAX_INTEGER

# The bounds within which values.as_integer and parsing._as_odds keep a number as it is.
PlainId = Annotated[int, msgspec.Meta(ge=0, le=MAX_INTEGER)]
PlainOdds = Annotated[float, msgspec.Meta(ge=0, le=MAX_DECIMAL_ODDS)]
_Answer = TypeVar("_Answer", bound=msgspec.Struct)


def _ack_decoder(answer: type[_Answer]) -> Callable[[bytes], _Answer | None]:
    """A decoder of an ACK with one argument of type *answer*: None when not plain."""
    decode = msgspec.json.Decoder(tuple[answer]).decode  # type: ignore[valid-type]

    def decode_ack(body: bytes) -> _Answer | None:
        try:
            (decoded,) = decode(body)
        except (msgspec.DecodeError, RecursionError):
            return None
        return decoded

    return decode_ack


# gc=False: tens of thousands of these live for a few milliseconds, holding only strings
# and numbers, or lists of their own kind; the garbage collector need not track them.
class PlainOutcome(msgspec.Struct, gc=False):
    # The fields have the service's names (outcomeName...): no renaming table.
    id: PlainId
    outcomeName: str
    odds: PlainOdds
    fractional: str
    status: str | None = None


class PlainMarket(msgspec.Struct, gc=False):
    id: PlainId
    name: str
    outcomes: Annotated[list[PlainOutcome], msgspec.Meta(min_length=1)]
    status: str | None = None


class PlainDetails(msgspec.Struct, gc=False):
    offers: list[PlainMarket] | None = None


class PlainListedHeader(msgspec.Struct):
    """An event's own fields as decoded JSON (the tolerant reader takes them); ``get``
    reads a field as ``dict.get`` reads a key of the object. Alone: an event of an
    ``event:list`` whose markets are skipped unread, what a ``details=1`` watch needs of
    the list (each event's own ``event:get`` is read whole)."""

    id: Any = None
    sportId: Any = None
    sportName: Any = None
    competition: Any = None
    homeTeam: Any = None
    awayTeam: Any = None
    startDate: Any = None
    bettingStatus: Any = None
    inPlay: Any = None
    matchTracker: Any = None
    betBuilderEnabled: Any = None

    def get(self, key: str) -> Any:
        return getattr(self, key)


class PlainEvent(PlainListedHeader):
    """An event: its own fields, its markets plain."""

    markets: list[PlainMarket] | None = None
    details: PlainDetails | None = None

    def plain_markets(self) -> list[PlainMarket]:
        """The markets the tolerant path takes: ``markets`` if not empty, else the offers."""
        if self.markets:
            return self.markets
        details = self.details
        return (details.offers if details is not None else None) or []


class PlainEventList(msgspec.Struct, gc=False):
    events: list[PlainEvent]


class PlainAnswer(msgspec.Struct):
    """The answer envelope (:class:`~kwiff_scrapy.model.answer.Answer`), no error."""

    data: PlainEventList
    timestamp: Any = None
    error: None = None


#: The answer of a whole ``event:list`` ACK (its JSON array as UTF-8 bytes) if plain.
decode_event_list_ack = _ack_decoder(PlainAnswer)


# An event:get answer's markets come as the service's detail shape: "selections" of
# outcomes with a "name" (the list's have "outcomes" with an "outcomeName"). Plain here:
# what the tolerant path reads from "selections" and "name" because "outcomes" and
# "outcomeName" are absent or null.
class PlainSelection(msgspec.Struct, gc=False):
    id: PlainId
    name: str
    odds: PlainOdds
    fractional: str
    status: str | None = None
    outcomeName: None = None


class PlainSelectionMarket(msgspec.Struct, gc=False):
    id: PlainId
    name: str
    selections: Annotated[list[PlainSelection], msgspec.Meta(min_length=1)]
    status: str | None = None
    outcomes: None = None


class PlainDetailEvent(PlainEvent):
    """The event of an ``event:get`` answer: its ``markets`` in the detail shape."""

    markets: list[PlainSelectionMarket] | None = None  # type: ignore[assignment]


class PlainEventResult(msgspec.Struct):
    """An ``event:get`` answer's data: the event (null or absent: not plain)."""

    result: PlainDetailEvent


class PlainEventAnswer(msgspec.Struct):
    """The envelope of an ``event:get`` answer with an event, no error."""

    data: PlainEventResult
    timestamp: Any = None
    error: None = None


#: The answer of a whole ``event:get`` ACK (its JSON array as UTF-8 bytes) if plain.
decode_event_get_ack = _ack_decoder(PlainEventAnswer)


class PlainHeaderList(msgspec.Struct, gc=False):
    events: list[PlainListedHeader]


class PlainHeaderAnswer(msgspec.Struct):
    data: PlainHeaderList
    timestamp: Any = None
    error: None = None


#: An ``event:list`` ACK's events without their markets, if its envelope is plain.
decode_event_list_headers = _ack_decoder(PlainHeaderAnswer)
