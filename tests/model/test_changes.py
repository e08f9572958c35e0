"""The pure comparison of two snapshots of an event (model/changes.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kwiff_scrapy.model.changes import (
    EventSnapshot,
    PricePoint,
    diff_event,
    is_open,
    relative_change,
)
from kwiff_scrapy.model.items import EventChange, KwiffEvent, Market, OddsChange, Outcome


def event(*markets: Market, **fields: object) -> KwiffEvent:
    header: dict[str, object] = {
        "event_id": 7,
        "sport_name": "Football",
        "competition_name": "Premier League",
        "home_team": "Arsenal",
        "away_team": "Juventus",
        "start_time": "2026-12-05T15:00:00.000Z",
        "betting_status": "OPEN",
        "in_play": False,
        "fetched_at": "2026-12-01T10:00:00.000Z",
    }
    header.update(fields)
    return KwiffEvent(markets=list(markets), **header)  # type: ignore[arg-type]


def full_time(home: float = 1.67, draw: float = 3.5, status: str | None = None) -> Market:
    return Market(
        id=1,
        name="Full Time Result",
        status=status,
        outcomes=[
            Outcome(id=11, name="Arsenal", odds=home, fractional="2/3"),
            Outcome(id=12, name="Draw", odds=draw, fractional="5/2"),
        ],
    )


def snap(kwiff_event: KwiffEvent) -> EventSnapshot:
    return EventSnapshot.of(kwiff_event)


LATER = {"fetched_at": "2026-12-01T10:00:10.000Z"}


def test_a_new_event_reports_itself_and_every_outcome_as_new() -> None:
    changes = diff_event(None, snap(event(full_time())))
    assert [type(c).__name__ for c in changes] == ["EventChange", "OddsChange", "OddsChange"]
    assert changes[0] == EventChange(
        event_id=7,
        home_team="Arsenal",
        away_team="Juventus",
        competition_name="Premier League",
        start_time="2026-12-05T15:00:00.000Z",
        kind="new",
        betting_status="OPEN",
        previous_betting_status=None,
        in_play=False,
        fetched_at="2026-12-01T10:00:00.000Z",
    )
    assert changes[1] == OddsChange(
        event_id=7,
        sport_name="Football",
        competition_name="Premier League",
        home_team="Arsenal",
        away_team="Juventus",
        start_time="2026-12-05T15:00:00.000Z",
        market_id=1,
        market_name="Full Time Result",
        outcome_id=11,
        outcome_name="Arsenal",
        kind="new",
        odds=1.67,
        previous_odds=None,
        fractional="2/3",
        previous_fractional=None,
        change=None,
        fetched_at="2026-12-01T10:00:00.000Z",
        previous_fetched_at=None,
    )


def test_the_same_answer_again_changes_nothing() -> None:
    first = snap(event(full_time()))
    assert diff_event(first, snap(event(full_time(), **LATER))) == []


def test_a_moved_price_reports_old_and_new_odds_and_the_relative_change() -> None:
    before = snap(event(full_time(home=1.67)))
    (change,) = diff_event(before, snap(event(full_time(home=1.9), **LATER)))
    assert isinstance(change, OddsChange)
    assert (change.kind, change.outcome_name) == ("moved", "Arsenal")
    assert (change.previous_odds, change.odds) == (1.67, 1.9)
    assert change.change is not None
    assert round(change.change, 4) == round((1.9 - 1.67) / 1.67, 4)
    assert change.previous_fetched_at == "2026-12-01T10:00:00.000Z"
    assert change.fetched_at == "2026-12-01T10:00:10.000Z"


def test_a_suspended_market_suspends_its_outcomes_and_resumes_them() -> None:
    open_market = snap(event(full_time()))
    suspended = snap(event(full_time(status="SUSPENDED"), **LATER))
    changes = diff_event(open_market, suspended)
    assert [(c.kind, c.outcome_name) for c in changes] == [  # type: ignore[union-attr]
        ("suspended", "Arsenal"),
        ("suspended", "Draw"),
    ]
    resumed = diff_event(suspended, snap(event(full_time(status="open"))))
    assert [c.kind for c in resumed] == ["resumed", "resumed"]


def test_a_suspended_outcome_alone() -> None:
    market = full_time()
    market.outcomes[1].status = "suspended"
    changes = diff_event(snap(event(full_time())), snap(event(market)))
    assert [(c.kind, c.outcome_name) for c in changes] == [("suspended", "Draw")]  # type: ignore[union-attr]


def test_removed_outcomes_and_removed_events() -> None:
    market = full_time()
    del market.outcomes[1]
    (gone,) = diff_event(snap(event(full_time())), snap(event(market, **LATER)))
    assert isinstance(gone, OddsChange)
    assert (gone.kind, gone.outcome_name, gone.odds, gone.previous_odds) == (
        "removed",
        "Draw",
        None,
        3.5,
    )
    assert gone.change is None
    changes = diff_event(snap(event(full_time())), None, seen_at="2026-12-01T11:00:00.000Z")
    assert [c.kind for c in changes] == ["removed", "removed", "removed"]
    assert isinstance(changes[0], EventChange)
    assert {c.fetched_at for c in changes} == {"2026-12-01T11:00:00.000Z"}


def test_a_betting_status_or_in_play_change_is_an_event_status_change() -> None:
    before = snap(event(full_time()))
    (change,) = diff_event(before, snap(event(full_time(), betting_status="SUSPENDED")))
    assert isinstance(change, EventChange)
    assert (change.kind, change.previous_betting_status, change.betting_status) == (
        "status",
        "OPEN",
        "SUSPENDED",
    )
    (live,) = diff_event(before, snap(event(full_time(), in_play=True)))
    assert isinstance(live, EventChange)
    assert (live.kind, live.in_play) == ("status", True)


def test_outcomes_without_ids_are_told_apart_by_market_and_name() -> None:
    market = Market(name="Both Teams To Score", outcomes=[Outcome(name="Yes", odds=1.8)])
    moved = Market(name="Both Teams To Score", outcomes=[Outcome(name="Yes", odds=2.0)])
    (change,) = diff_event(snap(event(market)), snap(event(moved)))
    assert (change.kind, change.previous_odds, change.odds) == ("moved", 1.8, 2.0)  # type: ignore[union-attr]


def test_relative_change_takes_the_earlier_price_first() -> None:
    assert relative_change(2.0, 2.5) == 0.25
    assert relative_change(2.5, 2.0) == -0.2
    assert relative_change(1.0, 2.0) == 1.0


def test_relative_change_needs_both_prices_and_an_earlier_one_above_zero() -> None:
    assert relative_change(None, 1.0) is None
    assert relative_change(2.0, None) is None
    assert relative_change(0.0, 2.0) is None
    assert relative_change(2.0, 0.0) == -1.0


def test_open_statuses() -> None:
    assert is_open(None)
    assert is_open("OPEN")
    assert is_open(" active ")
    assert not is_open("SUSPENDED")
    assert not is_open("closed")


# -- properties ---------------------------------------------------------------------------

points = st.builds(
    PricePoint,
    market_id=st.just(1),
    market_name=st.just("M"),
    outcome_id=st.none(),
    outcome_name=st.none(),
    odds=st.none() | st.sampled_from([1.5, 2.0, 3.25]),
    fractional=st.none(),
    open=st.booleans(),
)
# Outcomes keyed by id, as the service's outcomes are.
outcome_maps = st.dictionaries(st.integers(1, 6), points, max_size=6).map(
    lambda found: {key: point._replace(outcome_id=key) for key, point in found.items()}
)
snapshots = st.builds(
    EventSnapshot,
    event_id=st.just(7),
    betting_status=st.sampled_from(["OPEN", "SUSPENDED"]),
    in_play=st.booleans(),
    outcomes=outcome_maps,
)


def state(point: PricePoint | None) -> tuple[float | None, bool] | None:
    return None if point is None else (point.odds, point.open)


@given(snapshots, snapshots)
def test_every_outcome_that_differs_is_reported_once_and_nothing_else(
    before: EventSnapshot, after: EventSnapshot
) -> None:
    changes = diff_event(before, after)
    reported = [c.outcome_id for c in changes if isinstance(c, OddsChange)]
    differing = {
        key
        for key in before.outcomes.keys() | after.outcomes.keys()
        if state(before.outcomes.get(key)) != state(after.outcomes.get(key))
    }
    assert sorted(reported) == sorted(differing)  # type: ignore[type-var]
    event_changes = [c for c in changes if isinstance(c, EventChange)]
    header_before = (before.betting_status, before.in_play)
    assert len(event_changes) == int(header_before != (after.betting_status, after.in_play))


@given(snapshots)
def test_a_snapshot_compared_with_itself_is_unchanged(snapshot: EventSnapshot) -> None:
    assert diff_event(snapshot, snapshot) == []
