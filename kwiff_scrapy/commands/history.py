"""``scrapy kwiff history``: show, export and draw the odds history.

::

    scrapy kwiff history --db sqlite:///odds.sqlite                      # the events stored
    scrapy kwiff history --db sqlite:///odds.sqlite --event 10744160     # a table of moves
    scrapy kwiff history --db sqlite:///odds.sqlite --event 10744160 \\
        --market "Full Time Result" --plot odds.png
    scrapy kwiff history --db sqlite:///odds.sqlite --event 10744160 --csv moves.csv
    scrapy kwiff history --db sqlite:///odds.sqlite --top 10 --since 2h  # biggest movers
    scrapy kwiff history --db sqlite:///odds.sqlite --report --since 1d  # opening/closing
    scrapy kwiff history --db sqlite:///odds.sqlite --keep 90d           # delete older rows

It reads the database (never writes to it) through
:mod:`kwiff_scrapy.history.queries` and crawls nothing; but ``--keep``, which deletes
what is older (:mod:`kwiff_scrapy.history.retention`), after migrating an older schema.
``--db`` defaults to the ``KWIFF_HISTORY_URI`` setting. A database that cannot be read,
an empty one, an unknown event or market, or a bad duration: one line on standard error,
exit status 1.
"""

from __future__ import annotations

import csv
import functools
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

from scrapy.exceptions import UsageError

from .. import defaults
from ..history.config import URI_SETTING, history_uri
from ..history.errors import HistoryError, require_sqlalchemy
from ..history.export import CSV_FIELDS as CSV_FIELDS
from ..history.export import csv_number, write_event_csv
from ..history.records import from_ms
from ..history.time_text import UtcTexts
from ..model.changes import relative_change
from ..model.odds import price_probability
from ..model.values import iso_utc_datetime
from ..model.values import parse_duration as duration
from .output import echo, stop_writing_to_stdout
from .preview import display_width, echo_pages, format_table
from .preview import pad_to_width as _pad
from .subcommand import Subcommand

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Sequence

    from scrapy.settings import BaseSettings

    from ..history.event_prices import EventMoves, EventPrices
    from ..history.queries import EventInfo, HistoryReader, Mover, OutcomeHistory
    from ..history.report import OpeningClosing

