"""``scrapy kwiff signals``: the signal rules replayed over the odds history.

::

    scrapy kwiff signals --db sqlite:///odds.sqlite                      # default rules
    scrapy kwiff signals --db sqlite:///odds.sqlite --rules rules.json --since 1d
    scrapy kwiff signals --db sqlite:///odds.sqlite --event 10744160 --csv signals.csv

It reads the stored prices and event states in time order as the watch's changes
(:mod:`kwiff_scrapy.history.replay`), runs the same detectors the watch runs
(:mod:`kwiff_scrapy.model.detectors`) with the rules of ``--rules FILE``, else of the
``KWIFF_SIGNALS`` setting, else the defaults, and lists the signals they would have
fired, with a count per rule; ``--csv`` writes them as the watch's CSV feed would.
It crawls nothing and never writes to the database. Errors as ``scrapy kwiff history``:
one line on standard error, exit status 1.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from scrapy.exceptions import UsageError

from ..history.config import URI_SETTING
from ..history.errors import HistoryError, require_sqlalchemy
from ..integration.signal_settings import SETTING as SIGNALS_SETTING
from ..integration.signal_settings import load_signal_rules
from ..model.detectors import clock_of
from ..model.replay import replay, warm_up
from ..model.signals import MARGIN, SUSPENSIONS, OddsSignal
from .history import database_argument, event_argument, parse_duration
from .output import echo, stop_writing_to_stdout
from .preview import echo_pages, format_table
from .subcommand import Subcommand

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Iterator

    from scrapy.settings import BaseSettings

    from ..model.changes import Change
    from ..model.signal_rules import SignalRule

SIGNALS: Final = "signals"
DESCRIPTION: Final = (
    "replay the signal rules over the odds history: the signals they would have fired"
)
SYNTAX: Final = f"{SIGNALS} [--db URI] [--since DURATION] [--event ID] [--rules FILE] [--csv FILE]"
HELP: Final = (
    f"{SIGNALS} runs the watch's signal detectors over the odds history (--db, default "
    f"the {URI_SETTING} setting) in time order and lists the signals they would have "
    "fired, with a count per rule, so thresholds can be tuned before going live: the "
    f"rules of --rules FILE (a JSON list, as {SIGNALS_SETTING} takes), else of the "
    f"{SIGNALS_SETTING} setting, else the defaults; --since DURATION only the signals "
    "of that last time, --event ID one event's; --csv FILE writes the signals as the "
    "watch's CSV feed would. Example: scrapy kwiff signals --db sqlite:///odds.sqlite "
    "--rules rules.json --since 1d. Exit status: 0 on success, 1 if the history or the "
    "rules cannot be read, 2 for a usage error."
)
HEADERS: Final = (
    "Time (UTC)",
    "Rule",
    "Event",
    "Match",
    "Market",
    "Outcome",
    "Move",
    "Strength",
)
COUNT_HEADERS: Final = ("Rule", "Kind", "Signals")
#: Signals formatted (and column widths decided) at a time.
PAGE: Final = 1000
ARROW: Final = "\N{RIGHTWARDS ARROW}"
#: The options this subcommand shares with ``history`` (which adds them).
SHARED_OPTIONS: Final = ("--db", "--event", "--since", "--csv")


def add_options(parser: argparse.ArgumentParser) -> None:
    # --db, --event, --since and --csv are history's options (one option each, shared:
    # Scrapy's parser resolves a second definition by dropping the first).
    group = parser.add_argument_group(
        title=f"{SIGNALS} options",
        description=f"{SIGNALS} also takes --db URI, --event ID, --since DURATION and "
        "--csv FILE (the signals into a CSV file), as history does",
    )
    group.add_argument(
        "--rules",
        metavar="FILE",
        default=None,
        help=f"with {SIGNALS}: the signal rules, a JSON file such as {SIGNALS_SETTING} "
        f"takes (default: the {SIGNALS_SETTING} setting, else the default rules)",
    )


def options_given(opts: argparse.Namespace) -> list[str]:
    """The ``signals`` options given on the command line (the shared ones too)."""
    given = [flag for flag in SHARED_OPTIONS if getattr(opts, flag[2:], None) is not None]
    if getattr(opts, "rules", None) is not None:
        given.append("--rules")
    return given


@dataclass(frozen=True)
class SignalsPlan:
    """What ``signals`` was asked to do, checked (the duration and rules: see :func:`run`)."""

    db: str
    event_id: int | None = None
    since: str | None = None
    #: ``--rules FILE``, else None.
    rules_file: str | None = None
    #: The ``KWIFF_SIGNALS`` setting (None: the default rules).
    setting: Any = None
    csv: str | None = None


def plan_signals(opts: argparse.Namespace, settings: BaseSettings) -> SignalsPlan:
    """Check the options (``UsageError`` if they are not right)."""
    db = database_argument(opts, settings, SIGNALS)
    if opts.rules is not None and not os.path.isfile(opts.rules):
        raise UsageError(f"--rules: there is no file {opts.rules!r} (a JSON list of rules)")
    return SignalsPlan(
        db=db,
        event_id=event_argument(opts.event),
        since=opts.since,
        rules_file=opts.rules,
        setting=settings.get(SIGNALS_SETTING),
        csv=opts.csv,
    )


def load_rules(plan: SignalsPlan) -> tuple[list[SignalRule], str]:
    """The rules to replay and where they come from; ``ValueError`` saying what is wrong."""
    if plan.rules_file is not None:
        return load_signal_rules(plan.rules_file), f"the rules of {plan.rules_file}"
    value = plan.setting
    if value is None or (isinstance(value, str) and not value.strip()):
        return load_signal_rules(None), "the default rules"
    return load_signal_rules(value), f"the rules of {SIGNALS_SETTING}"


def run(plan: SignalsPlan, now: datetime | None = None) -> int:
    """Do what *plan* asks; the exit status (problems: one line on standard error)."""
    try:
        rules, source = load_rules(plan)
        since = None
        if plan.since is not None:
            since = (now or datetime.now(UTC)) - parse_duration(plan.since)
        require_sqlalchemy()
        from ..history.queries import HistoryReader

        with HistoryReader(plan.db) as reader:
            reader.check()
            if plan.event_id is not None:
                reader.event(plan.event_id)  # HistoryError if the history has no such event
            start = since.timestamp() - warm_up(rules) if since is not None else None
            changes = Counted(
                reader.changes(
                    since=datetime.fromtimestamp(start, UTC) if start is not None else None,
                    event_id=plan.event_id,
                )
            )
            found = replay(rules, changes, since=since.timestamp() if since is not None else None)
            counts = dict.fromkeys((rule.name for rule in rules), 0)
            counted = _counting(found, counts)
            window = f" of the last {plan.since}" if since is not None else ""
            if plan.csv is not None:
                written = write_csv(plan.csv, counted)
                echo(f"Wrote {written} signals{window} to {plan.csv}", sys.stdout)
            else:
                _show(counted, window)
            echo(_summary(rules, counts, changes.count, source, reader.description), sys.stdout)
    except BrokenPipeError:  # the reader stopped reading (| head): nothing went wrong
        stop_writing_to_stdout()
        return 0
    except (HistoryError, ValueError, OSError) as exc:
        echo(f"scrapy kwiff {SIGNALS}: {exc}", sys.stderr)
        return 1
    return 0


class Counted:
    """An iterable of changes that counts what went through it."""

    def __init__(self, changes: Iterable[Change]) -> None:
        self._changes = changes
        self.count = 0

    def __iter__(self) -> Iterator[Change]:
        for change in self._changes:
            self.count += 1
            yield change


def _counting(found: Iterable[OddsSignal], counts: dict[str, int]) -> Iterator[OddsSignal]:
    for signal in found:
        counts[signal.rule] = counts.get(signal.rule, 0) + 1
        yield signal


def _show(found: Iterable[OddsSignal], window: str) -> None:
    """The signals as a table, a page at a time (memory stays bounded)."""
    if not echo_pages(HEADERS, (_cells(signal) for signal in found), sys.stdout, page_size=PAGE):
        echo(f"No signal{window}: no rule fired.", sys.stdout)


def write_csv(path: str, found: Iterable[OddsSignal]) -> int:
    """The signals into a CSV file, as the watch's CSV feed writes them; how many."""
    from ..integration.feeds import KwiffCsvItemExporter

    fields = list(OddsSignal.__dataclass_fields__)
    count = 0
    with open(path, "wb") as file:
        exporter = KwiffCsvItemExporter(file, fields_to_export=fields, encoding="utf-8")  # type: ignore[arg-type]
        exporter.start_exporting()
        for signal in found:
            exporter.export_item(signal)
            count += 1
        exporter.finish_exporting()
    return count


