"""The odds history store: records of items, changes only, one transaction per batch,
several writers, the schema version; on SQLite and on a real PostgreSQL server."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from kwiff_scrapy.history import bulk
from kwiff_scrapy.history import store as store_module
from kwiff_scrapy.history.errors import HistoryError
from kwiff_scrapy.history.queries import HistoryReader
from kwiff_scrapy.history.records import (
    KEEP_STATUS,
    Observation,
    fetched_ms,
    from_ms,
    observe,
    parse_time_ms,
)
from kwiff_scrapy.history.schema import SCHEMA_VERSION, database_url
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.model.items import (
    EventChange,
    KwiffEvent,
    Market,
    OddsChange,
    Outcome,
    OutcomeRow,
    PricedGroup,
)

from ..support.databases import (
    connect,
    count_rows,
    history_uri,
    postgres_schema,  # fixtures, used by name
    postgres_server,
    postgres_uri,
    price_rows,
    sqlite_uri,
)

T0 = "2026-12-01T10:00:00.000Z"
T1 = "2026-12-01T10:00:10.000Z"
T2 = "2026-12-01T10:00:20.000Z"
T3 = "2026-12-01T10:00:30.000Z"


def event(
    home: float = 1.67,
    draw: float = 3.5,
    *,
    fetched_at: str = T0,
    market_status: str | None = None,
    draw_status: str | None = None,
    **fields: Any,
) -> KwiffEvent:
    header: dict[str, Any] = {
        "event_id": 7,
        "sport_id": 11,
        "sport_name": "Football",
        "competition_id": 3,
        "competition_name": "Premier League",
        "home_team": "Arsenal",
        "away_team": "Juventus",
        "start_time": "2026-12-05T15:00:00.000Z",
        "betting_status": "OPEN",
        "in_play": False,
    }
    header.update(fields)
    market = Market(
        id=71,
        name="Full Time Result",
        status=market_status,
        outcomes=[
            Outcome(id=711, name="Arsenal", odds=home, fractional="2/3"),
            Outcome(id=712, name="Draw", odds=draw, fractional="5/2", status=draw_status),
        ],
    )
    return KwiffEvent(markets=[market], fetched_at=fetched_at, **header)


def change(kind: str, odds: float | None, fetched_at: str, outcome_id: int = 711) -> OddsChange:
    return OddsChange(
        event_id=7,
        home_team="Arsenal",
        away_team="Juventus",
        market_id=71,
        market_name="Full Time Result",
        outcome_id=outcome_id,
        outcome_name="Arsenal",
        kind=kind,
        odds=odds,
        fractional=None if odds is None else f"{odds}",
        fetched_at=fetched_at,
    )


def observations(*items: Any) -> list[Observation]:
    found = [observe(item) for item in items]
    assert all(seen is not None for seen in found)
    return [seen for seen in found if seen is not None]


def opened(uri: str) -> HistoryStore:
    store = HistoryStore(database_url(uri))
    assert store.open() == SCHEMA_VERSION
    return store


def ms(iso: str) -> int:
    result = parse_time_ms(iso)
    assert result is not None
    return result


# -- records of items (no database) ------------------------------------------------------------


def test_a_nested_event_gives_one_price_per_outcome_with_its_or_its_markets_status() -> None:
    seen = observe(event(market_status="OPEN", draw_status="Suspended"))
    assert seen is not None
    assert seen.header is not None
    assert (seen.header.event_id, seen.header.home_team, seen.header.start_ms) == (
        7,
        "Arsenal",
        ms("2026-12-05T15:00:00.000Z"),
    )
    assert [(p.outcome_key, p.odds, p.status, p.fetched_ms) for p in seen.prices] == [
        ("711", 1.67, None, ms(T0)),  # "OPEN" is open: stored as None
        ("712", 3.5, "suspended", ms(T0)),  # normalised to lower case
    ]
    suspended_market = observe(event(market_status="SUSPENDED"))
    assert suspended_market is not None
    assert {p.status for p in suspended_market.prices} == {"suspended"}


def test_a_flat_row_gives_the_same_price_as_its_nested_event() -> None:
    row = OutcomeRow(
        event_id=7,
        market_id=71,
        market_name="Full Time Result",
        outcome_id=712,
        outcome_name="Draw",
        odds=3.5,
        fractional="5/2",
        status="suspended",
        fetched_at=T0,
    )
    (price,) = observations(row)[0].prices
    nested = observe(event(draw_status="suspended"))
    assert nested is not None
    assert price == nested.prices[1]


def test_outcomes_without_an_id_are_keyed_by_market_and_name_and_unkeyable_ones_skipped() -> None:
    kwiff_event = KwiffEvent(
        event_id=7,
        fetched_at=T0,
        markets=[
            Market(
                id=None,
                name="Winner",
                outcomes=[Outcome(id=None, name="Arsenal", odds=2.0), Outcome(odds=3.0)],
            )
        ],
    )
    seen = observe(kwiff_event)
    assert seen is not None
    assert [p.outcome_key for p in seen.prices] == ["m:name:Winner/Arsenal"]
    assert seen.skipped == 1


@pytest.mark.parametrize(
    ("kind", "odds", "status"),
    [
        ("new", 2.0, None),
        ("moved", 2.1, KEEP_STATUS),
        ("suspended", 2.1, "suspended"),
        ("resumed", 2.1, None),
        ("removed", None, "removed"),
    ],
)
def test_the_watch_odds_changes_say_their_status_by_their_kind(
    kind: str, odds: float | None, status: str | None
) -> None:
    item = change(kind, odds, T1)
    item.odds = odds if kind != "removed" else None
    (price,) = observations(item)[0].prices
    assert (price.odds, price.status, price.fetched_ms) == (odds, status, ms(T1))


def test_a_bet_builder_group_is_keyed_by_its_event_and_sorted_outcome_ids() -> None:
    priced = PricedGroup(event_id=7, outcome_ids=[712, 711], odds=4.5, fractional="7/2")
    unpriced = PricedGroup(event_id=7, outcome_ids=[711, 712], fetched_at=T0)
    (a,) = observations(priced)[0].prices
    (b,) = observations(unpriced)[0].prices
    assert a.outcome_key == b.outcome_key == "bb:711+712"
    assert (a.market_key, a.odds, a.status) == ("betbuilder", 4.5, None)
    assert (b.odds, b.status) == (None, "unpriced")
    lost = observe(PricedGroup(event_id=None, outcome_ids=[711]))
    assert lost is not None
    assert (lost.prices, lost.skipped) == ([], 1)


def test_an_event_change_carries_the_event_fields_and_no_price() -> None:
    seen = observe(EventChange(event_id=7, kind="removed", betting_status="CLOSED", in_play=True))
    assert seen is not None
    assert seen.prices == []
    assert seen.event_removed
    assert seen.header is not None
    assert (seen.header.betting_status, seen.header.in_play) == ("CLOSED", True)
    assert observe({"event_id": 7}) is None  # an item that carries no price


def test_an_item_without_fetched_at_is_stamped_with_the_time_it_was_seen() -> None:
    assert fetched_ms(None, None) > ms(T0)
    assert fetched_ms("not a time", None) > ms(T0)
    assert fetched_ms(T1) == ms(T1)


# -- changes only ------------------------------------------------------------------------------


def test_the_first_write_stores_every_price_and_an_identical_one_none(history_uri: str) -> None:
    store = opened(history_uri)
    first = store.write(observations(event()))
    assert (first.written, first.unchanged, first.transaction) == (2, 0, True)
    again = store.write(observations(event(fetched_at=T1)))
    # Known in memory: no transaction at all.
    assert (again.written, again.unchanged, again.transaction) == (0, 2, False)
    store.close()
    other = opened(history_uri)  # another process: it asks the database
    fresh = other.write(observations(event(fetched_at=T2)))
    assert (fresh.written, fresh.unchanged) == (0, 2)
    other.close()
    assert count_rows(history_uri) == 2
    assert count_rows(history_uri, "kwiff_events") == 1
    assert count_rows(history_uri, "kwiff_markets") == 1
    assert count_rows(history_uri, "kwiff_outcomes") == 2


def test_only_moves_and_status_changes_are_written(history_uri: str) -> None:
    store = opened(history_uri)
    store.write(observations(event()))
    result = store.write(
        observations(
            event(home=1.8, fetched_at=T1),  # Arsenal moved
            event(home=1.8, fetched_at=T2, draw_status="suspended"),  # Draw suspended
            event(home=1.8, fetched_at=T3, draw_status="suspended"),  # nothing
        )
    )
    assert (result.written, result.unchanged) == (2, 4)
    store.close()
    assert price_rows(history_uri) == [
        ("711", ms(T0), 1.67, "2/3", None),
        ("711", ms(T1), 1.8, "2/3", None),
        ("712", ms(T0), 3.5, "5/2", None),
        ("712", ms(T2), 3.5, "5/2", "suspended"),
    ]


def test_the_watch_items_store_each_change_and_a_move_keeps_the_status(history_uri: str) -> None:
    store = opened(history_uri)
    items = [
        change("new", 2.0, T0),
        change("suspended", 2.0, T1),
        change("moved", 2.2, T2),  # still suspended
        change("resumed", 2.2, T3),
        change("removed", None, "2026-12-01T10:00:40.000Z"),
    ]
    items[-1].odds = None
    result = store.write(observations(*items))
    assert (result.written, result.unchanged) == (5, 0)
    store.close()
    assert [row[1:] for row in price_rows(history_uri)] == [
        (ms(T0), 2.0, "2.0", None),
        (ms(T1), 2.0, "2.0", "suspended"),
        (ms(T2), 2.2, "2.2", "suspended"),
        (ms(T3), 2.2, "2.2", None),
        (ms("2026-12-01T10:00:40.000Z"), None, None, "removed"),
    ]


def test_event_changes_update_the_event_row_and_never_erase_what_is_known(
    history_uri: str,
) -> None:
    store = opened(history_uri)
    store.write(observations(event()))
    store.write(observations(EventChange(event_id=7, kind="status", betting_status="SUSPENDED")))
    store.write(observations(change("moved", 1.9, T1)))  # no sport or competition id
    store.close()
    engine = create_engine(database_url(history_uri))
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT sport_id, competition_id, competition_name, betting_status, in_play, "
                "updated_at FROM kwiff_events"
            )
        ).one()
    engine.dispose()
    assert tuple(row) == (11, 3, "Premier League", "SUSPENDED", False, ms(T1))


def test_a_slower_machines_batch_never_moves_the_events_update_time_back(
    history_uri: str,
) -> None:
    """``updated_at`` is the latest time a price of the event was met at: ``--top
    --since`` finds its outcomes through the events updated since."""
    store = opened(history_uri)
    store.write(observations(event(fetched_at=T2)))
    store.write(observations(change("moved", 1.7, T1, outcome_id=712)))  # an older answer
    store.close()
    engine = create_engine(database_url(history_uri))
    with engine.connect() as connection:
        updated = connection.execute(text("SELECT updated_at FROM kwiff_events")).scalar()
    engine.dispose()
    assert updated == ms(T2)
    with HistoryReader(history_uri) as reader:
        assert [m.outcome_id for m in reader.top_movers(5, since=from_ms(ms(T0)))] == [712]


def test_a_late_price_is_compared_with_the_one_before_its_own_time(history_uri: str) -> None:
    store = opened(history_uri)
    store.write(observations(change("new", 2.0, T0), change("moved", 2.4, T2)))
    late = store.write(
        observations(
            change("moved", 2.2, T1),  # another machine saw 2.2 in between
            change("moved", 2.4, T2),  # the same answer again
        )
    )
    assert (late.written, late.unchanged) == (1, 1)
    equal = HistoryStore(database_url(history_uri))
    equal.open()
    # Late, but the price in force at its time: nothing to write.
    assert equal.write(observations(change("moved", 2.0, "2026-12-01T10:00:05.000Z"))).written == 0
    equal.close()
    store.close()
    assert [row[1:3] for row in price_rows(history_uri)] == [
        (ms(T0), 2.0),
        (ms(T1), 2.2),
        (ms(T2), 2.4),
    ]


def test_bet_builder_groups_are_stored_by_event_and_sorted_outcome_ids(history_uri: str) -> None:
    store = opened(history_uri)
    store.write(observations(event()))
    result = store.write(
        observations(
            PricedGroup(event_id=7, outcome_ids=[712, 711], odds=4.5, fetched_at=T0),
            PricedGroup(event_id=7, outcome_ids=[711, 712], odds=4.5, fetched_at=T1),
            PricedGroup(event_id=7, outcome_ids=[711, 712], odds=None, fetched_at=T2),
            PricedGroup(event_id=8, outcome_ids=[811], odds=2.0, fetched_at=T0),  # a new event
        )
    )
    assert (result.written, result.unchanged) == (3, 1)
    store.close()
    groups = [row for row in price_rows(history_uri) if row[0].startswith("bb:")]
    assert groups == [
        ("bb:711+712", ms(T0), 4.5, None, None),
        ("bb:711+712", ms(T2), None, None, "unpriced"),
        ("bb:811", ms(T0), 2.0, None, None),
    ]


# -- several writers ---------------------------------------------------------------------------


def test_two_writers_that_see_the_same_moves_store_them_once(history_uri: str) -> None:
    first, second = opened(history_uri), opened(history_uri)
    first.write(observations(event()))
    second.write(observations(event(fetched_at=T1)))  # loads the event, nothing new
    moves = [
        event(home=1.5 + n / 100, fetched_at=f"2026-12-01T10:01:{n:02d}.000Z") for n in range(20)
    ]
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def write(store: HistoryStore, items: list[KwiffEvent]) -> None:
        barrier.wait()
        try:
            for item in items:
                results.append(store.write(observations(item)))
        except BaseException as exc:
            errors.append(exc)

    # Both write every move (each as it would on its own machine), at the same time.
    threads = [threading.Thread(target=write, args=(s, moves)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.close()
    second.close()
    assert errors == []
    assert sum(r.written for r in results) == 20
    assert count_rows(history_uri) == 2 + 20


def test_a_shared_watch_stores_a_move_back_to_a_price_its_writer_stored_before(
    history_uri: str,
) -> None:
    # A shared watch: each change is reported by one worker only. The first stores 1.91,
    # the second the move to 1.83, then the first gets the move back to 1.91.
    first, second = opened(history_uri), opened(history_uri)
    try:
        assert first.write(observations(change("new", 1.91, T0))).written == 1
        assert second.write(observations(change("moved", 1.83, T1))).written == 1
        back = first.write(observations(change("moved", 1.91, T2)))
        assert (back.written, back.unchanged) == (1, 0)
        # And the second, remembering 1.83, gets the move back to it.
        again = second.write(observations(change("moved", 1.83, T3)))
        assert (again.written, again.unchanged) == (1, 0)
    finally:
        first.close()
        second.close()
    assert [row[1:3] for row in price_rows(history_uri)] == [
        (ms(T0), 1.91),
        (ms(T1), 1.83),
        (ms(T2), 1.91),
        (ms(T3), 1.83),
    ]


def test_a_writer_reads_the_latest_prices_only_of_events_another_writer_wrote_since(
    history_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The events' write counts: a store that wrote an event last decides its next moves
    (even a watch's) from memory; once another writer wrote the event, from the database."""
    read: list[int] = []
    original = store_module.summaries.read_latest

    def counted(connection: Any, outcome_ids: Any) -> Any:
        read.extend(outcome_ids)
        return original(connection, outcome_ids)

    monkeypatch.setattr(store_module.summaries, "read_latest", counted)
    first, second = opened(history_uri), opened(history_uri)
    try:
        assert first.write(observations(change("new", 1.91, T0))).written == 1
        assert first.write(observations(change("moved", 1.83, T1))).written == 1
        assert read == []  # a new outcome, then this store's own latest price
        assert second.write(observations(change("moved", 1.91, T2))).written == 1
        assert len(read) == 1  # the second store meets the event
        # The first store remembers 1.83; the database says 1.91 since T2.
        back = first.write(observations(change("moved", 1.83, T3)))
        assert (back.written, back.unchanged) == (1, 0)
        assert len(read) == 2
    finally:
        first.close()
        second.close()
    assert [row[1:3] for row in price_rows(history_uri)] == [
        (ms(T0), 1.91), (ms(T1), 1.83), (ms(T2), 1.91), (ms(T3), 1.83)
    ]  # fmt: skip