HISTORY: Final = "history"
DESCRIPTION: Final = (
    "show the odds history that crawls stored (KWIFF_HISTORY_URI): moves, biggest movers, "
    "CSV, plots"
)
SYNTAX: Final = (
    f"{HISTORY} [--db URI] [--event ID [--market NAME] [--csv FILE] "
    "[--plot FILE.png [--probability]]] "
    "[--top N] [--report [--market NAME] [--csv FILE]] [--since DURATION] [--keep DURATION]"
)
HELP: Final = (
    f"{HISTORY} reads the odds history that crawls store when KWIFF_HISTORY_URI is set: "
    "without --event it lists the events stored; with --event ID it prints the event's "
    "price moves (time, market, outcome, odds before and after, change), or writes them "
    "to a CSV file (--csv, every stored price), or draws the odds of a market over time "
    "(--plot, a PNG; needs the plot extra; --probability draws implied probabilities); "
    "--top N prints the outcomes whose price moved most; --report prints each outcome's "
    "opening and closing price (the last before kick-off), high, low and last, biggest "
    "closing moves first (--csv FILE writes them); --keep 90d deletes what is older than "
    "90 days (the one option that writes: in small transactions, while crawls write). "
    "Example: scrapy kwiff history --db sqlite:///odds.sqlite --top 10 --since 2h. "
    "Exit status: 0 on success, 1 if the history cannot be read or has nothing to show, "
    "2 for a usage error."
)
MOVE_HEADERS: Final = (
    "Time (UTC)",
    "Market",
    "Outcome",
    "Odds",
    "Change",
    "Probability",
    "Overround",
)
MOVER_HEADERS: Final = (
    "#",
    "Event",
    "Match",
    "Market",
    "Outcome",
    "Odds",
    "Change",
    "Moves",
    "Last move (UTC)",
)
REPORT_HEADERS: Final = (
    "Event",
    "Kick-off (UTC)",
    "Match",
    "Market",
    "Outcome",
    "Open",
    "Close",
    "Move",
    "Points",
    "High",
    "Low",
    "Last",
)
REPORT_CSV_FIELDS: Final = (
    "event_id",
    "kickoff",
    "home_team",
    "away_team",
    "competition",
    "market",
    "outcome",
    "outcome_id",
    "prices",
    "opening",
    "opening_at",
    "closing",
    "closing_at",
    "kickoff_status",
    "move",
    "move_points",
    "high",
    "low",
    "last",
    "last_status",
    "last_at",
)
#: Rows of the report's table formatted (and column widths decided) at a time.
REPORT_PAGE: Final = 1000
EVENT_HEADERS: Final = (
    "Event",
    "Kick-off (UTC)",
    "Competition",
    "Match",
    "Outcomes",
    "Prices",
    "Last price (UTC)",
)
ARROW: Final = "\N{RIGHTWARDS ARROW}"


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(title=f"{HISTORY} options")
    group.add_argument(
        "--db",
        metavar="URI",
        default=None,
        help="the history database: sqlite:///odds.sqlite or postgresql://user@host/db "
        f"(default: the {URI_SETTING} setting)",
    )
    group.add_argument(
        "--event", metavar="ID", default=None, help="the event whose history to show"
    )
    group.add_argument(
        "--market",
        metavar="NAME",
        action="append",
        default=None,
        help="with --event: only this market (any case); may be repeated "
        "(default: every market; --plot: the event's first market)",
    )
    group.add_argument(
        "--csv",
        metavar="FILE",
        default=None,
        help="with --event: write every stored price, with the one before it, to FILE; "
        "with --report: write the report to FILE; signals: write the signals to FILE",
    )
    group.add_argument(
        "--plot",
        metavar="FILE.png",
        default=None,
        help="with --event: draw the odds of the market(s) over time into a PNG file "
        "(needs matplotlib: the plot extra)",
    )
    group.add_argument(
        "--probability",
        action="store_true",
        help="with --plot: draw each outcome's implied probability (1 / odds) instead of its odds",
    )
    group.add_argument(
        "--size",
        metavar="WxH",
        default=f"{defaults.PLOT_WIDTH}x{defaults.PLOT_HEIGHT}",
        help="the plot's size in pixels (default: %(default)s)",
    )
    group.add_argument(
        "--top",
        metavar="N",
        type=int,
        default=None,
        help="the N outcomes whose price moved most, relative to the price at --since",
    )
    group.add_argument(
        "--report",
        action="store_true",
        help="each outcome's opening price, closing price (the last before kick-off), high, "
        "low and last, biggest closing moves first; with --since: the events that kicked "
        "off in that time",
    )
    group.add_argument(
        "--keep",
        metavar="DURATION",
        default=None,
        help="delete the prices, signals and finished events older than DURATION, e.g. 90d, "
        "in small transactions while crawls go on writing (as KWIFF_HISTORY_KEEP does)",
    )
    group.add_argument(
        "--since",
        metavar="DURATION",
        default=None,
        help="only what happened in the last DURATION, e.g. 90s, 15m, 2h, 1d or 1h30m "
        "(default: everything stored)",
    )


def options_given(opts: argparse.Namespace) -> list[str]:
    """The ``history`` options given on the command line."""
    size_default = f"{defaults.PLOT_WIDTH}x{defaults.PLOT_HEIGHT}"
    given = {
        "--db": opts.db is not None,
        "--event": opts.event is not None,
        "--market": opts.market is not None,
        "--csv": opts.csv is not None,
        "--plot": opts.plot is not None,
        "--probability": bool(getattr(opts, "probability", False)),
        "--size": opts.size != size_default,
        "--top": opts.top is not None,
        "--report": bool(getattr(opts, "report", False)),
        "--since": opts.since is not None,
        "--keep": getattr(opts, "keep", None) is not None,
    }
    return [name for name, present in given.items() if present]


@dataclass(frozen=True)
class HistoryPlan:
    """What ``history`` was asked to do, checked (but for the duration: see :func:`run`)."""

    db: str
    event_id: int | None = None
    markets: tuple[str, ...] = ()
    csv: str | None = None
    plot: str | None = None
    probability: bool = False
    size: tuple[int, int] = (defaults.PLOT_WIDTH, defaults.PLOT_HEIGHT)
    top: int | None = None
    since: str | None = None
    report: bool = False
    keep: timedelta | None = None


