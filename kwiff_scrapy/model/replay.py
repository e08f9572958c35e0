"""A replay: stored changes through the detectors, the signals out as they fire (pure).

The watch feeds its detectors one answer's changes at a time, then flushes; a replay
feeds them in chunks of any size, then flushes once: the detectors close a poll when a
change of another poll arrives, so both give the same signals
(:mod:`kwiff_scrapy.model.detectors`).

A replay from *since* on needs the state the detectors would have had then: it starts
``warm_up`` seconds earlier (the longest window or cooldown of the rules: every price,
overround, suspension and cooldown that can count at *since*) and lists only the signals
fired from *since* on.
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING

from .detectors import SignalDetectors, clock_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from .changes import Change
    from .signal_rules import SignalRule
    from .signals import OddsSignal

#: Changes fed to the detectors at a time. Few: a chunk's changes are young objects of
#: the garbage collector until they are fed, and each young collection goes through them
#: (1,000 made the collector's share of a replay twice that of 100: 0.64 s against 0.31 s
#: of CPU over 200,000 changes).
CHUNK = 100


def warm_up(rules: Sequence[SignalRule]) -> float:
    """Seconds of history before *since* that decide the signals from *since* on."""
    return max((max(rule.window, rule.cooldown) for rule in rules), default=0.0)


def replay(
    rules: Sequence[SignalRule], changes: Iterable[Change], *, since: float | None = None
) -> Iterator[OddsSignal]:
    """The signals *rules* fire over *changes* (in time order), as they fire.

    *since*: seconds since the epoch; signals fired before it are not yielded (the
    changes should start ``warm_up(rules)`` seconds before it).
    """
    detectors = SignalDetectors(rules)
    feed = detectors.feed
    iterator = iter(changes)
    while chunk := list(islice(iterator, CHUNK)):
        yield from _from(feed(chunk), since)
    yield from _from(detectors.flush(), since)


def _from(signals: list[OddsSignal], since: float | None) -> list[OddsSignal]:
    if since is None or not signals:
        return signals
    return [s for s in signals if (clock_of(s.fetched_at) or 0.0) >= since]