def _summary(
    rules: list[SignalRule], counts: dict[str, int], changes: int, source: str, db: str
) -> str:
    total = sum(counts.values())
    heading = (
        f"{total} signal{'s' if total != 1 else ''} from {changes} changes in {db}, with {source}:"
    )
    if not rules:
        return f"{heading} no rules, nothing to replay."
    kinds = {rule.name: rule.kind for rule in rules}
    rows = [(name, kinds.get(name, ""), str(count)) for name, count in counts.items()]
    return f"{heading}\n{format_table(COUNT_HEADERS, rows)}"


def _cells(signal: OddsSignal) -> tuple[str, ...]:
    return (
        _time_text(signal.fetched_at),
        signal.rule,
        str(signal.event_id),
        _teams(signal),
        signal.market_name or (", ".join(signal.markets) if signal.kind == SUSPENSIONS else ""),
        _outcome(signal),
        _move(signal),
        f"{signal.strength:.2f}",
    )


def _teams(signal: OddsSignal) -> str:
    if signal.home_team or signal.away_team:
        return f"{signal.home_team or '?'} v {signal.away_team or '?'}"
    return ""


def _outcome(signal: OddsSignal) -> str:
    if signal.kind in (MARGIN, SUSPENSIONS):
        return ""
    if len(signal.outcomes) > 1 and "/" in signal.outcomes[0]:  # steam across an event
        return f"{signal.outcome_name or ''} (+{len(signal.outcomes) - 1} more)"
    return signal.outcome_name or ""


def _move(signal: OddsSignal) -> str:
    if signal.kind == MARGIN:
        points = (signal.probability_change or 0.0) * 100
        return f"overround {points:+.1f} points"
    if signal.kind == SUSPENSIONS:
        return f"{len(signal.markets)} markets suspended"
    change = f" ({signal.change * 100:+.1f}%)" if signal.change is not None else ""
    return f"{_odds(signal.from_odds)} {ARROW} {_odds(signal.to_odds)}{change}"


def _odds(odds: float | None) -> str:
    return f"{odds:.2f}" if odds is not None else "-"


def _time_text(fetched_at: str | None) -> str:
    clock = clock_of(fetched_at)
    if clock is None:
        return fetched_at or ""
    return datetime.fromtimestamp(clock, UTC).strftime("%Y-%m-%d %H:%M:%S")


SUBCOMMAND: Final = Subcommand(
    name=SIGNALS,
    description=DESCRIPTION,
    syntax=SYNTAX,
    help=HELP,
    add_options=add_options,
    options_given=options_given,
    prepare=plan_signals,
    run=lambda plan, _crawler_process: run(plan),
)