def plan_history(opts: argparse.Namespace, settings: BaseSettings) -> HistoryPlan:
    """Check the options (``UsageError`` if they do not go together)."""
    db = database_argument(opts, settings, HISTORY)
    event_id = event_argument(opts.event)
    report = bool(getattr(opts, "report", False))
    keep = None
    if getattr(opts, "keep", None) is not None:
        keep = duration(opts.keep)
        if keep is None:
            raise UsageError(
                f"--keep must be a duration such as 90d, 12w or 36h, not {opts.keep!r}"
            )
        others = [o for o in options_given(opts) if o not in ("--db", "--keep")]
        if others:
            raise UsageError(f"--keep does not go with {', '.join(others)}")
    for option in ("market", "csv", "plot"):
        if getattr(opts, option) is not None and event_id is None and not report:
            raise UsageError(
                f"--{option} needs --event ID" + ("" if option == "plot" else " or --report")
            )
    if report:
        clashing = [f"--{o}" for o in ("plot", "top") if getattr(opts, o) is not None]
        if clashing:
            raise UsageError(f"--report does not go with {', '.join(clashing)}")
    if opts.top is not None:
        if opts.top < 1:
            raise UsageError(f"--top must be 1 or more, not {opts.top}")
        clashing = [f"--{o}" for o in ("market", "csv", "plot") if getattr(opts, o) is not None]
        if clashing:
            raise UsageError(f"--top does not go with {', '.join(clashing)}")
    if opts.probability and opts.plot is None:
        raise UsageError("--probability needs --plot FILE.png")
    if opts.plot is not None and Path(opts.plot).suffix.lower() != ".png":
        raise UsageError(f"--plot writes a PNG image: name a .png file, not {opts.plot!r}")
    return HistoryPlan(
        db=db,
        event_id=event_id,
        markets=tuple(opts.market or ()),
        csv=opts.csv,
        plot=opts.plot,
        probability=bool(opts.probability),
        size=_size(opts.size),
        top=opts.top,
        since=opts.since,
        report=report,
        keep=keep,
    )


def database_argument(opts: argparse.Namespace, settings: BaseSettings, subcommand: str) -> str:
    """``--db URI``, else the ``KWIFF_HISTORY_URI`` setting: the history *subcommand*
    reads (``UsageError`` if neither gives one)."""
    try:
        db = opts.db or history_uri(settings.get(URI_SETTING))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not db:
        raise UsageError(
            f"{subcommand} needs --db URI (or the {URI_SETTING} setting), "
            "e.g. --db sqlite:///odds.sqlite"
        )
    return db


