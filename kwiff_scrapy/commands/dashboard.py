"""``scrapy kwiff dashboard``: serve the odds history as live pages in a browser.

::

    scrapy kwiff dashboard --db sqlite:///odds.sqlite              # http://127.0.0.1:8050/
    scrapy kwiff dashboard --db postgresql://kwiff@db/odds --port 8080

It reads the database (never writes to it) and crawls nothing. A database that cannot be
read, or holds no prices, or was written by a newer kwiff_scrapy: one line on standard
error and exit status 1, as ``history``. It binds 127.0.0.1 unless ``--host`` says
otherwise (then it warns); ``--token`` asks every browser for a token.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from scrapy.exceptions import UsageError

from .. import defaults
from ..history.errors import HistoryError, require_sqlalchemy
from .history import database_argument
from .output import echo
from .subcommand import Subcommand

if TYPE_CHECKING:
    import argparse

    from scrapy.settings import BaseSettings

DASHBOARD: Final = "dashboard"
DESCRIPTION: Final = "serve the odds history as live pages in a browser: board, movers, events"
SYNTAX: Final = f"{DASHBOARD} [--db URI] [--host HOST] [--port PORT] [--token TOKEN]"
HELP: Final = (
    f"{DASHBOARD} serves the odds history (KWIFF_HISTORY_URI) as web pages, updated live: "
    "the board of upcoming and in-play events with their result odds and moves, the "
    "biggest movers and the signals, and each event's prices over time as charts, with "
    f"CSV and PNG downloads. It binds {defaults.DASHBOARD_HOST}:{defaults.DASHBOARD_PORT} "
    "(--host and --port to change; another host than 127.0.0.1 is reachable by others: "
    "give --token). Example: scrapy kwiff dashboard --db sqlite:///odds.sqlite. Exit "
    "status: 0 when stopped with Ctrl-C, 1 if the history cannot be read or the port "
    "cannot be bound, 2 for a usage error."
)


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(title=f"{DASHBOARD} options")
    group.add_argument(
        "--host",
        metavar="HOST",
        default=None,
        help=f"the address to serve on (default: {defaults.DASHBOARD_HOST}, this machine only)",
    )
    group.add_argument(
        "--port",
        metavar="PORT",
        type=int,
        default=None,
        help=f"the port to serve on (default: {defaults.DASHBOARD_PORT}; 0: any free one)",
    )
    group.add_argument(
        "--token",
        metavar="TOKEN",
        default=None,
        help="ask every browser for this token (open the dashboard once as /?token=TOKEN)",
    )
    group.add_argument(
        "--poll",
        metavar="SECONDS",
        type=float,
        default=None,
        help=f"how often to look for new prices and signals (default: {defaults.DASHBOARD_POLL})",
    )


def options_given(opts: argparse.Namespace) -> list[str]:
    """The ``dashboard`` options given (``--db`` is history's option, shared)."""
    names = ("db", "host", "port", "token", "poll")
    return [f"--{name}" for name in names if getattr(opts, name, None) is not None]


@dataclass(frozen=True)
class DashboardPlan:
    db: str
    host: str
    port: int
    token: str | None
    poll: float


def plan_dashboard(opts: argparse.Namespace, settings: BaseSettings) -> DashboardPlan:
    db = database_argument(opts, settings, DASHBOARD)
    port = defaults.DASHBOARD_PORT if opts.port is None else opts.port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0 to 65535, not {port}")
    poll = defaults.DASHBOARD_POLL if opts.poll is None else opts.poll
    if not 0.05 <= poll <= 3600:
        raise UsageError(f"--poll must be 0.05 to 3600 seconds, not {poll}")
    if opts.token is not None and not opts.token.strip():
        raise UsageError("--token must not be empty")
    return DashboardPlan(
        db=db,
        host=opts.host or defaults.DASHBOARD_HOST,
        port=port,
        token=opts.token,
        poll=poll,
    )


def run(plan: DashboardPlan) -> int:
    """Serve until Ctrl-C; the exit status (problems: one line on standard error)."""
    try:
        require_sqlalchemy()
        from ..dashboard.app import DashboardConfig, require_jinja2

        require_jinja2()
        from ..dashboard.server import exposure_warning, serve
        from ..history.queries import HistoryReader

        config = DashboardConfig(plan.db, plan.host, plan.port, plan.token, plan.poll)
        with HistoryReader(plan.db) as reader:
            reader.check()
            warning = exposure_warning(config)
            if warning:
                echo(f"scrapy kwiff {DASHBOARD}: {warning}", sys.stderr)
            serve(reader, config)
    except KeyboardInterrupt:
        return 0
    except (HistoryError, OSError) as exc:
        echo(f"scrapy kwiff {DASHBOARD}: {exc}", sys.stderr)
        return 1
    return 0


SUBCOMMAND: Final = Subcommand(
    name=DASHBOARD,
    description=DESCRIPTION,
    syntax=SYNTAX,
    help=HELP,
    add_options=add_options,
    options_given=options_given,
    prepare=plan_dashboard,
    run=lambda plan, _crawler_process: run(plan),
)
