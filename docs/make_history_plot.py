"""Make ``docs/history-plot.png``, the sample of ``scrapy kwiff history --plot`` in docs/history.md.

``python docs/make_history_plot.py [OUTPUT.png]``

A watch of the moving simulator, without the network and on a clock of its own: the
football list every 2 minutes for 100 polls, each answer compared with the last by the
watch's own comparison (``diff_event``), and the changes stored in an odds history
(SQLite, in a temporary folder) exactly as the history pipeline stores them. The
simulated clock is set so that the plotted event (Bayern München v VfB Stuttgart)
kicks off during the watch. Then the history's Full Time Result of that event is drawn,
800x450 pixels. Deterministic but for the start dates, which follow today's date.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from kwiff_scrapy.history.plot import render
from kwiff_scrapy.history.queries import HistoryReader, plot_data
from kwiff_scrapy.history.records import observe, parse_time_ms
from kwiff_scrapy.history.schema import database_url
from kwiff_scrapy.history.store import HistoryStore
from kwiff_scrapy.model.changes import Change, EventSnapshot, diff_event
from kwiff_scrapy.model.parsing import parse_events
from kwiff_scrapy.simulator import SimulatedData
from kwiff_scrapy.simulator.moves import MovingData

EVENT_ID = 10745171  # Bayern München v VfB Stuttgart: it goes in play at step 91
KICK_OFF_POLL = 91
POLLS = 100
POLL_MS = 2 * 60 * 1000
MARKET = "Full Time Result"
LIST_PAYLOAD = {"listId": "default", "sportId": 11, "country": "GB"}


def watch_into(database: Path) -> None:
    start = next(e for e in SimulatedData().events(11) if e["id"] == EVENT_ID)["startDate"]
    kick_off = parse_time_ms(start)
    assert kick_off is not None
    now = [kick_off - KICK_OFF_POLL * POLL_MS]
    moving = MovingData(SimulatedData(clock=lambda: now[0]))
    store = HistoryStore(database_url(f"sqlite:///{database}"))
    store.open()
    known: dict[int, EventSnapshot] = {}
    for _poll in range(POLLS):
        answer = json.loads(moving.answer("event:list", LIST_PAYLOAD))
        fetched_at = datetime.fromtimestamp(answer["timestamp"] / 1000, UTC)
        seen_at = fetched_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now[0] % 1000:03d}Z"
        listed = {
            e.event_id: EventSnapshot.of(e)
            for e in parse_events(answer["data"], fetched_at=seen_at)
        }
        changes: list[Change] = []
        for event_id, snapshot in listed.items():
            changes += diff_event(known.get(event_id), snapshot)
            known[event_id] = snapshot
        for event_id in sorted(known.keys() - listed.keys()):
            changes += diff_event(known.pop(event_id), None, seen_at=seen_at)
        store.write([seen for change in changes if (seen := observe(change)) is not None])
        now[0] += POLL_MS
    store.close()


def main() -> None:
    output = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("history-plot.png")
    )
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "watch.sqlite"
        watch_into(database)
        with HistoryReader(f"sqlite:///{database}") as reader:
            data = plot_data(reader.event(EVENT_ID), reader.outcome_histories(EVENT_ID, [MARKET]))
    render(data, output, width=800, height=450, dpi=96)
    print(f"Wrote {output}")


if __name__ == "__main__":
    main()