def event_argument(value: object) -> int | None:
    """``--event ID``: a Kwiff event id (None when not given); ``UsageError`` if not one."""
    if value is None:
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and int(text) > 0):
        raise UsageError(f"--event must be a Kwiff event id (a whole number), not {text!r}")
    return int(text)


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if match is None or not all(100 <= int(n) <= 10000 for n in match.groups()):
        raise UsageError(f"--size must be WIDTHxHEIGHT in pixels (100 to 10000), not {text!r}")
    return int(match[1]), int(match[2])


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d``, ``1w`` or a sum such as ``1h30m``; ``ValueError``."""
    found = duration(text)
    if found is None:
        raise ValueError(f"--since: {text!r} is not a duration such as 90s, 15m, 2h, 1d or 1h30m")
    return found


def run(plan: HistoryPlan, now: datetime | None = None) -> int:
    """Do what *plan* asks; the exit status (problems: one line on standard error)."""
    try:
        since = None
        if plan.since is not None:
            since = (now or datetime.now(UTC)) - parse_duration(plan.since)
        if plan.plot is not None:
            from ..history.plot import require_matplotlib

            require_matplotlib()
        require_sqlalchemy()
        if plan.keep is not None:
            _delete_old(plan, plan.keep, now or datetime.now(UTC))
            return 0
        from ..history.queries import HistoryReader

        with HistoryReader(plan.db) as reader:
            reader.check()
            if plan.report:
                _show_report(reader, plan, since)
            elif plan.top is not None:
                _show_top(reader, plan, since)
            elif plan.event_id is not None:
                _show_event(reader, plan, plan.event_id, since)
            else:
                _show_events(reader, since)
    except BrokenPipeError:  # the reader stopped reading (| head): nothing went wrong
        stop_writing_to_stdout()
        return 0
    except (HistoryError, ValueError, OSError) as exc:
        echo(f"scrapy kwiff {HISTORY}: {exc}", sys.stderr)
        return 1
    return 0


# -- retention -------------------------------------------------------------------------------


def _delete_old(plan: HistoryPlan, keep: timedelta, now: datetime) -> None:
    """Open the history as a writer (migrating it if it is older), then delete what is
    older than *keep*, a small transaction at a time."""
    from ..history.records import to_ms
    from ..history.retention import delete_old
    from ..history.schema import database_url
    from ..history.store import HistoryStore

    store = HistoryStore(database_url(plan.db))
    store.open()
    try:
        assert store.engine is not None
        deleted = delete_old(store.engine, keep, to_ms(now))
    finally:
        store.close()
    echo(
        f"Deleted {deleted.prices} prices, {deleted.events} events, {deleted.signals} signals "
        f"and {deleted.states} event states older than {_keep_text(keep)} from "
        f"{store.description}",
        sys.stdout,
    )


def _keep_text(keep: timedelta) -> str:
    days = keep.total_seconds() / 86400
    return f"{days:g} days" if days >= 1 else f"{keep.total_seconds():g} s"


# -- what is shown -----------------------------------------------------------------------


def _show_event(
    reader: HistoryReader, plan: HistoryPlan, event_id: int, since: datetime | None
) -> None:
    from ..history.event_prices import event_moves
    from ..history.queries import outcome_histories, since_ms

    found = reader.event_prices(event_id, plan.markets or None)
    # The plot carries its lines on to the event's last price (any market): its counts.
    event = reader.event(event_id) if plan.plot is not None else reader.event_header(event_id)
    moved = event_moves(found, since_ms(since) if since is not None else None)
    if plan.plot is None and plan.csv is None:
        echo(_event_heading(event, found), sys.stdout)
        rows = [row for row in moved.rows if not moved.opening[row]]
        if rows:
            echo(move_table(moved, rows), sys.stdout)
        else:
            window = " in that time" if since is not None else ""
            echo(f"No moves{window}: every outcome kept its price.", sys.stdout)
        return
    if plan.csv is not None:
        with open(plan.csv, "w", encoding="utf-8", newline="") as file:
            written = write_event_csv(file, moved)
        echo(
            f"Wrote {written} prices of {event.teams} (event {event_id}) to {plan.csv}", sys.stdout
        )
    if plan.plot is not None:
        _plot(event, outcome_histories(found), plan, since)


def _plot(
    event: EventInfo, histories: list[OutcomeHistory], plan: HistoryPlan, since: datetime | None
) -> None:
    from ..history.plot import render
    from ..history.queries import plot_data

    if not plan.markets:
        first = histories[0].market
        histories = [h for h in histories if h.market == first]
    if since is not None:
        histories = [_window(h, since) for h in histories]
        histories = [h for h in histories if h.points]
    assert plan.plot is not None
    data = plot_data(event, histories, probability=plan.probability)
    width, height = plan.size
    render(data, plan.plot, width=width, height=height)
    names = ", ".join(market.market for market in data.markets)
    lines = sum(len(market.series) for market in data.markets)
    echo(
        f"Drew {names} ({lines} outcome{'s' if lines != 1 else ''}) of {event.teams} "
        f"to {plan.plot} ({width}x{height})",
        sys.stdout,
    )


def _window(history: OutcomeHistory, since: datetime) -> OutcomeHistory:
    """*history* from *since* on, starting with the price in force at *since*."""
    from ..history.queries import OutcomeHistory, PricePoint

    before = [p for p in history.points if p.time <= since]
    after = [p for p in history.points if p.time > since]
    start = [PricePoint(since, before[-1].odds, before[-1].fractional, before[-1].status)]
    points = (start if before else []) + after
    return OutcomeHistory(
        history.event_id, history.market, history.outcome, history.outcome_id, points
    )


def _show_top(reader: HistoryReader, plan: HistoryPlan, since: datetime | None) -> None:
    assert plan.top is not None
    movers = reader.top_movers(plan.top, since, plan.event_id)
    window = f"in the last {plan.since}" if since is not None else "over the whole history"
    if not movers:
        echo(f"No price moved {window}.", sys.stdout)
        return
    echo(f"The {len(movers)} biggest moves {window}:", sys.stdout)
    rows = [_mover_cells(number, mover) for number, mover in enumerate(movers, start=1)]
    echo(format_table(MOVER_HEADERS, rows), sys.stdout)


def _show_report(reader: HistoryReader, plan: HistoryPlan, since: datetime | None) -> None:
    """The opening/closing report, streamed: to a CSV file row by row, or as a table a
    page of rows at a time (memory stays bounded however many outcomes)."""
    rows = reader.opening_closing(
        event_id=plan.event_id, since=since, market_names=plan.markets or None
    )
    window = f" of the events that kicked off in the last {plan.since}" if since is not None else ""
    if plan.csv is not None:
        written = write_report_csv(plan.csv, rows)
        echo(f"Wrote the opening and closing prices of {written} outcomes{window} to "
             f"{plan.csv}", sys.stdout)  # fmt: skip
        return
    heading = f"Opening and closing prices{window}, biggest closing moves first:"
    cells = (_report_cells(row) for row in rows)
    if not echo_pages(REPORT_HEADERS, cells, sys.stdout, page_size=REPORT_PAGE, heading=heading):
        echo(f"No opening and closing prices{window}: no prices stored.", sys.stdout)


def write_report_csv(path: str, rows: Iterable[OpeningClosing]) -> int:
    """The report's rows into a CSV file, one at a time; how many."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(REPORT_CSV_FIELDS)
        for row in rows:
            writer.writerow(
                (
                    row.event_id,
                    iso_utc_datetime(row.start) if row.start is not None else "",
                    row.home_team or "",
                    row.away_team or "",
                    row.competition_name or "",
                    row.market,
                    row.outcome,
                    "" if row.outcome_id is None else row.outcome_id,
                    row.prices,
                    _number(row.opening),
                    _iso(row.opening_at),
                    _number(row.closing),
                    _iso(row.closing_at),
                    row.kickoff_status or "",
                    _number(row.move),
                    _number(row.move_points),
                    _number(row.high),
                    _number(row.low),
                    _number(row.last),
                    row.last_status or "",
                    _iso(row.last_at),
                )
            )
            count += 1
    return count


