"""The watch's comparison (pure), shared by the local and the shared watch."""

from __future__ import annotations

from kwiff_scrapy.model.changes import EventSnapshot, PricePoint, compare_event, compare_list


def _snapshot(event_id: int, odds: float) -> EventSnapshot:
    point = PricePoint(1, "Match", event_id * 10, "Home", odds, None, True)
    return EventSnapshot(event_id, outcomes={event_id * 10: point}, fetched_at="t1")


def test_a_list_compares_the_listed_and_removes_the_gone_only_when_complete() -> None:
    previous = {1: _snapshot(1, 2.0), 2: _snapshot(2, 3.0)}
    listed = {1: _snapshot(1, 2.5), 3: _snapshot(3, 4.0)}
    comparison = compare_list(
        previous, previous, listed, compare_listed=True, complete=True, seen_at="t2"
    )
    kinds = sorted(
        (change.event_id, type(change).__name__, change.kind) for change in comparison.changes
    )
    assert kinds == [
        (1, "OddsChange", "moved"),
        (2, "EventChange", "removed"),
        (2, "OddsChange", "removed"),
        (3, "EventChange", "new"),
        (3, "OddsChange", "new"),
    ]
    assert comparison.writes == listed
    assert comparison.deletes == [2]
    unsure = compare_list(
        previous, previous, listed, compare_listed=True, complete=False, seen_at="t2"
    )
    assert unsure.deletes == []  # an unreadable entry may be the event: none is removed
    details = compare_list(
        previous, previous, listed, compare_listed=False, complete=True, seen_at="t2"
    )
    assert details.writes == {}  # with details=1 the events' own answers are compared
    assert details.deletes == [2]


def test_an_event_answer_writes_the_snapshot_or_deletes_a_gone_event() -> None:
    moved = compare_event(1, _snapshot(1, 2.0), _snapshot(1, 2.2), seen_at="t2")
    assert [change.kind for change in moved.changes] == ["moved"]
    assert moved.writes == {1: _snapshot(1, 2.2)}
    gone = compare_event(1, _snapshot(1, 2.0), None, seen_at="t2")
    assert [change.kind for change in gone.changes] == ["removed", "removed"]
    assert gone.deletes == [1]
