"""What a summary's update costs, alone: 4,000 updates of 200 events' outcomes.

A table shaped as ``kwiff_outcome_summaries`` (one row per outcome, ``--outcomes``,
default 90,000, 150 per event, ``last_at`` spread over 1,000 ms), with and without its
``last_at`` index (and, on PostgreSQL, without it and with ``fillfactor`` 80, room for
HOT updates); each round updates 20 outcomes of each of 200 random events in one
transaction, as the history writer does (SQLite: ``executemany``; PostgreSQL: ``COPY``
into a temporary table and one ``INSERT ... ON CONFLICT DO UPDATE``). Medians of the
rounds; the shapes run one after the other (not in turns: each builds its table).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ._common import base_parser, print_header, print_table
from .bench_history_month import POSTGRES

PER_EVENT = 150
COLUMNS = "prices, opening_at, high, low, last_at, last_odds, last_status"
CREATE = (
    "CREATE TABLE {name} (outcome {key} PRIMARY KEY, event_id BIGINT NOT NULL, prices INTEGER "
    "NOT NULL, opening_at BIGINT, high {real}, low {real}, last_at BIGINT NOT NULL, "
    "last_odds {real}, last_status VARCHAR(64)){options}"
)


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "bench_summary_updates")
    parser.add_argument("--outcomes", type=int, default=90_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print_header("a summary's update, alone", args, "A shared machine: compare the rows.")
    print(f"load average at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    for backend in args.backends.split(","):
        shapes = [(True, 100), (False, 100)] + ([(False, 80)] if backend == "postgresql" else [])
        for index, fill in shapes:
            run = _sqlite if backend == "sqlite" else _postgresql
            seconds = run(args.outcomes, args.rounds, index=index, fill=fill)
            label = f"{'with' if index else 'without'} the last_at index"
            if fill != 100:
                label += f", fillfactor {fill}"
            rows.append([backend, label, f"{seconds * 1000:.1f}"])
    print_table(["database", "summaries' table", "ms for 4,000 updates (median)"], rows)
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _batches(outcomes: int, rounds: int) -> list[list[tuple[object, ...]]]:
    rng = random.Random(5)
    events = outcomes // PER_EVENT
    batches: list[list[tuple[object, ...]]] = []
    for number in range(rounds):
        chosen = sorted(
            event * PER_EVENT + k
            for event in rng.sample(range(1, events), 200)
            for k in rng.sample(range(PER_EVENT), 20)
        )
        at = 10_000 + number
        batches.append([(o, o // PER_EVENT, 11, 1000, 2.1, 1.5, at, 1.9, None) for o in chosen])
    return batches


def _timed(
    batches: list[list[tuple[object, ...]]], write: Callable[[list[tuple[object, ...]]], None]
) -> float:
    seconds = []
    for batch in batches:
        started = time.perf_counter()
        write(batch)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def _initial(outcomes: int) -> list[tuple[object, ...]]:
    rng = random.Random(3)
    return [(o, o // PER_EVENT, 10, 1000, 2.0, 1.5, 5000 + rng.randrange(1000), 1.8, None)
            for o in range(1, outcomes + 1)]  # fmt: skip


def _sqlite(outcomes: int, rounds: int, *, index: bool, fill: int) -> float:
    import sqlite3

    with tempfile.TemporaryDirectory() as folder:
        connection = sqlite3.connect(Path(folder) / "s.sqlite", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(CREATE.format(name="s", key="INTEGER", real="FLOAT", options=""))
        connection.execute("CREATE INDEX s_event ON s (event_id)")
        if index:
            connection.execute("CREATE INDEX s_last ON s (last_at)")
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO s VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _initial(outcomes)
        )
        connection.execute("COMMIT")
        update = (
            f"UPDATE s SET {', '.join(f'{c} = ?' for c in COLUMNS.split(', '))} WHERE outcome = ?"
        )

        def write(batch: list[tuple[object, ...]]) -> None:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(update, [(*row[2:], row[0]) for row in batch])
            connection.execute("COMMIT")

        try:
            return _timed(_batches(outcomes, rounds), write)
        finally:
            connection.close()


def _postgresql(outcomes: int, rounds: int, *, index: bool, fill: int) -> float:
    import psycopg

    name = f"kwiff_bench_summaries_{os.getpid()}"
    with psycopg.connect(POSTGRES) as connection:
        options = f" WITH (fillfactor = {fill})"
        connection.execute(CREATE.format(name=name, key="BIGINT", real="DOUBLE PRECISION",
                                         options=options))  # fmt: skip
        try:
            connection.execute(f"CREATE INDEX ON {name} (event_id)")
            if index:
                connection.execute(f"CREATE INDEX ON {name} (last_at)")
            with connection.cursor() as cursor, cursor.copy(f"COPY {name} FROM STDIN") as copy:
                for row in _initial(outcomes):
                    copy.write_row(row)
            connection.execute(
                "CREATE TEMPORARY TABLE batch (outcome BIGINT, event_id BIGINT, prices INTEGER, "
                "opening_at BIGINT, high DOUBLE PRECISION, low DOUBLE PRECISION, last_at BIGINT, "
                "last_odds DOUBLE PRECISION, last_status TEXT) ON COMMIT DELETE ROWS"
            )
            connection.commit()
            columns = COLUMNS.split(", ")
            changes = ", ".join(f"{c} = excluded.{c}" for c in columns)
            upsert = (f"INSERT INTO {name} SELECT * FROM batch ORDER BY outcome ON CONFLICT "
                      f"(outcome) DO UPDATE SET {changes}")  # fmt: skip

            def write(batch: list[tuple[object, ...]]) -> None:
                with connection.cursor() as cursor:
                    with cursor.copy("COPY batch FROM STDIN") as copy:
                        for row in batch:
                            copy.write_row(row)
                    cursor.execute(upsert)
                connection.commit()

            return _timed(_batches(outcomes, rounds), write)
        finally:
            connection.rollback()
            connection.execute(f"DROP TABLE IF EXISTS {name}")
            connection.execute("DROP TABLE IF EXISTS batch")
            connection.commit()


if __name__ == "__main__":
    main()