def _report_cells(row: OpeningClosing) -> tuple[str, ...]:
    if row.closing is not None:
        close = _price_text(row.closing, None)
        if row.kickoff_status:
            close = f"{close} ({row.kickoff_status} at kick-off)"
    elif not row.started:
        close = "not started"
    else:
        close = f"- ({row.kickoff_status})" if row.kickoff_status else "-"
    points = row.move_points
    return (
        str(row.event_id),
        _time_text(row.start, seconds=False),
        row.teams,
        row.market,
        row.outcome,
        _price_text(row.opening, None),
        close,
        _change_text(row.move),
        f"{points * 100:+.1f}" if points is not None else "",
        _price_text(row.high, None),
        _price_text(row.low, None),
        _price_text(row.last, row.last_status),
    )


def _iso(moment: datetime | None) -> str:
    return iso_utc_datetime(moment) if moment is not None else ""


def _show_events(reader: HistoryReader, since: datetime | None) -> None:
    found = reader.events()
    if since is not None:
        found = [e for e in found if e.last is not None and e.last >= since]
    prices = sum(e.prices for e in found)
    echo(
        f"{len(found)} event{'s' if len(found) != 1 else ''} and {prices} stored prices in "
        f"{reader.description} (scrapy kwiff history --event ID shows one):",
        sys.stdout,
    )
    rows = [
        (
            str(e.event_id),
            _time_text(e.start, seconds=False),
            e.competition_name or "",
            e.teams,
            str(e.outcomes),
            str(e.prices),
            _time_text(e.last),
        )
        for e in found
    ]
    echo(format_table(EVENT_HEADERS, rows), sys.stdout)


# -- cells -------------------------------------------------------------------------------


def _event_heading(event: EventInfo, found: EventPrices) -> str:
    parts = [event.teams]
    if event.competition_name:
        parts.append(event.competition_name)
    if event.start is not None:
        parts.append(f"kick-off {_time_text(event.start, seconds=False)} UTC")
    times = found.times
    span = (
        f" from {_time_text(from_ms(min(times)))} to {_time_text(from_ms(max(times)))} UTC"
        if times
        else ""
    )
    return (
        f"{' - '.join(parts)} (event {event.event_id})\n"
        f"{len(found.lines)} outcomes, {len(times)} prices stored{span}"
    )


