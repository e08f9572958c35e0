"""``scrapy kwiff``: one Scrapy command, several subcommands, each with its own options.

- ``scrapy kwiff fetch-events`` (:mod:`~kwiff_scrapy.commands.fetch_events`): a
  sport's events into a feed file, through a crawl;
- ``scrapy kwiff history`` (:mod:`~kwiff_scrapy.commands.history`): the odds history
  the crawls stored, as a table, a CSV file or a plot; it crawls nothing;
- ``scrapy kwiff signals`` (:mod:`~kwiff_scrapy.commands.signals`): the signal rules
  replayed over the odds history: the signals they would have fired;
- ``scrapy kwiff dashboard`` (:mod:`~kwiff_scrapy.commands.dashboard`): the same history
  as live pages in a browser.

Each subcommand module ends with a :class:`~kwiff_scrapy.commands.subcommand.Subcommand`
listed in :data:`SUBCOMMANDS`. ``scrapy kwiff --help`` (or ``scrapy kwiff SUBCOMMAND
--help``) describes them all. An option of one subcommand given to another is a usage
error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from . import dashboard, fetch_events, history, signals
from . import status as status_subcommand
from .fetch_events import FETCH_EVENTS, QUIET_LOG_LEVEL

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from .subcommand import Subcommand

#: Every subcommand, in the order ``--help`` lists them.
SUBCOMMANDS: dict[str, Subcommand] = {
    subcommand.name: subcommand
    for subcommand in (
        fetch_events.SUBCOMMAND,
        history.SUBCOMMAND,
        signals.SUBCOMMAND,
        dashboard.SUBCOMMAND,
        status_subcommand.SUBCOMMAND,
    )
}


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
        return "\n       scrapy kwiff ".join(each.syntax for each in SUBCOMMANDS.values())

    def short_desc(self) -> str:
        return f"Kwiff data, by subcommand: {', '.join(SUBCOMMANDS)} (scrapy kwiff --help)"

    def long_desc(self) -> str:
        subcommands = "; ".join(
            f"{name} ({each.description})" for name, each in SUBCOMMANDS.items()
        )
        helps = " ".join(each.help for each in SUBCOMMANDS.values())
        return f"Subcommands: {subcommands}. {helps}"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.prog = "scrapy kwiff"  # in error messages, rather than "__main__.py"
        for each in SUBCOMMANDS.values():
            each.add_options(parser)

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        name = _check_subcommand(args)
        _refuse_foreign_options(name, opts)
        subcommand = SUBCOMMANDS[name]
        opts.subcommand = subcommand
        opts.plan = subcommand.prepare(opts, self.settings)
        # One that reads a database or serves pages needs no crawler process (nor reactor).
        self.requires_crawler_process = subcommand.crawls

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        subcommand: Subcommand = opts.subcommand
        if subcommand.crawls:
            assert self.crawler_process is not None
        self.exitcode = subcommand.run(opts.plan, self.crawler_process)


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
    # An option several subcommands take (--db, --event, ...) is refused by none of them.
    own = set(SUBCOMMANDS[name].options_given(opts))
    for other, each in SUBCOMMANDS.items():
        if other != name and (options := [o for o in each.options_given(opts) if o not in own]):
            raise UsageError(
                f"{', '.join(options)}: an option of scrapy kwiff {other}, "
                f"not of scrapy kwiff {name}"
            )
