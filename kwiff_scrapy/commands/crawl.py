"""``scrapy crawl`` as Scrapy's, with an exit status a cron job can trust.

Scrapy's ``crawl`` exits with status 1 only when the crawl could not start. This one
(enabled by ``COMMANDS_MODULE = "kwiff_scrapy.commands"`` in the project's settings,
as this project's are) also exits with status 1 when the crawl sent Kwiff commands and
got no answer to any (:mod:`kwiff_scrapy.integration.outcome`). A spider name that is
not one of the project's is a usage error (status 2) in one line naming them, before
anything starts; Scrapy's own ``crawl`` logs its start, then a ``KeyError`` traceback.
"""

from __future__ import annotations

import difflib
import sys
from typing import TYPE_CHECKING

from scrapy.commands import crawl
from scrapy.spiderloader import get_spider_loader

from ..integration import stats
from .output import echo

#: The exit status of a usage error, as argparse and Scrapy give it.
USAGE_ERROR_STATUS = 2

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler


class Command(crawl.Command):
    def long_desc(self) -> str:
        return (
            "Run a spider of the current project, by name. Exit status: 0 on success; "
            "1 if the crawl could not start, or sent Kwiff commands and got no answer to "
            "any; 2 for a usage error, such as an unknown spider."
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        if len(args) == 1:
            assert self.settings is not None
            error = unknown_spider(args[0], get_spider_loader(self.settings).list())
            if error is not None:
                # One line, without the usage block argparse would print above it.
                echo(f"scrapy crawl: error: {error}", sys.stderr)
                raise SystemExit(USAGE_ERROR_STATUS)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            super().run(args, opts)  # Scrapy's usage errors
            return
        assert self.crawler_process is not None
        crawler = self.crawler_process.create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed or got_no_answer(crawler):
            self.exitcode = 1


def unknown_spider(name: str, known: list[str]) -> str | None:
    """What is wrong with *name* if it is not one of the *known* spiders, naming them."""
    if name in known:
        return None
    close = difflib.get_close_matches(name, known, n=1)
    guess = f"did you mean {close[0]}? " if close else ""
    listed = ", ".join(sorted(known)) or "none"
    return f"no spider named {name!r}: {guess}the project's spiders are {listed}"


def got_no_answer(crawler: Crawler) -> bool:
    return crawler.stats is not None and bool(crawler.stats.get_value(stats.NO_ANSWER))
