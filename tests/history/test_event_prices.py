"""One event's prices read in columns and its moves found in one pass give exactly what a
Move per price gave: the same outcomes and prices, the same CSV, the same table of
``history --event``; on random histories full of ties, gaps, statuses, bet-builder groups
and names that are wide, accented or need quoting; on SQLite and on PostgreSQL."""

# ruff: noqa: F401, F811 (the database fixtures are imported, then used as arguments)

from __future__ import annotations

import io
import random

import pytest
from sqlalchemy import create_engine, insert

from kwiff_scrapy.commands.history import move_table
from kwiff_scrapy.history.errors import HistoryError
from kwiff_scrapy.history.event_prices import event_moves
from kwiff_scrapy.history.export import write_event_csv
from kwiff_scrapy.history.queries import HistoryReader, outcome_histories, since_ms
from kwiff_scrapy.history.records import from_ms
from kwiff_scrapy.history.schema import database_url, events, markets, outcomes, prices
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.history.time_text import UtcTexts
from kwiff_scrapy.model.values import iso_utc_datetime

from ..support.databases import history_uri, postgres_server, postgres_uri, sqlite_uri
from .reference_queries import old_move_table, old_moves, old_moves_csv, old_outcome_histories

START_MS = 1_790_000_000_000
MINUTE = 60_000
EVENT = 500
ODDS = (1.5, 2.0, 2.5, 3.0, 4.0, 7.5, 1.0, None)
#: (market key, name, outcomes as (outcome id, outcome key, name)); the outcome rows are
#: inserted in this order, so the markets' first outcomes are not in key order.
CARD = (
    ("20", "Total Goals 2.5", ((2001, "2001", "Over"), (2002, "2002", "Under"))),
    ("10", "Full Time Result", (
        (1001, "1001", "Home"), (1002, "1002", "Draw"), (1003, "1003", "Away"),
    )),
    ("30", "First Goalscorer", (
        (3001, "3001", "Ødegaard"), (3002, "3002", "久保 建英"), (3003, "3003", 'O\'Neil, "Kid"'),
        (3004, "3004", None), (3005, "3005", "Never priced"),
    )),
    ("name:Specials", None, ((None, "m:name:Specials/Both", "Both"),)),
    ("betbuilder", "Bet builder", (
        (None, "bb:1001+3001", None), (None, "bb:1003+9999", None),
    )),
)  # fmt: skip


def fill(uri: str, seed: int) -> None:
    """The card's outcomes for EVENT (and one outcome of another event), and random prices
    at whole minutes (many outcomes share a time), some without odds, some not open."""
    store = HistoryStore(database_url(uri))
    store.open()
    store.close()
    rng = random.Random(seed)
    engine = create_engine(database_url(uri))
    with engine.begin() as connection:
        connection.execute(
            insert(events),
            [
                {"event_id": EVENT, "home_team": "Home", "start_time": START_MS},
                {"event_id": EVENT + 1, "home_team": "Other", "start_time": None},
            ],
        )
        connection.execute(
            insert(markets),
            [{"event_id": EVENT, "market_key": key, "name": name} for key, name, _ in CARD]
            + [{"event_id": EVENT + 1, "market_key": "10", "name": "Full Time Result"}],
        )
        for key, _name, members in CARD:
            connection.execute(
                insert(outcomes),
                [
                    {"event_id": EVENT, "market_key": key, "outcome_key": outcome_key,
                     "outcome_id": outcome_id, "name": name}
                    for outcome_id, outcome_key, name in members
                ],
            )  # fmt: skip
        connection.execute(
            insert(outcomes),
            [{"event_id": EVENT + 1, "market_key": "10", "outcome_key": "1", "outcome_id": 1}],
        )
        ids = {
            row.outcome_key: row.id
            for row in connection.execute(outcomes.select().order_by(outcomes.c.id))
        }
        rows = []
        for outcome_key, outcome in ids.items():
            if outcome_key == "3005":
                continue
            for minute in sorted(rng.sample(range(120), rng.randrange(1, 30))):
                status = rng.choice([*[None] * 8, "suspended", "removed", "open"])
                rows.append(
                    {
                        "outcome": outcome,
                        "fetched_at": START_MS + minute * MINUTE + rng.choice([0, 0, 0, 250]),
                        "odds": rng.choice(ODDS),
                        "fractional": rng.choice([None, "1/2", "3/1"]),
                        "status": status,
                    }
                )
        connection.execute(insert(prices), rows)
    engine.dispose()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_prices_csv_and_table_are_the_old_ones(history_uri: str, seed: int) -> None:
    fill(history_uri, seed)
    with HistoryReader(history_uri) as reader:
        found = reader.event_prices(EVENT)
        old = old_outcome_histories(reader, EVENT)
    assert outcome_histories(found) == old
    assert found.markets() == list(dict.fromkeys(h.market for h in old))
    for since in (None, from_ms(START_MS + 60 * MINUTE), from_ms(START_MS + 60 * MINUTE + 1)):
        moved = event_moves(found, since_ms(since) if since is not None else None)
        text = io.StringIO(newline="")
        assert write_event_csv(text, moved) == len(old_moves(old, since))
        assert text.getvalue() == old_moves_csv(old_moves(old, since))
        rows = [row for row in moved.rows if not moved.opening[row]]
        assert move_table(moved, rows) == old_move_table(old_moves(old, since))


def test_some_markets_and_an_unknown_one(sqlite_uri: str) -> None:
    fill(sqlite_uri, 4)
    with HistoryReader(sqlite_uri) as reader:
        old = old_outcome_histories(reader, EVENT)
        some = reader.event_prices(EVENT, ["full time RESULT", "First Goalscorer"])
        assert outcome_histories(some) == [
            h for h in old if h.market in ("Full Time Result", "First Goalscorer")
        ]
        with pytest.raises(HistoryError, match=r"no market 'Corners'.*its markets: Total Goals"):
            reader.event_prices(EVENT, ["Corners"])
        with pytest.raises(HistoryError, match="event 999 is not in the odds history"):
            reader.event_prices(999)


def test_times_as_text_are_those_of_datetime() -> None:
    texts = UtcTexts()
    rng = random.Random(5)
    moments = [0, 59_999, 60_000, 86_399_999, 951_782_400_000]
    moments += [rng.randrange(0, 4 * 10**12) for _ in range(20_000)]
    for ms in moments:
        moment = from_ms(ms)
        assert texts.clock(ms) == moment.strftime("%Y-%m-%d %H:%M:%S"), ms
        assert texts.iso(ms) == iso_utc_datetime(moment), ms