def move_table(moved: EventMoves, rows: Sequence[int]) -> str:
    """The table of *rows* (none an opening price) of *moved*, as :func:`format_table`
    lays out :data:`MOVE_HEADERS`. A busy event's ten thousand rows share a few hundred
    moves from one price to another and ~150 outcomes: the cells of each are made (and
    padded) once, then each row is one format of four texts."""
    data = moved.prices
    lines, line_of, times, odds, status = data.lines, data.line, data.times, data.odds, data.status
    overround = moved.overround
    time_text = UtcTexts().clock
    move_numbers: dict[tuple[float | None, str | None, float | None, str | None], int] = {}
    percent_texts: dict[float | None, str] = {}
    row_times, row_moves, row_margins = [], [], []
    for r in rows:
        row_times.append(time_text(times[r]))
        move = (odds[r - 1], status[r - 1], odds[r], status[r])
        number = move_numbers.get(move)
        if number is None:
            number = move_numbers[move] = len(move_numbers)
        row_moves.append(number)
        margin = overround[r]
        margin_text = percent_texts.get(margin)
        if margin_text is None:
            margin_text = percent_texts[margin] = _percent_text(margin)
        row_margins.append(margin_text)
    shown = sorted({line_of[r] for r in rows})
    columns: list[list[str]] = [
        row_times[:1],
        [lines[n].market for n in shown],
        [lines[n].outcome for n in shown],
        *map(list, zip(*(_move_texts(*move) for move in move_numbers), strict=True)),
        list(percent_texts.values()),
    ]
    widths = [
        max(display_width(text) for text in (header, *column))
        for header, column in zip(MOVE_HEADERS, columns, strict=True)
    ]
    pad = [functools.partial(_pad, width=width) for width in widths]
    names = {n: f"{pad[1](lines[n].market)}  {pad[2](lines[n].outcome)}" for n in shown}
    move_texts = [
        "  ".join(pad[column](text) for column, text in enumerate(texts, 3))
        for texts in zip(*columns[3:6], strict=True)
    ]
    heading = "  ".join(p(text) for p, text in zip(pad, MOVE_HEADERS, strict=True)).rstrip()
    underline = "  ".join("-" * width for width in widths)
    table = [heading, underline]
    for r, time, number, margin_text in zip(rows, row_times, row_moves, row_margins, strict=True):
        table.append(f"{time}  {names[line_of[r]]}  {move_texts[number]}  {margin_text}")
    return "\n".join(table)


def _move_texts(
    before: float | None, before_status: str | None, after: float | None, after_status: str | None
) -> tuple[str, str, str]:
    """The odds, change and probability cells of a move from one price to another."""
    return (
        f"{_price_text(before, before_status)} {ARROW} {_price_text(after, after_status)}",
        _change_text(relative_change(before, after)),
        f"{_percent_text(price_probability(before))} {ARROW} "
        f"{_percent_text(price_probability(after))}",
    )


def _mover_cells(number: int, mover: Mover) -> tuple[str, ...]:
    return (
        str(number),
        str(mover.event.event_id),
        mover.event.teams,
        mover.market,
        mover.outcome,
        f"{_price_text(mover.first.odds, None)} {ARROW} {_price_text(mover.last.odds, None)}",
        _change_text(mover.change),
        str(mover.moves),
        _time_text(mover.last.time),
    )


def _price_text(odds: float | None, status: str | None) -> str:
    text = f"{odds:.2f}" if odds is not None else ""
    if status:
        text = f"{text} ({status})" if text else status
    return text or "-"


def _percent_text(fraction: float | None) -> str:
    return f"{fraction * 100:.1f}%" if fraction is not None else "-"


def _change_text(change: float | None) -> str:
    return f"{change * 100:+.1f}%" if change is not None else ""


def _time_text(moment: datetime | None, *, seconds: bool = True) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


_number = csv_number


SUBCOMMAND: Final = Subcommand(
    name=HISTORY,
    description=DESCRIPTION,
    syntax=SYNTAX,
    help=HELP,
    add_options=add_options,
    options_given=options_given,
    prepare=plan_history,
    run=lambda plan, _crawler_process: run(plan),
)