def test_a_repeated_snapshot_is_unchanged_without_a_transaction(history_uri: str) -> None:
    store = opened(history_uri)
    store.write(observations(event()))
    again = store.write(observations(event(fetched_at=T1)))
    store.close()
    assert (again.written, again.unchanged, again.transaction) == (0, 2, False)


def test_a_failed_batch_leaves_nothing_behind_and_can_be_written_again(
    history_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = opened(history_uri)
    original = store_module.bulk.write

    def fail(*args: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("the server closed the connection"))

    monkeypatch.setattr(store_module.bulk, "write", fail)
    with pytest.raises(HistoryError, match=r"writing to .* failed: the server closed the conn"):
        store.write(observations(event()))
    assert count_rows(history_uri, "kwiff_events") == 0  # the events upsert was rolled back
    assert count_rows(history_uri, "kwiff_outcomes") == 0
    assert store.cached_outcomes() == 0
    monkeypatch.setattr(store_module.bulk, "write", original)
    assert store.write(observations(event())).written == 2
    store.close()
    assert count_rows(history_uri) == 2


def terminate_backends(server: str, application_name: str) -> list[str]:
    """End every backend of *application_name* from a second connection, as an administrator
    or a failover does; the states they were in."""
    with connect(server) as connection:
        rows = connection.execute(
            "SELECT state, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s",
            (application_name,),
        ).fetchall()
    assert all(terminated for _state, terminated in rows)
    return [state for state, _terminated in rows]


def named(uri: str) -> tuple[str, str]:
    """*uri* with an ``application_name`` of its own, and that name."""
    name = f"kwiff_test_{uuid.uuid4().hex[:10]}"
    return f"{uri}&application_name={name}", name


def test_a_postgres_connection_lost_between_batches_is_replaced_unnoticed(
    postgres_server: str, postgres_uri: str
) -> None:
    uri, name = named(postgres_uri)
    store = opened(uri)
    assert store.write(observations(event())).written == 2
    assert terminate_backends(postgres_server, name) == ["idle"]
    assert store.write(observations(event(1.8, fetched_at=T1))).written == 1
    store.close()
    assert count_rows(postgres_uri) == 3


@pytest.mark.parametrize(
    "cut_before",
    [
        pytest.param("write", id="inside-a-batch"),
        # The rows are copied through the driver's own cursor: its error is reported as
        # any other statement's, and the lost connection is not used again.
        pytest.param("_copy", id="during-the-copy"),
    ],
)
def test_a_postgres_connection_lost_inside_a_batch_fails_it_whole_and_the_next_reconnects(
    postgres_server: str, postgres_uri: str, monkeypatch: pytest.MonkeyPatch, cut_before: str
) -> None:
    uri, name = named(postgres_uri)
    store = opened(uri)
    original = getattr(bulk, cut_before)
    states: list[str] = []

    def cut_then_go_on(*args: Any) -> Any:
        states.extend(terminate_backends(postgres_server, name))
        return original(*args)

    monkeypatch.setattr(bulk, cut_before, cut_then_go_on)
    with pytest.raises(
        HistoryError,
        match=r"^writing to postgresql\+psycopg://\S+ failed: terminating connection due to "
        "administrator command$",
    ):
        store.write(observations(event()))
    assert states == ["idle in transaction"]
    assert count_rows(postgres_uri, "kwiff_events") == 0  # what the batch did was undone
    assert count_rows(postgres_uri, "kwiff_outcomes") == 0
    monkeypatch.setattr(bulk, cut_before, original)
    assert store.write(observations(event())).written == 2  # on a new connection
    store.close()
    assert count_rows(postgres_uri) == 2
    assert count_rows(postgres_uri, "kwiff_outcome_summaries") == 2


# -- opening a database ------------------------------------------------------------------------


def test_a_database_of_a_newer_schema_is_refused_with_one_line(history_uri: str) -> None:
    opened(history_uri).close()
    engine = create_engine(database_url(history_uri))
    with engine.begin() as connection:
        connection.execute(text("UPDATE kwiff_history_meta SET value = '99'"))
    engine.dispose()
    with pytest.raises(HistoryError) as caught:
        opened(history_uri)
    message = str(caught.value)
    assert "\n" not in message
    assert message.endswith(
        f"holds odds history of schema version 99, newer than this kwiff_scrapy's "
        f"{SCHEMA_VERSION}: upgrade kwiff_scrapy to write to it"
    )


def test_a_database_that_cannot_be_opened_says_what_and_why(tmp_path: Any) -> None:
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'odds.sqlite'}"
    with pytest.raises(HistoryError, match=r"odds.sqlite cannot be opened: unable to open"):
        opened(missing)
    with pytest.raises(HistoryError, match=r"127.0.0.1:9/test cannot be opened: .*"):
        opened("postgresql://postgres@127.0.0.1:9/test")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("odds.sqlite", "'odds.sqlite' is not a database URI such as sqlite:///odds.sqlite"),
        ("mysql://root@localhost/odds", "mysql is not supported"),
        ("sqlite://", "name a database file"),
    ],
)
def test_uris_that_are_not_history_databases_are_refused(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        database_url(uri)


def test_postgresql_uris_mean_psycopg_3() -> None:
    url = database_url("postgres://user:secret@db.example/odds")
    assert url.drivername == "postgresql+psycopg"
    assert "secret" not in HistoryStore(url).description


def test_a_new_sqlite_database_is_in_wal_mode(sqlite_uri: str) -> None:
    opened(sqlite_uri).close()
    engine = create_engine(sqlite_uri)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


# -- the fixtures themselves -----------------------------------------------------------------


def test_each_postgres_test_gets_a_schema_of_its_own_that_is_dropped(
    postgres_server: str,
) -> None:
    with postgres_schema(postgres_server) as uri:
        schema = uri.rsplit("%3D", 1)[1]
        with connect(uri) as connection:
            (current,) = connection.execute("SELECT current_schema()").fetchone()
        assert current == schema
    with connect(postgres_server) as connection:
        found = connection.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        ).fetchone()
    assert found == (0,)
