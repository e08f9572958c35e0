"""Alert routes: signals as alert lines, ``KWIFF_ALERT_ROUTES`` checked at start, each
route's rules, destination, format and quiet hours, in crawls that post to webhooks on
127.0.0.1; the older ``KWIFF_ALERT_*`` settings as one route for raw changes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from kwiff_scrapy.integration import stats
from kwiff_scrapy.model.signals import OddsSignal
from kwiff_scrapy.pipelines import alerts
from kwiff_scrapy.pipelines.alert_messages import AlertRules, format_line, signal_line
from kwiff_scrapy.pipelines.alert_routes import DEFAULT_ROUTE, QuietHours
from kwiff_scrapy.pipelines.alert_settings import AlertSettings

from ..conftest import StartSimulator, crawl
from ..support.alert_spider import AlertSpider, moved, sample_polls
from ..support.watching import watch
from ..support.webhook_server import WebhookServer
from .test_alerts import (
    ARSENAL_LINE,
    JUVENTUS_LINE,
    SPORTING_LINE,
    alert_settings,
    lines,
    market_polls,
    market_warnings,
)

KICK_OFF = "2026-12-08T17:45:00.000Z"
SIGNALS = [
    {"kind": "drop"},
    {"kind": "drift"},
    {"kind": "steam"},
    {"kind": "steam", "name": "steam-event", "outcomes": 3},
    {"kind": "margin"},
    {"kind": "suspensions"},
]


def signal(rule: str, kind: str | None = None, **fields: Any) -> OddsSignal:
    base: dict[str, Any] = {
        "event_id": 10744160,
        "home_team": "Arsenal",
        "away_team": "Juventus",
        "start_time": KICK_OFF,
        "market_name": "Full Time Result",
        "outcome_name": "Arsenal",
    }
    return OddsSignal(rule=rule, kind=kind or rule, **{**base, **fields})


DROP = signal("drop", from_odds=2.0, to_odds=1.8, change=-0.1, window=3600, outcomes=["Arsenal"])
STEAM = signal(
    "steam",
    from_odds=2.0,
    to_odds=1.88,
    change=-0.06,
    window=1800,
    outcomes=["Arsenal", "Draw", "Juventus"],
)

# -- one line per signal (the examples of docs/signals.md and docs/alerts.md) -------------

SIGNAL_LINES = [
    (
        DROP,
        "drop: Arsenal v Juventus · Full Time Result · Arsenal 2.00 → 1.80 (-10.0%) within "
        "60 min · kick-off 2026-12-08 17:45 UTC",
    ),
    (
        signal(
            "drift", outcome_name="Draw", from_odds=3.4, to_odds=3.95, change=0.1618, window=3600
        ),
        "drift: Arsenal v Juventus · Full Time Result · Draw 3.40 → 3.95 (+16.2%) within "
        "60 min · kick-off 2026-12-08 17:45 UTC",
    ),
    (
        STEAM,
        "steam: Arsenal v Juventus · Full Time Result · Arsenal 2.00 → 1.88 (-6.0%), Draw and "
        "Juventus drifting, within 30 min · kick-off 2026-12-08 17:45 UTC",
    ),
    (
        signal(
            "steam-event",
            "steam",
            from_odds=2.0,
            to_odds=1.88,
            change=-0.06,
            window=1800,
            outcomes=["Full Time Result / Arsenal", "Both Teams To Score / Yes", "Total / Over"],
        ),
        "steam-event (steam): Arsenal v Juventus · 3 outcomes shortening together within "
        "30 min, the most: Full Time Result · Arsenal 2.00 → 1.88 (-6.0%) · kick-off "
        "2026-12-08 17:45 UTC",
    ),
    (
        signal("margin", outcome_name=None, probability_change=0.0341, window=1800),
        "margin: Arsenal v Juventus · Full Time Result · overround +3.4 points within 30 min · "
        "kick-off 2026-12-08 17:45 UTC",
    ),
    (
        signal(
            "suspensions",
            market_name=None,
            outcome_name=None,
            markets=["Full Time Result", "Both Teams To Score", "Total Goals"],
            window=60,
        ),
        "suspensions: Arsenal v Juventus · 3 markets suspended within 60 s: Full Time Result, "
        "Both Teams To Score, Total Goals · kick-off 2026-12-08 17:45 UTC",
    ),
]


@pytest.mark.parametrize(("item", "line"), SIGNAL_LINES)
def test_a_signal_is_one_line_with_rule_teams_market_move_window_and_kick_off(
    item: OddsSignal, line: str
) -> None:
    assert signal_line(item) == line
    assert format_line(item) == line


def test_a_signal_missing_values_shows_question_marks() -> None:
    bare = OddsSignal(rule="drop", kind="drop", event_id=7, window=600)
    assert signal_line(bare) == "drop: event 7 · ? · ? ? → ? (?) within 10 min"


# -- KWIFF_ALERT_ROUTES, checked at start ---------------------------------------------------


def routes_settings(routes: Any, **more: Any) -> Settings:
    value = routes if isinstance(routes, str) else json.dumps(routes)
    return Settings({"KWIFF_ALERT_ROUTES": value, "KWIFF_SIGNALS": json.dumps(SIGNALS), **more})


def test_routes_are_read_from_inline_json_a_list_or_a_file(tmp_path: Path) -> None:
    given = [
        {"name": "steam", "signals": ["steam", "steam-event"], "webhook": "https://discord.com/x"},
        {"name": "drops", "changes": ["moved"], "direction": "drops", "min_change": "20%"},
    ]
    file = tmp_path / "routes.json"
    file.write_text(json.dumps(given))
    for value in (json.dumps(given), given, str(file)):
        config = AlertSettings.from_settings(
            Settings({"KWIFF_ALERT_ROUTES": value, "KWIFF_SIGNALS": json.dumps(SIGNALS)})
        )
        steam, drops = config.routes
        assert steam.signals == frozenset({"steam", "steam-event"})
        assert steam.changes is None
        assert steam.destination is not None
        assert steam.destination.format == "discord"
        assert not steam.log
        assert drops.destination is None
        assert drops.log
        assert drops.signals is None
        assert drops.changes == AlertRules(
            kinds=frozenset({"moved"}), direction="drops", min_change=0.2
        )
        assert config.named_routes


def test_a_routes_filters_default_to_the_kwiff_alert_settings() -> None:
    config = AlertSettings.from_settings(
        routes_settings(
            [{"changes": "moved,suspended"}, {"changes": "all", "min_change": 0.3}],
            KWIFF_ALERT_MIN_CHANGE="15%",
            KWIFF_ALERT_MARKETS="Full Time Result",
        )
    )
    first, second = config.routes
    assert (first.name, second.name) == ("route0", "route1")
    assert first.changes is not None
    assert second.changes is not None
    assert first.changes.min_change == 0.15
    assert first.changes.markets == frozenset({"full time result"})
    assert second.changes.min_change == 0.3
    assert len(second.changes.kinds) == 8


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        (
            [{"signals": ["stem"]}],
            r"^KWIFF_ALERT_ROUTES\[0\] 'route0': signals: no signal rule is named 'stem' "
            r"\(did you mean 'steam'\?\): the rules of KWIFF_SIGNALS are drop, drift, steam, "
            r"steam-event, margin, suspensions$",
        ),
        (
            [{"name": "a", "changes": ["moved"], "quiet_hour": "22:00-07:00"}],
            r"^KWIFF_ALERT_ROUTES\[0\]: unknown field 'quiet_hour' \(did you mean "
            r"'quiet_hours'\?\)",
        ),
        ([{"name": "a"}], r"^KWIFF_ALERT_ROUTES\[0\] 'a' takes nothing"),
        (
            [{"changes": ["moved"], "log": False}],
            r"^KWIFF_ALERT_ROUTES\[0\] 'route0' goes nowhere",
        ),
        (
            [{"changes": ["moved"], "quiet_hours": "22-7"}],
            r"quiet_hours must be two times of day, from-to, such as \"22:00-07:00\"",
        ),
        (
            [{"changes": ["moved"], "quiet_hours": "07:00-07:00"}],
            r"quiet_hours starts when it ends",
        ),
        (
            [{"changes": ["moved"], "quiet_hours": "22:00-07:00", "timezone": "Europe/Londn"}],
            r"timezone: no time zone is named 'Europe/Londn' \(did you mean 'Europe/London'\?\)",
        ),
        (
            [{"changes": ["moved"], "timezone": "Europe/London"}],
            r"timezone is the quiet hours' time zone, but quiet_hours is not set",
        ),
        (
            [{"changes": ["moved"], "format": "telegramm"}],
            r"format must be one of discord, slack, json, telegram, not 'telegramm' \(did you "
            r"mean 'telegram'\?\)",
        ),
        (
            [{"changes": ["moved"], "token": "123:abc"}],
            r"Telegram needs a bot token and a chat_id; chat_id is missing",
        ),
        (
            [{"changes": ["moved"], "webhook": "http://example.com/hook/secret"}],
            r"^KWIFF_ALERT_ROUTES\[0\] 'route0': webhook is a plain http:// URL to example.com",
        ),
        (
            [{"changes": ["jumped"]}],
            r"changes: unknown kind 'jumped'",
        ),
        (
            [{"signals": ["drop"], "min_change": 0.2}],
            r"min_change filters changes, but the route takes none",
        ),
        (
            [{"name": "x", "changes": ["moved"]}, {"name": "x", "signals": "all"}],
            r"^KWIFF_ALERT_ROUTES\[1\]: the name 'x' is taken by an earlier route",
        ),
        ([{"name": "default", "changes": "all"}], r"the name 'default' is taken"),
        ([{"name": "a b", "changes": "all"}], r"name must be 1 to 40 letters"),
        ("[{", r"^KWIFF_ALERT_ROUTES is neither an existing file nor valid JSON"),
        ('{"name": "x"}', r"^KWIFF_ALERT_ROUTES must be a JSON list of routes"),
    ],
)
def test_a_bad_route_is_refused_at_start_saying_what_to_write(routes: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AlertSettings.from_settings(routes_settings(routes))


def test_a_route_taking_signals_needs_signals_on() -> None:
    settings = Settings({"KWIFF_ALERT_ROUTES": [{"signals": ["drop"]}]})
    with pytest.raises(ValueError, match=r"takes signals, but signals are off: set KWIFF_SIGNALS"):
        AlertSettings.from_settings(settings)
    on = Settings({**settings, "KWIFF_SIGNALS_ENABLED": True})  # the default rules
    (route,) = AlertSettings.from_settings(on).routes
    assert route.signals == frozenset({"drop"})


def test_secrets_may_come_from_the_environment_and_are_never_repeated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STEAM_HOOK", "https://discord.com/api/webhooks/1/tok3n-s3cret")
    routes = [{"signals": "all", "webhook": "$STEAM_HOOK"}]
    (route,) = AlertSettings.from_settings(routes_settings(routes)).routes
    assert route.destination is not None
    assert route.destination.url == "https://discord.com/api/webhooks/1/tok3n-s3cret"
    assert route.signals == frozenset(rule.get("name", rule["kind"]) for rule in SIGNALS)
    assert "tok3n" not in repr(route)
    monkeypatch.delenv("STEAM_HOOK")
    with pytest.raises(ValueError, match=r"webhook is read from the environment variable STEAM_"):
        AlertSettings.from_settings(routes_settings(routes))
    bad = [{"signals": "all", "token": "123456:AA bb", "chat_id": "-1001234567"}]
    with pytest.raises(ValueError, match=r"token is not a Telegram bot token") as info:
        AlertSettings.from_settings(routes_settings(bad))
    assert "AA bb" not in str(info.value)


def test_the_older_settings_are_one_route_for_raw_changes() -> None:
    config = AlertSettings.from_settings(
        Settings({"KWIFF_ALERT_WEBHOOK": "https://discord.com/x", "KWIFF_ALERT_MIN_CHANGE": 0.2})
    )
    (route,) = config.routes
    assert route.name == DEFAULT_ROUTE
    assert route.changes == config.rules
    assert route.signals is None  # signals do not go to it
    assert route.destination is not None
    assert route.destination.format == "discord"
    assert not config.named_routes  # no per-route stats: the stats are as before
    assert route.quiet is None


# -- quiet hours (pure) ---------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_quiet_hours_span_midnight_on_the_routes_clock() -> None:
    night = QuietHours(22 * 60, 7 * 60)  # UTC
    assert night.covers(at("2026-12-07T23:30"))
    assert night.covers(at("2026-12-07T06:59"))
    assert not night.covers(at("2026-12-07T07:00"))
    assert night.covers(at("2026-12-07T22:00"))
    assert not night.covers(at("2026-12-07T21:59"))
    # 22:00-07:00 in New York (UTC-5 in December): 03:00-12:00 UTC.
    new_york = QuietHours(22 * 60, 7 * 60, "America/New_York")
    assert new_york.covers(at("2026-12-07T11:59"))
    assert not new_york.covers(at("2026-12-07T23:30"))
    day = QuietHours(9 * 60, 17 * 60, "Europe/London")
    assert day.covers(at("2026-12-07T09:00"))
    assert not day.covers(at("2026-12-07T17:00"))
    assert str(new_york) == "22:00-07:00 America/New_York"


# -- crawls: routes to webhooks ---------------------------------------------------------------


def route_polls() -> list[list[Any]]:
    """Poll 1: three moves (two big) and a steam signal; poll 2: a big move and a drop."""
    first, second = sample_polls()
    return [[*first, STEAM], [*second, DROP]]


async def test_signals_and_changes_go_to_their_own_routes() -> None:
    async with WebhookServer() as steam, WebhookServer() as moves:
        routes = [
            {"name": "steam", "signals": ["steam"], "webhook": steam.url, "format": "discord"},
            {"name": "moves", "changes": ["moved"], "webhook": moves.url, "format": "slack"},
            {"name": "drops", "signals": ["drop"], "changes": ["moved"], "direction": "drops"},
        ]
        settings = {
            **alert_settings(None),
            "KWIFF_SIGNALS": json.dumps(SIGNALS),
            "KWIFF_ALERT_ROUTES": json.dumps(routes),
        }
        result = await crawl(AlertSpider, settings, polls=route_polls())
    assert result.errors == []
    assert len(result.items) == 6  # every item passes through
    assert lines(steam.received) == [[SIGNAL_LINES[2][1]]]
    assert lines(moves.received, "text") == [[ARSENAL_LINE, JUVENTUS_LINE], [SPORTING_LINE]]
    route = stats.alert_route
    assert {
        key: value for key, value in result.stats.items() if key.startswith("kwiff/alerts/")
    } == {
        # steam: 2 signals seen, 1 taken; moves: 4 changes, 3 big; drops: 4 changes and 2
        # signals, one big drop and the drop signal taken (logged).
        stats.ALERTS_SENT: 1 + 3 + 2,
        stats.ALERTS_SUPPRESSED: 1 + 1 + 4,
        route("steam", stats.ALERTS_SENT): 1,
        route("steam", stats.ALERTS_SUPPRESSED): 1,
        route("moves", stats.ALERTS_SENT): 3,
        route("moves", stats.ALERTS_SUPPRESSED): 1,
        route("drops", stats.ALERTS_SENT): 2,
        route("drops", stats.ALERTS_SUPPRESSED): 4,
    }


async def test_the_older_settings_alone_behave_as_before_and_ignore_signals() -> None:
    async with WebhookServer() as server:
        settings = {**alert_settings(server, format="discord"), "KWIFF_SIGNALS_ENABLED": True}
        result = await crawl(AlertSpider, settings, polls=route_polls())
    assert lines(server.received) == [[ARSENAL_LINE, JUVENTUS_LINE], [SPORTING_LINE]]
    assert {
        key: value for key, value in result.stats.items() if key.startswith("kwiff/alerts/")
    } == {stats.ALERTS_SENT: 3, stats.ALERTS_SUPPRESSED: 1}


async def test_during_its_quiet_hours_a_route_drops_and_counts(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # 23:30 in London: inside 22:00-07:00 there, outside 09:00-17:00 in New York.
    monkeypatch.setattr(alerts, "utc_now", lambda: at("2026-12-07T23:30"))
    async with WebhookServer() as night, WebhookServer() as day:
        routes = [
            {
                "name": "night",
                "changes": ["moved"],
                "webhook": night.url,
                "quiet_hours": "22:00-07:00",
                "timezone": "Europe/London",
            },
            {
                "name": "day",
                "changes": ["moved"],
                "webhook": day.url,
                "quiet_hours": "09:00-17:00",
                "timezone": "America/New_York",
            },
        ]
        settings = {**alert_settings(None), "KWIFF_ALERT_ROUTES": routes}
        result = await crawl(AlertSpider, settings)
    assert night.received == []
    assert len(day.received) == 2
    assert result.stat(stats.alert_route("night", stats.ALERTS_QUIET)) == 3
    assert result.stat(stats.alert_route("night", stats.ALERTS_SUPPRESSED)) == 1
    assert result.stat(stats.alert_route("day", stats.ALERTS_SENT)) == 3
    assert result.stat(stats.ALERTS_QUIET) == 3
    assert any(
        "(route night)" in record.getMessage()
        and "quiet 22:00-07:00 Europe/London" in record.getMessage()
        for record in caplog.records
    )


async def test_a_log_only_route_logs_each_message_with_its_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = {
        **alert_settings(None),
        "KWIFF_SIGNALS": json.dumps(SIGNALS),
        "KWIFF_ALERT_ROUTES": [{"name": "steam", "signals": ["steam"]}],
    }
    await crawl(AlertSpider, settings, polls=route_polls())
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Kwiff alerts")]
    assert logged == [f"Kwiff alerts (1, route steam):\n{SIGNAL_LINES[2][1]}"]


async def test_a_signal_after_its_polls_last_change_goes_out_within_the_flush_delay() -> None:
    async with WebhookServer() as server:
        routes = [{"signals": "all", "changes": ["moved"], "webhook": server.url}]
        settings = {
            **alert_settings(None, flush_delay=0.05),
            "KWIFF_SIGNALS": json.dumps(SIGNALS),
            "KWIFF_ALERT_ROUTES": routes,
        }

        async def after_poll(number: int) -> None:
            await server.wait_for(number)  # poll 1 went out, before the spider closes

        polls = [[moved("Arsenal", 1.67, 1.90), DROP]]
        await crawl(AlertSpider, settings, polls=polls, after_poll=after_poll)
    (body,) = (request.json() for request in server.received)
    assert body["text"].split("\n") == [ARSENAL_LINE, SIGNAL_LINES[0][1]]
    assert [change["outcome_name"] for change in body["changes"]] == ["Arsenal"]
    assert [item["rule"] for item in body["signals"]] == ["drop"]


# -- end to end: the watch's signals against the moving simulator --------------------------

#: Thresholds low enough for the simulator's random steps over a few polls.
LOW_RULES = [
    {"kind": "drop", "change": 0.01, "cooldown": 0},
    {"kind": "drift", "change": 0.01, "cooldown": 0},
    {"kind": "margin", "points": 0.001, "cooldown": 0},
]


async def test_the_watchs_signals_reach_their_route_one_line_each(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(moving=True)
    async with WebhookServer() as server:
        routes = [{"name": "moves", "signals": ["drop", "drift"], "webhook": server.url}]
        settings = {
            "KWIFF_SIGNALS": json.dumps(LOW_RULES),
            "KWIFF_ALERT_ROUTES": json.dumps(routes),
            "KWIFF_ALERT_RETRY_DELAY": 0.01,
        }
        run = await watch(simulator, polls=6, settings=settings)
    fired = [item for item in run.items if isinstance(item, OddsSignal)]
    routed = [item for item in fired if item.rule in ("drop", "drift")]
    assert routed, "the simulator moved no price by 1 % in six polls"
    assert any(item.rule == "margin" for item in fired)  # fired, but not routed here
    sent = [line for request in server.received for line in request.json()["text"].split("\n")]
    assert sent == [signal_line(item) for item in routed]
    assert run.stat(stats.alert_route("moves", stats.ALERTS_SENT)) == len(routed)
    assert run.stat(stats.ALERTS_SENT) == len(routed)


def test_the_docs_show_these_very_lines() -> None:
    page = (Path(__file__).parents[2] / "docs" / "signals.md").read_text(encoding="utf-8")
    section = page.split("## Signals in alerts", 1)[1].split("\n#", 1)[0]  # to the next heading
    rows = [row for row in section.splitlines() if row.startswith("| `")]
    shown = [row.split(" | ")[1].strip("` |") for row in rows]
    assert shown == [line for _, line in SIGNAL_LINES]


async def test_a_routes_market_no_poll_shows_is_warned_about_with_the_route(
    caplog: pytest.LogCaptureFixture,
) -> None:
    polls = market_polls("Full Time Result", "Both Teams To Score")
    routes = [
        {"name": "drops", "changes": ["moved"], "markets": ["Full Time Reslt"]},
        {"name": "fine", "changes": ["moved"], "markets": ["Both Teams To Score"]},
    ]
    await crawl(AlertSpider, {"KWIFF_ALERT_ROUTES": routes}, polls=polls)
    assert market_warnings(caplog, "KWIFF_ALERT_ROUTES") == [
        "KWIFF_ALERT_ROUTES 'drops': markets: 'Full Time Reslt' is none of the 2 markets of "
        "the first poll: did you mean 'Full Time Result'? (names match whole, case aside)"
    ]


def test_the_docs_routes_example_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    page = (Path(__file__).parents[2] / "docs" / "alerts.md").read_text(encoding="utf-8")
    code = page.split("## Routes", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the docs' own example
    for name in ("STEAM_WEBHOOK", "DROPS_WEBHOOK"):
        monkeypatch.setenv(name, f"https://discord.com/api/webhooks/1/{name.lower()}")
    monkeypatch.setenv("TELEGRAM_TOKEN", "123456:ABC-DEF")
    monkeypatch.setenv("TELEGRAM_CHAT", "-1001234567890")
    settings = {key: value for key, value in namespace.items() if key.startswith("KWIFF_")}
    config = AlertSettings.from_settings(Settings(settings))
    assert [route.name for route in config.routes] == ["steam", "drops", "phone", "everything"]
    phone = config.routes[2]
    assert phone.destination is not None
    assert phone.destination.format == "telegram"
    assert str(phone.quiet) == "23:00-07:00 Europe/London"
