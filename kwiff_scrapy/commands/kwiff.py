"""``scrapy kwiff fetch-events``: a sport's events into a feed file, with an optional preview.

The command runs the ``kwiff_events`` spider (:class:`~kwiff_scrapy.spiders.events.
KwiffEventsSpider`) through Scrapy's own crawler process and feed exports, so the
usual global options (``-s NAME=VALUE``, ``-L LEVEL``, ``--logfile``...) and the
project's settings apply. It also works outside any project: the add-on is then
enabled for the run.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TextIO

from scrapy import signals
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.conf import feed_process_params_from_cli

from .. import defaults
from ..integration import stats as kwiff_stats
from ..integration.addon import Addon
from ..integration.config import KwiffSettings
from ..model.sports import SPORT_IDS, country_code, resolve_sport, sport_name
from ..spiders.events import KwiffEventsSpider
from .preview import EventPreview

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

FETCH_EVENTS = "fetch-events"
SUBCOMMANDS: dict[str, str] = {
    FETCH_EVENTS: "fetch the events of a sport, with their markets and odds, into a feed file",
}
DEFAULT_OUTPUT = "events.json"
DEFAULT_PREVIEW_ROWS = 10
#: Feed formats that get one flat row per outcome instead of nested events.
FLAT_FORMATS = frozenset({"csv"})
STDOUT_FEED = "stdout:"
#: The log level of the command unless the user chose one (-L, LOG_LEVEL)...
QUIET_LOG_LEVEL = "WARNING"
#: ... and when the log goes to a file (--logfile, LOG_FILE): the whole crawl log.
LOG_FILE_LEVEL = "INFO"


class Command(ScrapyCommand):
    requires_project = False
    # "command" priority: a project's own settings, and -s / -L options, take precedence.
    # The command prints what was asked for (a summary, a preview); its log shows only
    # warnings and errors unless the user asks for more, or sends the log to a file.
    default_settings: ClassVar[dict[str, Any]] = {
        "LOG_LEVEL": QUIET_LOG_LEVEL,
        "FEED_EXPORT_ENCODING": "utf-8",
        "TELNETCONSOLE_ENABLED": False,
    }

    def syntax(self) -> str:
        return (
            f"{FETCH_EVENTS} [--sport SPORT] [--country CC] [--output FILE] "
            "[--show-preview] [--preview-rows N]"
        )

    def short_desc(self) -> str:
        return "Fetch Kwiff data: 'scrapy kwiff fetch-events' writes a sport's events to a file"

    def long_desc(self) -> str:
        subcommands = "; ".join(f"{name} ({text})" for name, text in SUBCOMMANDS.items())
        return (
            f"Subcommands: {subcommands}. {FETCH_EVENTS} runs the kwiff_events spider and "
            "writes through Scrapy's feed exports, inside a Scrapy project or outside any. "
            "Example, offline against the built-in simulator: scrapy kwiff fetch-events "
            "--sport basketball --country IE --output events.csv --show-preview "
            "-s KWIFF_ENDPOINT=simulator. "
            "It prints a summary (and the preview if asked); the crawl's log shows only "
            "warnings and errors, unless -L INFO (or --logfile FILE) asks for all of it. "
            "Exit status: 0 on success, 1 if the events could not be fetched or written, "
            "2 for a usage error."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.prog = "scrapy kwiff"  # in error messages, rather than "__main__.py"
        known = ", ".join(sorted(SPORT_IDS))
        group = parser.add_argument_group(title=f"{FETCH_EVENTS} options")
        group.add_argument(
            "--sport",
            metavar="SPORT",
            default="football",
            help=f"a sport name ({known}) or a numeric Kwiff sport id (default: football)",
        )
        group.add_argument(
            "--country",
            metavar="CC",
            default=None,
            help="ISO 3166 alpha-2 country code of the event list, e.g. GB or IE "
            "(default: the KWIFF_COUNTRY setting, GB)",
        )
        group.add_argument(
            "--output",
            metavar="FILE",
            default=DEFAULT_OUTPUT,
            help="feed file to write, overwritten if it exists; the format comes from the "
            "extension: .json (nested events), .jsonl, .xml, .csv (one flat row per outcome), "
            "or FILE:FORMAT (default: %(default)s)",
        )
        group.add_argument(
            "--show-preview",
            action="store_true",
            help="print a table of the first events (teams, competition, start and the odds "
            "of their main market) once the file is written",
        )
        group.add_argument(
            "--preview-rows",
            metavar="N",
            type=int,
            default=None,
            help=f"events in the preview (default: {DEFAULT_PREVIEW_ROWS}); implies --show-preview",
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        _check_subcommand(args)
        _choose_log_level(self.settings)
        plan = _plan_fetch_events(opts, self.settings)
        self.settings.set("FEEDS", plan.feeds, priority="cmdline")
        # Outside a project nothing enables the add-on; a project's own entry is kept.
        self.settings.setdefault_in_component_priority_dict(
            "ADDONS", Addon, defaults.ADDON_PRIORITY
        )
        opts.fetch_events = plan

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        plan: FetchEventsPlan = opts.fetch_events
        assert self.crawler_process is not None
        crawler = self.crawler_process.create_crawler(KwiffEventsSpider)
        preview = EventPreview(plan.preview_rows)
        crawler.signals.connect(preview.add, signal=signals.item_scraped)
        self.crawler_process.crawl(crawler, **plan.spider_arguments())
        self.crawler_process.start()

        assert crawler.stats is not None
        stats = crawler.stats.get_stats()
        failure = _failure(self.crawler_process.bootstrap_failed, stats, plan, crawler)
        if failure is not None:
            _echo(f"scrapy kwiff {FETCH_EVENTS}: {failure}", sys.stderr)
            self.exitcode = 1
            return
        country = plan.country or KwiffSettings.of(crawler).country
        report = sys.stderr if plan.writes_to_stdout else sys.stdout
        _echo(_summary(plan, stats, country), report)
        if plan.preview_rows:
            _echo(preview.render(), report)


# -- options ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchEventsPlan:
    """What ``fetch-events`` was asked to do, checked."""

    sport_id: int
    country: str | None
    output: str
    feed_uri: str
    feed_format: str
    feeds: dict[str, dict[str, Any]] = field(repr=False)
    preview_rows: int
    """0: no preview."""

    @property
    def flat(self) -> bool:
        return self.feed_format in FLAT_FORMATS

    @property
    def writes_to_stdout(self) -> bool:
        return self.feed_uri == STDOUT_FEED

    @property
    def destination(self) -> str:
        return "standard output" if self.writes_to_stdout else self.output

    def spider_arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {"sport_id": self.sport_id}
        if self.country:
            arguments["country"] = self.country
        if self.flat:
            arguments["flat"] = "1"
        return arguments


def _check_subcommand(args: Sequence[str]) -> None:
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


def _choose_log_level(settings: BaseSettings) -> None:
    """A log file gets the whole log, unless a level was chosen (the default goes to stderr)."""
    chosen = settings.getpriority("LOG_LEVEL") != SETTINGS_PRIORITIES["command"]
    if settings.get("LOG_FILE") and not chosen:
        settings.set("LOG_LEVEL", LOG_FILE_LEVEL, priority="command")


def _plan_fetch_events(opts: argparse.Namespace, settings: BaseSettings) -> FetchEventsPlan:
    try:
        sport_id = resolve_sport(opts.sport)
    except ValueError as exc:
        raise UsageError(f"--sport: {exc}") from None
    try:
        country = country_code(opts.country) if opts.country is not None else None
    except ValueError as exc:
        raise UsageError(f"--country: {exc}") from None
    if opts.preview_rows is not None and opts.preview_rows < 1:
        raise UsageError(f"--preview-rows must be 1 or more, not {opts.preview_rows}")
    try:
        feeds = feed_process_params_from_cli(settings, [], overwrite_output=[opts.output])
    except UsageError as exc:
        raise UsageError(f"--output {opts.output}: {exc}") from None
    # Ours is the first entry; the FEEDS setting may add others, as with `scrapy crawl -O`.
    feed_uri, own_options = next(iter(feeds.items()))
    show_preview = opts.show_preview or opts.preview_rows is not None
    return FetchEventsPlan(
        sport_id=sport_id,
        country=country,
        output=opts.output,
        feed_uri=feed_uri,
        feed_format=own_options["format"],
        feeds=feeds,
        preview_rows=(opts.preview_rows or DEFAULT_PREVIEW_ROWS) if show_preview else 0,
    )


# -- outcome ---------------------------------------------------------------------------


def _failure(
    bootstrap_failed: bool, stats: dict[str, Any], plan: FetchEventsPlan, crawler: Crawler
) -> str | None:
    """Why the run failed (a sentence for the user), or None if the events were written."""
    if bootstrap_failed:
        return "the crawl could not start: see the error above"
    reason = stats.get("finish_reason")
    if reason != "finished":
        where = "see the log above" if _logs_info(crawler) else "-L INFO shows the whole log"
        return f"the crawl ended early ({reason}): {where}"
    if kwiff_stats.EVENTS_PARSED not in stats:
        endpoint = KwiffSettings.of(crawler).endpoint
        refused = ", ".join(map(str, kwiff_stats.refused_statuses(stats)))
        why = f" (handshake refused with HTTP {refused})" if refused else ""
        hint = (
            ""
            if endpoint == defaults.SIMULATOR_ENDPOINT
            else "; offline, try -s KWIFF_ENDPOINT=simulator"
        )
        return f"no answer to event:list from {endpoint}{why}: see the log above{hint}"
    if stats.get(kwiff_stats.ANSWER_ERRORS):
        return "the service answered event:list with an error: see the warning above"
    if not _feed_stored(stats):
        return f"could not write {plan.destination}: see the error above"
    return None


def _logs_info(crawler: Crawler) -> bool:
    """Whether the crawl's log, on stderr or in a file, shows INFO messages."""
    settings = crawler.settings
    value = str(settings.get("LOG_LEVEL")).upper()
    level = int(value) if value.isdigit() else logging.getLevelName(value)
    return settings.getbool("LOG_ENABLED") and isinstance(level, int) and level <= logging.INFO


def _feed_stored(stats: dict[str, Any]) -> bool:
    """No feed failed, and one was stored if there were items (else it may be skipped)."""
    if any(key.startswith("feedexport/failed_count/") for key in stats):
        return False
    stored = any(key.startswith("feedexport/success_count/") for key in stats)
    return stored or not stats.get("item_scraped_count")


def _summary(plan: FetchEventsPlan, stats: dict[str, Any], country: str) -> str:
    events = stats.get(kwiff_stats.EVENTS_PARSED, 0)
    name = sport_name(plan.sport_id)
    sport = name.lower() if name else f"sport {plan.sport_id}"
    plural = "s" if events != 1 else ""
    text = f"Saved {events} {sport} event{plural} ({country}) to {plan.destination}"
    if plan.flat:
        rows = stats.get("item_scraped_count", 0)
        text += f" as {rows} row{'s' if rows != 1 else ''}, one per outcome"
    return text


def _echo(text: str, stream: TextIO) -> None:
    """Print *text*; characters the stream cannot encode become '?' rather than an error."""
    try:
        print(text, file=stream, flush=True)
    except UnicodeEncodeError:
        encoding = stream.encoding or "ascii"
        print(text.encode(encoding, "replace").decode(encoding), file=stream, flush=True)
