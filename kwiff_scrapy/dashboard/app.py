"""The dashboard's web application (aiohttp.web): pages, downloads, the live stream.

Read-only (GET only). Every page is rendered on the server by Jinja2 templates with
autoescaping on, so every name from the service shows as text; the data the charts
draw goes into the page as JSON through Jinja2's ``tojson`` (``<``, ``>``, ``&``
escaped). A Content-Security-Policy lets the page run only the package's own scripts
(``/static``, no inline script). With a token, every request but ``/static`` needs it:
``?token=`` once (then a cookie), or ``Authorization: Bearer``. The access log names
the path only, never the query (where a token may be).

The database is read in threads of the server's own (:class:`DatabaseThreads`), never
in the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, Final, TypeVar

import msgspec
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .. import defaults
from ..history.board import event_exists
from ..history.errors import HistoryError
from .live import LiveFeed
from .views import (
    MoverCache,
    board_page,
    event_csv,
    event_page,
    move_choices,
    movers_page,
    signals_after,
)

if TYPE_CHECKING:
    from jinja2 import Environment

    from ..history.queries import HistoryReader
    from ..history.signals import StoredSignal
    from .views import BoardRow

T = TypeVar("T")
logger = logging.getLogger(__name__)

TOKEN_COOKIE: Final = "kwiff_dashboard_token"
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
#: Seconds after which a page that could not read the history tries again.
RETRY_SECONDS: Final = 5
DASHBOARD_EXTRA: Final = "dashboard"


@dataclass(frozen=True)
class DashboardConfig:
    db: str
    host: str = defaults.DASHBOARD_HOST
    port: int = defaults.DASHBOARD_PORT
    token: str | None = None
    poll: float = defaults.DASHBOARD_POLL
    movers_max_age: float = defaults.DASHBOARD_MOVERS_MAX_AGE


class DatabaseThreads:
    """Runs the blocking reads of the history off the event loop."""

    def __init__(self, workers: int = 2) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="kwiff-dashboard-db")

    async def __call__(self, function: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def require_jinja2() -> None:
    """``HistoryError`` saying which extra to install if Jinja2 is missing."""
    try:
        import jinja2  # noqa: F401
    except ImportError:
        raise HistoryError(
            f"the dashboard needs Jinja2: pip install 'kwiff-scrapy[{DASHBOARD_EXTRA}]'"
        ) from None


# -- formatting (Jinja2 filters) ---------------------------------------------------------


def _odds(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "\N{EN DASH}"


def _pct(value: float | None) -> str:
    return f"{value * 100:.1f}%" if value is not None else "\N{EN DASH}"


def _change(value: float | None) -> str:
    if value is None or value == 0:
        return ""
    arrow = "\N{BLACK UP-POINTING TRIANGLE}" if value > 0 else "\N{BLACK DOWN-POINTING TRIANGLE}"
    return f"{arrow} {abs(value) * 100:.1f}%"


def _direction(value: float | None) -> str:
    if value is None or value == 0:
        return "flat"
    return "up" if value > 0 else "down"


def _hm(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%H:%M") if moment is not None else ""


def _day_hm(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%a %d %b %H:%M") if moment is not None else "TBC"


def _hms(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S") if moment is not None else ""


def _datetime(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


def templates() -> Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("kwiff_scrapy.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        odds=_odds,
        pct=_pct,
        change=_change,
        direction=_direction,
        hm=_hm,
        day_hm=_day_hm,
        hms=_hms,
        datetime=_datetime,
    )
    environment.globals.update(move_choices=move_choices())
    # tojson (then escaped for HTML by Jinja2 as ever) through msgspec: an event's charts
    # are ~50,000 numbers, json.dumps took a third of the page's time.
    environment.policies["json.dumps_function"] = _json_text
    return environment


def _json_text(value: Any, **_options: Any) -> str:
    """JSON of *value*, keys sorted (as Jinja2's default ``sort_keys=True``)."""
    return msgspec.json.encode(value, order="sorted").decode()


# -- the application ---------------------------------------------------------------------


class Dashboard:
    """The pages, over one :class:`HistoryReader`."""

    def __init__(self, reader: HistoryReader, config: DashboardConfig) -> None:
        self.reader = reader
        self.config = config
        self.database = DatabaseThreads()
        self.templates = templates()
        self.mover_cache = MoverCache(config.movers_max_age)
        self.live = LiveFeed(
            reader,
            self.database,
            render_row=self.render_row,
            render_signal=self.render_signal,
            movers=self.mover_cache,
        )
        self._poller: asyncio.Task[None] | None = None

    # -- rendering -------------------------------------------------------------------------

    def render(self, name: str, **context: Any) -> str:
        return self.templates.get_template(name).render(**context)

    def render_row(self, row: BoardRow) -> str:
        macros: Any = self.templates.get_template("_rows.html").module
        return str(macros.board_row(row))

    def render_signal(self, signal: StoredSignal) -> str:
        macros: Any = self.templates.get_template("_rows.html").module
        return str(macros.signal_row(signal))

    def page(self, name: str, status: int = 200, **context: Any) -> web.Response:
        return web.Response(
            text=self.render(name, **context), status=status, content_type="text/html"
        )

    async def read(self, function: Callable[[], T]) -> T | web.Response:
        """*function*'s answer, or the page that says the history cannot be read."""
        try:
            return await self.database(function)
        except HistoryError as exc:
            return self.page(
                "unavailable.html",
                status=503,
                message=str(exc),
                retry=RETRY_SECONDS,
                page_name="",
                now=None,
            )

    # -- handlers --------------------------------------------------------------------------

    async def board(self, request: web.Request) -> web.Response:
        query = request.query
        competition = query.get("competition") or None
        team = query.get("team", "")[:200]
        in_play = query.get("in_play") in {"1", "on", "true"}
        found = await self.read(
            lambda: board_page(self.reader, competition=competition, team=team, in_play=in_play)
        )
        if isinstance(found, web.Response):
            return found
        return self.page("board.html", board=found, page_name="board", now=found.now)

    async def movers(self, request: web.Request) -> web.Response:
        found = await self.read(lambda: movers_page(self.reader, self.mover_cache))
        if isinstance(found, web.Response):
            return found
        return self.page("movers.html", movers=found, page_name="movers", now=found.now)

    async def mover_tables(self, request: web.Request) -> web.Response:
        found = await self.read(lambda: movers_page(self.reader, self.mover_cache))
        if isinstance(found, web.Response):
            return found
        return self.page("_mover_tables.html", movers=found)

    async def signals(self, request: web.Request) -> web.Response:
        found = await self.read(lambda: signals_after(self.reader))
        if isinstance(found, web.Response):
            return found
        return self.page("_signal_rows.html", signals=found)

    async def event(self, request: web.Request) -> web.Response:
        event_id = self._event_id(request)
        if not await self._known(event_id):
            raise self._not_found(event_id)
        found = await self.read(lambda: event_page(self.reader, event_id))
        if isinstance(found, web.Response):
            return found
        return self.page("event.html", event=found, page_name="event", now=found.now)

    async def event_csv(self, request: web.Request) -> web.Response:
        event_id = self._event_id(request)
        if not await self._known(event_id):
            raise self._not_found(event_id)
        found = await self.read(lambda: event_csv(self.reader, event_id))
        if isinstance(found, web.Response):
            return found
        _event, text = found
        return web.Response(
            text=text,
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="event-{event_id}.csv"'},
        )

    async def event_png(self, request: web.Request) -> web.Response:
        from ..history.plot import require_matplotlib
        from .views import event_png

        event_id = self._event_id(request)
        if not await self._known(event_id):
            raise self._not_found(event_id)
        try:
            require_matplotlib()
        except HistoryError as exc:
            raise web.HTTPNotImplemented(text=str(exc)) from None
        wanted = request.query.get("probability") in {"1", "true", "on"}
        found = await self.read(lambda: event_png(self.reader, event_id, probability=wanted))
        if isinstance(found, web.Response):
            return found
        name = f"event-{event_id}{'-probability' if wanted else ''}.png"
        return web.Response(
            body=found,
            content_type="image/png",
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )

    async def health(self, request: web.Request) -> web.Response:
        """Whether the history answered its last look, and how many looks so far."""
        live = self.live
        return web.json_response(
            {"ok": live.problem is None, "message": live.problem, "polls": live.polls}
        )

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        wanted = request.query.get("event", "")
        event_id = int(wanted) if wanted.isdigit() and len(wanted) <= 18 else None
        await response.prepare(request)
        queue = self.live.subscribe(event_id, movers=request.query.get("page") == "movers")
        try:
            await response.write(b": connected\nretry: 2000\n\n")
            while True:
                try:
                    async with asyncio.timeout(defaults.DASHBOARD_KEEPALIVE):
                        message = await queue.get()
                except TimeoutError:
                    message = b": keep-alive\n\n"
                if message is None:
                    break
                await response.write(message)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.live.unsubscribe(queue)
        return response

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _event_id(request: web.Request) -> int:
        text = request.match_info["event_id"]
        if not text.isdigit() or len(text) > 18:
            raise web.HTTPNotFound(text=f"no event {text!r}: an event id is a number")
        return int(text)

    async def _known(self, event_id: int) -> bool:
        try:
            return await self.database(lambda: event_exists(self.reader.engine, event_id))
        except HistoryError:
            return True  # the page that follows says the history cannot be read

    @staticmethod
    def _not_found(event_id: int) -> web.HTTPNotFound:
        return web.HTTPNotFound(text=f"event {event_id} is not in the odds history")

    # -- lifecycle -------------------------------------------------------------------------

    async def on_startup(self, _app: web.Application) -> None:
        await self.live.poll_once()  # what is stored already is on the pages: not news
        self._poller = asyncio.create_task(self.live.run(self.config.poll))

    async def on_shutdown(self, _app: web.Application) -> None:
        self.live.close()

    async def on_cleanup(self, _app: web.Application) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await self.live.stop()
        await asyncio.get_running_loop().run_in_executor(None, self.database.close)


DASHBOARD_KEY: Final = web.AppKey("dashboard", Dashboard)


def make_app(reader: HistoryReader, config: DashboardConfig) -> web.Application:
    """The application serving *reader*'s history (``reader.check()`` already passed)."""
    dashboard = Dashboard(reader, config)
    app = web.Application(middlewares=[_security_headers, *_token_check(config.token)])
    app[DASHBOARD_KEY] = dashboard
    app.router.add_get("/", dashboard.board, name="board")
    app.router.add_get("/movers", dashboard.movers, name="movers")
    app.router.add_get("/movers/tables", dashboard.mover_tables)
    app.router.add_get("/signals", dashboard.signals)
    app.router.add_get("/event/{event_id:\\d+}", dashboard.event, name="event")
    app.router.add_get("/event/{event_id:\\d+}.csv", dashboard.event_csv)
    app.router.add_get("/event/{event_id:\\d+}.png", dashboard.event_png)
    app.router.add_get("/live", dashboard.stream)
    app.router.add_get("/health", dashboard.health)
    static = resources.files("kwiff_scrapy.dashboard") / "static"
    app.router.add_static("/static", str(static), append_version=False)
    app.on_startup.append(dashboard.on_startup)
    app.on_shutdown.append(dashboard.on_shutdown)
    app.on_cleanup.append(dashboard.on_cleanup)
    return app


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in {"GET", "HEAD"}:
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def _token_check(token: str | None) -> list[Any]:
    """The middleware asking for *token* (none without one)."""
    if not token:
        return []
    expected = token.encode()

    def matches(candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(candidate.encode(), expected)

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/static/"):
            return await handler(request)
        given = request.query.get("token")
        if matches(given):
            # Into a cookie, and out of the address bar (and the browser's history).
            rest = {k: v for k, v in request.query.items() if k != "token"}
            target = request.rel_url.with_query(rest)
            response = web.HTTPSeeOther(str(target))
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict", path="/")
            raise response
        bearer = request.headers.get("Authorization", "")
        if matches(request.cookies.get(TOKEN_COOKIE)) or (
            bearer.startswith("Bearer ") and matches(bearer.removeprefix("Bearer ").strip())
        ):
            return await handler(request)
        raise web.HTTPUnauthorized(
            text="This dashboard needs its token: open it once as /?token=YOUR_TOKEN "
            "(the --token given to scrapy kwiff dashboard).",
            headers={"WWW-Authenticate": "Bearer"},
        )

    return [check]


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path (never the query: a token may be in it),
    status, time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time_: float) -> None:
        self.logger.info(
            "%s %s %s %.0f ms", request.method, request.path, response.status, time_ * 1000
        )
