"""One way from an ``event:list`` answer to events, for every front end.

A large answer arrives undecoded: its events are read straight from its bytes by the
typed path (:func:`~kwiff_scrapy.model.parsing.parse_event_list_ack`, msgspec) when
it can take them. When it declines (msgspec missing, an error answer, anything not
plain), or the answer is decoded already, the envelope is decoded and its data
parsed tolerantly (:func:`~kwiff_scrapy.model.parsing.parse_events`). Both ways give
the same events and count the same skips.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .parsing import (
    EVENT_NOT_OBJECT,
    EVENT_WITHOUT_ID,
    EVENTS_MISSING,
    parse_event_list_ack,
    parse_event_list_headers,
    parse_events,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .answer import Answer
    from .items import KwiffEvent
    from .selection import Selection


@dataclass(frozen=True, slots=True)
class ListedEvents:
    """The events an ``event:list`` answer gave, and what was skipped reading them."""

    events: list[KwiffEvent]
    fetched_at: str | None = None
    """The answer's time, ISO 8601 UTC (:attr:`.answer.Answer.fetched_at`)."""
    answer: Answer | None = None
    """The decoded envelope; None when the events were read straight from the bytes
    (which happens only for an answer without an error and with an events list)."""
    skips: Counter[str] = field(default_factory=Counter)

    @property
    def error(self) -> Any:
        """The service's error object, or None."""
        return None if self.answer is None else self.answer.error

    @property
    def has_events_list(self) -> bool:
        """Whether the answer's data held an events list at all."""
        return not self.skips[EVENTS_MISSING]

    @property
    def complete(self) -> bool:
        """Whether every entry of the list could be read as an event with an id: only
        then is an event missing from it known to be gone."""
        return not (self.skips[EVENT_NOT_OBJECT] or self.skips[EVENT_WITHOUT_ID])


def read_event_list(
    undecoded: bytes | None,
    decode: Callable[[], Answer],
    select: Selection | None = None,
    *,
    markets: bool = True,
) -> ListedEvents:
    """The events of an ``event:list`` answer (those *select* keeps, if given).

    *undecoded*: the ACK's JSON array as UTF-8 bytes if nobody has decoded it yet
    (None if it is decoded already: the typed path would decode it a second time).
    *decode*: the answer's envelope, called only when the typed path declines.
    *markets* False: the caller needs the events without their markets (a ``details=1``
    watch); the typed path then skips them unread (:func:`parse_event_list_headers`),
    and the tolerant path, when it is taken, reads them as always.
    """
    skips: Counter[str] = Counter()
    if undecoded is not None:
        typed = parse_event_list_ack if markets else parse_event_list_headers
        read = typed(undecoded, skips=skips, select=select)
        if read is not None:
            events, fetched_at = read
            return ListedEvents(events, fetched_at, None, skips)
    answer = decode()
    events = parse_events(answer.data, fetched_at=answer.fetched_at, skips=skips, select=select)
    return ListedEvents(events, answer.fetched_at, answer, skips)
