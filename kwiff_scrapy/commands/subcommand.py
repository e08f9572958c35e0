"""What ``scrapy kwiff`` needs of each of its subcommands.

Each subcommand module ends with one :class:`Subcommand`; ``commands/kwiff.py`` lists
them. Adding a subcommand is a module and a line there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import CrawlerProcessBase
    from scrapy.settings import BaseSettings


@dataclass(frozen=True)
class Subcommand:
    name: str
    #: One line for ``scrapy kwiff --help``'s list of subcommands.
    description: str
    #: The usage line after ``scrapy kwiff``.
    syntax: str
    #: A paragraph for ``scrapy kwiff --help``.
    help: str
    #: Adds this subcommand's options, in a group of their own.
    add_options: Callable[[argparse.ArgumentParser], None]
    #: The options of this subcommand given on the command line (to refuse them elsewhere).
    options_given: Callable[[argparse.Namespace], list[str]]
    #: Checks the options (raising UsageError) and returns the plan ``run`` carries out.
    prepare: Callable[[argparse.Namespace, BaseSettings], Any]
    #: Carries out the plan and returns the exit status. The crawler process is None for
    #: a subcommand that does not crawl.
    run: Callable[[Any, CrawlerProcessBase | None], int]
    #: Whether it runs a crawl (and so needs Scrapy's crawler process and reactor).
    crawls: bool = False
