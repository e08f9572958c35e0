"""``scrapy kwiff``: one Scrapy command, two subcommands, each with its own options.

- ``scrapy kwiff fetch-events`` (:mod:`~kwiff_scrapy.commands.fetch_events`): a
  sport's events into a feed file, through a crawl;
- ``scrapy kwiff history`` (:mod:`~kwiff_scrapy.commands.history`): the odds history
  the crawls stored, as a table, a CSV file or a plot; it crawls nothing.

``scrapy kwiff --help`` (or ``scrapy kwiff SUBCOMMAND --help``) describes both. An
option of one subcommand given to the other is a usage error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from . import fetch_events, history
from .fetch_events import FETCH_EVENTS, QUIET_LOG_LEVEL
from .history import HISTORY

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

SUBCOMMANDS: dict[str, str] = {
    FETCH_EVENTS: fetch_events.DESCRIPTION,
    HISTORY: history.DESCRIPTION,
}
#: The options that belong to each subcommand (the rest are Scrapy's own).
_OPTIONS_GIVEN = {FETCH_EVENTS: fetch_events.options_given, HISTORY: history.options_given}


class Command(ScrapyCommand):
    requires_project = False
    # "command" priority: a project's own settings, and -s / -L options, take precedence.
    # The command prints what was asked for (a summary, a preview, a table); its log
    # shows only warnings and errors unless the user asks for more, or sends the log
    # to a file.
    default_settings: ClassVar[dict[str, Any]] = {
        "LOG_LEVEL": QUIET_LOG_LEVEL,
        "FEED_EXPORT_ENCODING": "utf-8",
        "TELNETCONSOLE_ENABLED": False,
    }

    def syntax(self) -> str:
        return f"{fetch_events.SYNTAX}\n       scrapy kwiff {history.SYNTAX}"

    def short_desc(self) -> str:
        return (
            "Fetch Kwiff data: 'scrapy kwiff fetch-events' writes a sport's events to a file, "
            "'scrapy kwiff history' shows the odds history"
        )

    def long_desc(self) -> str:
        subcommands = "; ".join(f"{name} ({text})" for name, text in SUBCOMMANDS.items())
        return f"Subcommands: {subcommands}. {fetch_events.HELP} {history.HELP}"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.prog = "scrapy kwiff"  # in error messages, rather than "__main__.py"
        fetch_events.add_options(parser)
        history.add_options(parser)

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        name = _check_subcommand(args)
        _refuse_foreign_options(name, opts)
        opts.subcommand = name
        if name == FETCH_EVENTS:
            opts.fetch_events = fetch_events.prepare(opts, self.settings)
        else:
            opts.history = history.plan_history(opts, self.settings)
            # It reads a database: no crawler process (and no reactor) is needed.
            self.requires_crawler_process = False

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if opts.subcommand == HISTORY:
            self.exitcode = history.run(opts.history)
            return
        assert self.crawler_process is not None
        self.exitcode = fetch_events.run(opts.fetch_events, self.crawler_process)


def _check_subcommand(args: Sequence[str]) -> str:
    valid = ", ".join(SUBCOMMANDS)
    if not args:
        raise UsageError(
            f"missing subcommand: use one of {valid}, e.g. scrapy kwiff {FETCH_EVENTS}"
        )
    name, *extra = args
    if name not in SUBCOMMANDS:
        raise UsageError(f"unknown subcommand {name!r}: use one of {valid}")
    if extra:
        raise UsageError(
            f"unrecognized arguments: {' '.join(extra)} (see scrapy kwiff {name} --help)"
        )
    return name


def _refuse_foreign_options(name: str, opts: argparse.Namespace) -> None:
    for other, given in _OPTIONS_GIVEN.items():
        if other != name and (options := given(opts)):
            raise UsageError(
                f"{', '.join(options)}: an option of scrapy kwiff {other}, "
                f"not of scrapy kwiff {name}"
            )
