"""``scrapy kwiff fetch-events``: a sport's events into a feed file, with an optional preview.

It runs the ``kwiff_events`` spider (:class:`~kwiff_scrapy.spiders.events.
KwiffEventsSpider`) through Scrapy's own crawler process and feed exports, so the
usual global options (``-s NAME=VALUE``, ``-L LEVEL``, ``--logfile``...) and the
project's settings apply. It also works outside any project: the add-on is then
enabled for the run.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from scrapy import signals
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.conf import feed_process_params_from_cli

from .. import defaults
from ..integration import stats as kwiff_stats
from ..integration.addon import Addon
from ..integration.config import KwiffSettings
from ..integration.outcome import offline_hint
from ..model.sports import SPORT_IDS, country_code, resolve_sport, sport_name
from ..spiders.arguments import FLAT_FEED_FORMATS
from ..spiders.events import KwiffEventsSpider
from .output import echo
from .preview import EventPreview
from .subcommand import Subcommand

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler, CrawlerProcessBase
    from scrapy.settings import BaseSettings

FETCH_EVENTS: Final = "fetch-events"
DESCRIPTION: Final = "fetch the events of a sport, with their markets and odds, into a feed file"
SYNTAX: Final = (
    f"{FETCH_EVENTS} [--sport SPORT] [--country CC] [--output FILE] "
    "[--show-preview] [--preview-rows N]"
)
HELP: Final = (
    f"{FETCH_EVENTS} runs the kwiff_events spider and writes through Scrapy's feed "
    "exports, inside a Scrapy project or outside any. Example, offline against the "
    "built-in simulator: scrapy kwiff fetch-events --sport basketball --country IE "
    "--output events.csv --show-preview -s KWIFF_ENDPOINT=simulator. "
    "It prints a summary (and the preview if asked); the crawl's log shows only "
    "warnings and errors, unless -L INFO (or --logfile FILE) asks for all of it. "
    "Exit status: 0 on success, 1 if the events could not be fetched or written, "
    "2 for a usage error."
)
DEFAULT_SPORT: Final = "football"
DEFAULT_OUTPUT: Final = "events.json"
DEFAULT_PREVIEW_ROWS: Final = 10
STDOUT_FEED = "stdout:"
#: The log level of the command unless the user chose one (-L, LOG_LEVEL)...
QUIET_LOG_LEVEL = "WARNING"
#: ... and when the log goes to a file (--logfile, LOG_FILE): the whole crawl log.
LOG_FILE_LEVEL = "INFO"


def add_options(parser: argparse.ArgumentParser) -> None:
    known = ", ".join(sorted(SPORT_IDS))
    group = parser.add_argument_group(title=f"{FETCH_EVENTS} options")
    group.add_argument(
        "--sport",
        metavar="SPORT",
        default=DEFAULT_SPORT,
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


def options_given(opts: argparse.Namespace) -> list[str]:
    """The ``fetch-events`` options given on the command line (those not at their default)."""
    given = {
        "--sport": opts.sport != DEFAULT_SPORT,
        "--country": opts.country is not None,
        "--output": opts.output != DEFAULT_OUTPUT,
        "--show-preview": opts.show_preview,
        "--preview-rows": opts.preview_rows is not None,
    }
    return [name for name, present in given.items() if present]


def prepare(opts: argparse.Namespace, settings: BaseSettings) -> FetchEventsPlan:
    """Check the options and set up the crawl's settings (``UsageError`` if they are wrong)."""
    choose_log_level(settings)
    plan = plan_fetch_events(opts, settings)
    settings.set("FEEDS", plan.feeds, priority="cmdline")
    # Outside a project nothing enables the add-on; a project's own entry is kept.
    settings.setdefault_in_component_priority_dict("ADDONS", Addon, defaults.ADDON_PRIORITY)
    return plan


def run(plan: FetchEventsPlan, crawler_process: CrawlerProcessBase) -> int:
    """Crawl, write the feed, print the summary (and preview); the exit status."""
    crawler = crawler_process.create_crawler(KwiffEventsSpider)
    preview = EventPreview(plan.preview_rows)
    crawler.signals.connect(preview.add, signal=signals.item_scraped)
    crawler_process.crawl(crawler, **plan.spider_arguments())
    crawler_process.start()

    if crawler_process.bootstrap_failed:  # the crawler may have no stats yet
        failure: str | None = "the crawl could not start: see the error above"
    else:
        failure = _failure(crawler.stats.get_stats(), plan, crawler)
    if failure is not None:
        echo(f"scrapy kwiff {FETCH_EVENTS}: {failure}", sys.stderr)
        return 1
    stats = crawler.stats.get_stats()
    country = plan.country or KwiffSettings.of(crawler).country
    report = sys.stderr if plan.writes_to_stdout else sys.stdout
    echo(_summary(plan, stats, country), report)
    if plan.preview_rows:
        echo(preview.render(), report)
    return 0


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
        return self.feed_format in FLAT_FEED_FORMATS

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


def choose_log_level(settings: BaseSettings) -> None:
    """A log file gets the whole log, unless a level was chosen (the default goes to stderr)."""
    chosen = settings.getpriority("LOG_LEVEL") != SETTINGS_PRIORITIES["command"]
    if settings.get("LOG_FILE") and not chosen:
        settings.set("LOG_LEVEL", LOG_FILE_LEVEL, priority="command")


def plan_fetch_events(opts: argparse.Namespace, settings: BaseSettings) -> FetchEventsPlan:
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


def _failure(stats: dict[str, Any], plan: FetchEventsPlan, crawler: Crawler) -> str | None:
    """Why a crawl that started failed (a sentence for the user), or None if the events
    were written."""
    reason = stats.get("finish_reason")
    if reason != "finished":
        where = "see the log above" if _logs_info(crawler) else "-L INFO shows the whole log"
        return f"the crawl ended early ({reason}): {where}"
    if kwiff_stats.EVENTS_PARSED not in stats:
        endpoint = KwiffSettings.of(crawler).endpoint
        refused = ", ".join(map(str, kwiff_stats.refused_statuses(stats)))
        why = f" (handshake refused with HTTP {refused})" if refused else ""
        hint = offline_hint(endpoint)
        return f"no answer to event:list from {endpoint}{why}: see the log above" + (
            f"; {hint}" if hint else ""
        )
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


def _run_crawl(plan: FetchEventsPlan, crawler_process: CrawlerProcessBase | None) -> int:
    assert crawler_process is not None
    return run(plan, crawler_process)


SUBCOMMAND: Final = Subcommand(
    name=FETCH_EVENTS,
    description=DESCRIPTION,
    syntax=SYNTAX,
    help=HELP,
    add_options=add_options,
    options_given=options_given,
    prepare=prepare,
    run=_run_crawl,
    crawls=True,
)
