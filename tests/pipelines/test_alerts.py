"""The alerts pipeline: rules, lines, messages and bodies (pure), its settings, the
add-on, and crawls that post to a scripted webhook on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from scrapy import signals
from scrapy.crawler import AsyncCrawlerRunner, Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from kwiff_scrapy import defaults
from kwiff_scrapy.integration import stats
from kwiff_scrapy.integration.addon import Addon
from kwiff_scrapy.integration.signals import poll_finished
from kwiff_scrapy.model.items import EventChange, KwiffEvent, OddsChange
from kwiff_scrapy.pipelines.alert_messages import (
    AlertRules,
    Message,
    describe_webhook,
    format_for_webhook,
    format_line,
    message_body,
    message_length,
    retry_after_seconds,
    split_messages,
)
from kwiff_scrapy.pipelines.alert_settings import AlertSettings
from kwiff_scrapy.pipelines.alerts import KwiffAlertsPipeline, retry_delay

from ..conftest import BASE_SETTINGS, CrawlResult, crawl
from ..support.alert_spider import AlertSpider, Change, moved, sample_polls
from ..support.crawl_process import PROJECT_ROOT
from ..support.waiting import guarded
from ..support.webhook_server import Received, Reply, WebhookServer

ARSENAL_LINE = "Arsenal v Juventus · Full Time Result · Arsenal 1.67 → 1.90 (+13.8%)"
JUVENTUS_LINE = "Arsenal v Juventus · Full Time Result · Juventus 4.50 → 3.50 (-22.2%)"
SPORTING_LINE = "Sporting CP v Bodø/Glimt · Full Time Result · Sporting CP 1.73 → 2.10 (+21.4%)"


# -- rules --------------------------------------------------------------------------------


def test_default_rules_alert_moves_of_ten_percent_or_more_either_way() -> None:
    rules = AlertRules()
    assert rules.accepts(moved("Arsenal", 1.67, 1.90))
    assert rules.accepts(moved("Juventus", 4.50, 3.50))
    assert not rules.accepts(moved("Draw", 4.00, 4.10))
    # Exactly 10%, although floating point makes (1.8 - 2.0) / 2.0 slightly less.
    assert rules.accepts(moved("Draw", 2.0, 1.8))
    assert rules.accepts(moved("Draw", 1.0, 1.1))
    assert not rules.accepts(moved("Arsenal", None, 1.90, kind="new"))


def test_a_move_of_unknown_size_passes_only_without_a_minimum() -> None:
    unknown = moved("Arsenal", None, 1.90)
    assert not AlertRules().accepts(unknown)
    assert AlertRules(min_change=0).accepts(unknown)
    # The size is computed from the odds when the item does not carry it.
    assert AlertRules().accepts(dataclasses.replace(moved("Arsenal", 1.67, 1.90), change=None))


def test_rules_by_kind_market_and_odds() -> None:
    rules = AlertRules(
        kinds=frozenset({"moved", "removed", "event_status"}),
        markets=frozenset({"full time result"}),
        min_odds=1.5,
        max_odds=3.0,
    )
    assert rules.accepts(moved("Arsenal", 1.67, 1.90))
    assert not rules.accepts(moved("Arsenal", 1.67, 1.90, market="Both Teams To Score"))
    assert not rules.accepts(dataclasses.replace(moved("Arsenal", 1.67, 1.90), market_name=None))
    assert not rules.accepts(moved("Juventus", 4.50, 3.50))  # 3.50 is above 3.0
    assert rules.accepts(moved("Draw", 3.50, 3.0))  # bounds are included
    assert not rules.accepts(moved("Draw", 1.60, 1.40))
    # removed: no odds now, so its previous odds are checked.
    assert rules.accepts(moved("Arsenal", 1.90, None, kind="removed"))
    assert not rules.accepts(moved("Arsenal", 3.90, None, kind="removed"))
    assert not rules.accepts(moved("Arsenal", None, None, kind="removed"))
    assert not rules.accepts(moved("Arsenal", 1.67, 1.67, kind="suspended"))
    # Event changes: only their kind counts.
    assert rules.accepts(EventChange(event_id=1, kind="status"))
    assert not rules.accepts(EventChange(event_id=1, kind="new"))


def test_rules_by_competition_for_odds_and_event_changes() -> None:
    rules = AlertRules(
        kinds=frozenset({"moved", "event_status"}), competitions=frozenset({"premier league"})
    )
    league = dataclasses.replace(moved("Arsenal", 1.67, 1.90), competition_name="Premier League")
    assert rules.accepts(league)
    assert not rules.accepts(dataclasses.replace(league, competition_name="Championship"))
    assert not rules.accepts(dataclasses.replace(league, competition_name=None))
    status = EventChange(event_id=1, kind="status", competition_name="PREMIER LEAGUE")
    assert rules.accepts(status)
    assert not rules.accepts(dataclasses.replace(status, competition_name="Championship"))
    assert AlertRules(kinds=rules.kinds).accepts(dataclasses.replace(status, competition_name=None))


def test_a_direction_alerts_drops_or_drifts_only() -> None:
    drop, drift = moved("Juventus", 4.50, 3.50), moved("Arsenal", 1.67, 1.90)
    drops, drifts, both = (AlertRules(direction=d) for d in ("drops", "drifts", "both"))
    assert (drops.accepts(drop), drops.accepts(drift)) == (True, False)
    assert (drifts.accepts(drop), drifts.accepts(drift)) == (False, True)
    assert (both.accepts(drop), both.accepts(drift)) == (True, True)
    assert AlertRules() == both  # the default
    # The size rule still applies; other kinds have no direction.
    assert not drops.accepts(moved("Draw", 4.10, 4.00))
    drops_and_suspensions = AlertRules(kinds=frozenset({"moved", "suspended"}), direction="drops")
    assert drops_and_suspensions.accepts(moved("Arsenal", 1.67, 1.90, kind="suspended"))
    # Without the odds, the sign of the item's change; without either, only "both".
    assert drops.accepts(dataclasses.replace(drop, odds=None, change=-0.2))
    assert not drifts.accepts(dataclasses.replace(drop, odds=None, change=-0.2))
    unknown = dataclasses.replace(drop, odds=None, change=None)
    assert not AlertRules(direction="drops", min_change=0).accepts(unknown)
    assert AlertRules(min_change=0).accepts(unknown)


# -- lines --------------------------------------------------------------------------------


def test_a_move_is_one_line_as_in_the_issue() -> None:
    assert format_line(moved("Arsenal", 1.67, 1.90)) == ARSENAL_LINE
    assert format_line(moved("Juventus", 4.50, 3.50)) == JUVENTUS_LINE


def test_a_move_without_its_size_is_sized_from_previous_to_current_odds() -> None:
    assert format_line(dataclasses.replace(moved("Arsenal", 1.67, 1.90), change=None)) == (
        ARSENAL_LINE
    )
    assert format_line(dataclasses.replace(moved("Juventus", 4.50, 3.50), change=None)) == (
        JUVENTUS_LINE
    )


def test_lines_of_every_kind() -> None:
    def line(outcome: str, previous: float | None, odds: float | None, kind: str) -> str:
        return format_line(moved(outcome, previous, odds, kind=kind)).split(" · ")[-1]

    assert line("Arsenal", None, 1.9, "new") == "Arsenal new at 1.90"
    assert line("Arsenal", 1.67, 1.67, "suspended") == "Arsenal suspended (was 1.67)"
    assert line("Arsenal", 1.67, 1.67, "resumed") == "Arsenal resumed at 1.67"
    assert line("Arsenal", 1.67, 1.80, "resumed") == "Arsenal resumed at 1.80 (was 1.67)"
    assert line("Arsenal", 1.67, None, "removed") == "Arsenal removed (was 1.67)"
    event = {"event_id": 7, "home_team": "Arsenal", "away_team": "Juventus"}
    assert (
        format_line(EventChange(**event, kind="new", start_time="2026-01-20T17:45:00Z"))
        == "Arsenal v Juventus · new event · kick-off 2026-01-20 17:45 UTC"
    )
    assert format_line(EventChange(**event, kind="removed")) == "Arsenal v Juventus · event removed"
    status = EventChange(
        **event, kind="status", previous_betting_status="open", betting_status=2, in_play=True
    )
    assert format_line(status) == "Arsenal v Juventus · status open → 2 · in play"
    kick_off = EventChange(
        **event, kind="status", previous_betting_status="OPEN", betting_status="OPEN", in_play=True
    )
    assert format_line(kick_off) == "Arsenal v Juventus · now in play"
    assert format_line(dataclasses.replace(kick_off, in_play=False)) == (
        "Arsenal v Juventus · now not in play"
    )
    suspended = dataclasses.replace(kick_off, betting_status="SUSPENDED", in_play=False)
    assert format_line(suspended) == "Arsenal v Juventus · status OPEN → SUSPENDED"


def test_every_line_ends_with_the_kick_off_in_utc() -> None:
    def line(start_time: str | None, kind: str = "moved") -> str:
        change = dataclasses.replace(moved("Arsenal", 1.67, 1.90, kind=kind), start_time=start_time)
        return format_line(change)

    assert line("2026-12-08T17:45:00.000Z") == f"{ARSENAL_LINE} · kick-off 2026-12-08 17:45 UTC"
    assert line("2026-12-08T17:45:00Z", "removed") == (
        "Arsenal v Juventus · Full Time Result · Arsenal removed (was 1.67)"
        " · kick-off 2026-12-08 17:45 UTC"
    )
    # Another zone is written in UTC; a time without a zone is taken to be in UTC.
    assert line("2026-12-08T18:45:30+01:00").endswith(" · kick-off 2026-12-08 17:45 UTC")
    assert line("2026-12-08T17:45:00").endswith(" · kick-off 2026-12-08 17:45 UTC")
    # Not a time: shown as the service sent it; none: no kick-off part.
    assert line("after lunch").endswith(" · kick-off after lunch")
    assert line(None) == line("") == ARSENAL_LINE
    status = EventChange(
        event_id=7,
        home_team="Arsenal",
        away_team="Juventus",
        kind="status",
        previous_betting_status="OPEN",
        betting_status="OPEN",
        in_play=True,
        start_time="2026-12-08T17:45:00Z",
    )
    assert format_line(status) == (
        "Arsenal v Juventus · now in play · kick-off 2026-12-08 17:45 UTC"
    )


def test_missing_values_are_question_marks() -> None:
    bare = OddsChange(event_id=10744160, kind="moved", odds=1.9)
    assert format_line(bare) == "event 10744160 · ? · ? ? → 1.90 (?)"
    one_team = OddsChange(event_id=1, home_team="Arsenal", kind="removed")
    assert format_line(one_team) == "Arsenal v ? · ? · ? removed (was ?)"
    assert format_line(EventChange(event_id=1, away_team="Juventus", kind="status")) == (
        "? v Juventus · status ?"
    )
    assert format_line(EventChange(event_id=1, kind="status", betting_status="OPEN")) == (
        "event 1 · status ? → OPEN"
    )


# -- messages -----------------------------------------------------------------------------


def many_moves(count: int, name_length: int = 60) -> list[Change]:
    return [
        moved(f"Outcome {index:03d} " + "x" * name_length, 1.5, 2.0, market=f"Market {index}")
        for index in range(count)
    ]


def test_lines_are_packed_into_messages_of_at_most_2000_characters() -> None:
    changes = many_moves(100)
    messages = split_messages(changes)
    assert len(messages) > 1
    assert all(message_length(m.text) <= 2000 for m in messages)
    # Nothing lost, nothing reordered, each message's changes are its lines.
    assert [c for m in messages for c in m.changes] == changes
    assert [line for m in messages for line in m.text.split("\n")] == [
        format_line(c) for c in changes
    ]
    # Packed: each message but the last could not take the next line.
    for message, following in itertools.pairwise(messages):
        assert message_length(message.text) + 1 + len(following.text.split("\n")[0]) > 2000


def test_a_line_longer_than_a_message_is_cut() -> None:
    change = moved("A" * 3000, 1.5, 2.0)
    (message,) = split_messages([change, change], limit=100)[:1]
    assert message_length(message.text) == 100
    assert message.text.endswith("…")
    assert len(split_messages([change, change], limit=100)) == 2


def test_lengths_are_counted_as_discord_counts_them() -> None:
    emoji = moved("⚽" * 10 + "\U0001f3c6" * 10, 1.5, 2.0)  # the trophy is 2 UTF-16 units
    assert message_length(format_line(emoji)) == len(format_line(emoji)) + 10
    messages = split_messages([emoji] * 50, limit=200)
    assert all(message_length(m.text) <= 200 for m in messages)


def test_bodies_per_format() -> None:
    change = moved("Brighton & Hove <Albion>", 1.67, 1.90)
    message = Message(format_line(change), (change,))
    assert message_body("discord", message) == {
        "content": message.text,
        "allowed_mentions": {"parse": []},
    }
    slack = message_body("slack", message)
    assert slack == {
        "text": message.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    }
    body = message_body("json", message)
    assert body["text"] == message.text
    assert body["changes"] == [dataclasses.asdict(change)]
    assert body["changes"][0]["outcome_name"] == "Brighton & Hove <Albion>"
    with pytest.raises(ValueError, match="unknown alert format 'xml'"):
        message_body("xml", message)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://discord.com/api/webhooks/1/token", "discord"),
        ("https://canary.discord.com/api/webhooks/1/token", "discord"),
        ("https://discordapp.com/api/webhooks/1/token", "discord"),
        ("https://hooks.slack.com/services/T0/B0/token", "slack"),
        ("https://example.com/hook", "json"),
        ("https://notdiscord.com/hook", "json"),
        ("http://127.0.0.1:8000/hook", "json"),
    ],
)
def test_the_format_follows_the_webhook_host(url: str, expected: str) -> None:
    assert format_for_webhook(url) == expected


def test_webhook_urls_are_described_without_their_token() -> None:
    assert describe_webhook("https://discord.com/api/webhooks/1/token") == "https://discord.com/…"
    assert describe_webhook("http://user:pw@127.0.0.1:8000/x?t=1") == "http://127.0.0.1:8000/…"


def test_retry_after_header() -> None:
    now = datetime(2026, 1, 20, 17, 45, tzinfo=UTC)
    assert retry_after_seconds(b"3") == 3.0
    assert retry_after_seconds("0.25") == 0.25
    assert retry_after_seconds("-4") == 0.0
    assert retry_after_seconds("Tue, 20 Jan 2026 17:45:30 GMT", now) == 30.0
    assert retry_after_seconds("Tue, 20 Jan 2026 17:44:00 GMT", now) == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("nan") is None


def test_retry_policy() -> None:
    config = AlertSettings(retry_times=3, retry_delay=1.0, max_retry_delay=5.0)
    assert [retry_delay(config, n, 500, None) for n in range(4)] == [1.0, 2.0, 4.0, None]
    assert retry_delay(config, 2, None, None) == 4.0  # connection error
    assert retry_delay(config, 0, 429, 3.0) == 3.0
    assert retry_delay(config, 0, 429, 30.0) == 5.0  # bounded
    assert retry_delay(config, 1, 429, None) == 2.0  # no Retry-After: backoff
    assert retry_delay(config, 3, 429, 1.0) is None
    assert retry_delay(config, 0, 400, None) is None
    assert retry_delay(config, 0, 404, 1.0) is None
    assert retry_delay(AlertSettings(retry_times=9, max_retry_delay=5.0), 8, 503, None) == 5.0


# -- settings -----------------------------------------------------------------------------


def test_settings_defaults() -> None:
    config = AlertSettings.from_settings(Settings())
    assert not config.enabled
    assert config.rules == AlertRules(kinds=frozenset({"moved"}), min_change=0.10)
    assert config.format == "json"
    assert config.close_timeout == defaults.ALERT_CLOSE_TIMEOUT


def test_settings_as_given_on_the_command_line() -> None:
    config = AlertSettings.from_settings(
        Settings(
            {
                "KWIFF_ALERT_WEBHOOK": " https://hooks.slack.com/services/T0/B0/token ",
                "KWIFF_ALERT_LOG": "true",
                "KWIFF_ALERT_KINDS": "moved, Removed,event_status",
                "KWIFF_ALERT_MARKETS": "Full Time Result,Both Teams To Score",
                "KWIFF_ALERT_COMPETITIONS": ["Premier League", " La Liga "],
                "KWIFF_ALERT_MIN_CHANGE": "0.2",
                "KWIFF_ALERT_MIN_ODDS": "1.5",
                "KWIFF_ALERT_MAX_ODDS": "",
                "KWIFF_ALERT_RETRY_TIMES": "5",
                "KWIFF_ALERT_CLOSE_TIMEOUT": "2.5",
            }
        )
    )
    assert config.webhook == "https://hooks.slack.com/services/T0/B0/token"
    assert config.log
    assert config.format == "slack"
    assert config.rules == AlertRules(
        kinds=frozenset({"moved", "removed", "event_status"}),
        competitions=frozenset({"premier league", "la liga"}),
        markets=frozenset({"full time result", "both teams to score"}),
        min_change=0.2,
        min_odds=1.5,
        max_odds=None,
    )
    assert config.market_names == ("Full Time Result", "Both Teams To Score")
    assert config.competition_names == ("Premier League", "La Liga")
    assert config.retry_times == 5
    assert config.close_timeout == 2.5
    assert "token" not in repr(config)


def test_the_format_setting_wins_over_the_host() -> None:
    config = AlertSettings.from_settings(
        Settings({"KWIFF_ALERT_WEBHOOK": "https://discord.com/x", "KWIFF_ALERT_FORMAT": "JSON"})
    )
    assert config.format == "json"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KWIFF_ALERT_WEBHOOK", "discord.com/api/webhooks/1/token", "KWIFF_ALERT_WEBHOOK must be"),
        ("KWIFF_ALERT_WEBHOOK", "ftp://example.com/token", "KWIFF_ALERT_WEBHOOK must be"),
        ("KWIFF_ALERT_LOG", "maybe", "KWIFF_ALERT_LOG must be True or False"),
        ("KWIFF_ALERT_FORMAT", "teams", "KWIFF_ALERT_FORMAT must be one of discord, slack, json"),
        ("KWIFF_ALERT_KINDS", "moved,jumped", "KWIFF_ALERT_KINDS: unknown kind 'jumped'"),
        ("KWIFF_ALERT_KINDS", "", "KWIFF_ALERT_KINDS is empty"),
        ("KWIFF_ALERT_MARKETS", 5, "KWIFF_ALERT_MARKETS must be a list"),
        ("KWIFF_ALERT_MIN_CHANGE", "ten", "KWIFF_ALERT_MIN_CHANGE must be a fraction such as"),
        ("KWIFF_ALERT_MIN_CHANGE", -0.1, "KWIFF_ALERT_MIN_CHANGE is a fraction from 0 to 1"),
        ("KWIFF_ALERT_MIN_CHANGE", "nan", "KWIFF_ALERT_MIN_CHANGE is a fraction from 0 to 1"),
        ("KWIFF_ALERT_DIRECTION", "up", "KWIFF_ALERT_DIRECTION must be one of drops"),
        ("KWIFF_ALERT_MIN_ODDS", "evens", "KWIFF_ALERT_MIN_ODDS must be decimal odds"),
        ("KWIFF_ALERT_MAX_ODDS", 0, "KWIFF_ALERT_MAX_ODDS must be decimal odds above 0"),
        ("KWIFF_ALERT_TIMEOUT", 0, "KWIFF_ALERT_TIMEOUT must be more than 0"),
        ("KWIFF_ALERT_RETRY_TIMES", "2.5", "KWIFF_ALERT_RETRY_TIMES must be a whole number"),
        ("KWIFF_ALERT_RETRY_TIMES", -1, "KWIFF_ALERT_RETRY_TIMES must be a whole number of 0"),
        ("KWIFF_ALERT_CLOSE_TIMEOUT", "nan", "KWIFF_ALERT_CLOSE_TIMEOUT must be a number of 0"),
    ],
)
def test_a_bad_setting_is_named(name: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message) as info:
        AlertSettings.from_settings(Settings({name: value}))
    assert "token" not in str(info.value)


@pytest.mark.parametrize("value", [15, "15", 1.5, "150%", "15.0"])
def test_a_min_change_above_one_is_refused_with_what_it_means(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^KWIFF_ALERT_MIN_CHANGE") as info:
        AlertSettings.from_settings(Settings({"KWIFF_ALERT_MIN_CHANGE": value}))
    assert str(info.value) == (
        "KWIFF_ALERT_MIN_CHANGE is a fraction from 0 to 1: 0.15 means 15 % (or write 15%), "
        f"not {value!r}"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("15%", 0.15), (" 15 % ", 0.15), ("12.5%", 0.125), ("0%", 0.0), ("0.15", 0.15), (1, 1.0)],
)
def test_a_min_change_may_be_a_percentage(value: Any, expected: float) -> None:
    config = AlertSettings.from_settings(Settings({"KWIFF_ALERT_MIN_CHANGE": value}))
    assert config.rules.min_change == pytest.approx(expected)


def test_direction_setting() -> None:
    assert AlertSettings.from_settings(Settings()).rules.direction == "both"
    for value, expected in (("drops", "drops"), (" Drifts ", "drifts"), ("BOTH", "both")):
        config = AlertSettings.from_settings(Settings({"KWIFF_ALERT_DIRECTION": value}))
        assert config.rules.direction == expected
    with pytest.raises(ValueError, match=r"not 'drop' \(did you mean 'drops'\?\)$"):
        AlertSettings.from_settings(Settings({"KWIFF_ALERT_DIRECTION": "drop"}))


def test_an_unknown_kind_says_which_was_meant() -> None:
    with pytest.raises(ValueError, match=r"unknown kind 'move' \(did you mean 'moved'\?\)"):
        AlertSettings.from_settings(Settings({"KWIFF_ALERT_KINDS": "move,removed"}))


@pytest.mark.parametrize(
    "url",
    [
        "http://discord.com/api/webhooks/1/secret-token",
        "http://10.0.0.7:8080/hooks/secret-token",
        "http://[2001:db8::1]/hooks/secret-token",
        "http://localhost.example.com/hooks/secret-token",
        "http://128.0.0.1/hooks/secret-token",
    ],
)
def test_a_plain_http_webhook_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"^KWIFF_ALERT_WEBHOOK is a plain http://") as info:
        AlertSettings.from_settings(Settings({"KWIFF_ALERT_WEBHOOK": url}))
    message = str(info.value)
    assert "the webhook URL is a secret: use https://" in message
    assert "secret-token" not in message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks/secret-token",
        "http://127.8.9.10/hooks/secret-token",
        "http://localhost:8000/hooks/secret-token",
        "http://LOCALHOST./hooks/secret-token",
        "http://[::1]:8000/hooks/secret-token",
        "https://discord.com/api/webhooks/1/secret-token",
    ],
)
def test_http_is_accepted_for_this_machine_only(url: str) -> None:
    assert AlertSettings.from_settings(Settings({"KWIFF_ALERT_WEBHOOK": url})).webhook == url


def test_min_odds_above_max_odds() -> None:
    settings = Settings({"KWIFF_ALERT_MIN_ODDS": 3, "KWIFF_ALERT_MAX_ODDS": 2})
    with pytest.raises(ValueError, match=r"KWIFF_ALERT_MIN_ODDS \(3.0\) must not be above"):
        AlertSettings.from_settings(settings)


def test_without_webhook_or_log_the_pipeline_disables_itself() -> None:
    with pytest.raises(NotConfigured):
        KwiffAlertsPipeline.from_crawler(get_crawler(settings_dict={"KWIFF_ALERT_LOG": False}))


class FlushWatcher:
    """A pipeline built without a crawl, whose flushes can be awaited."""

    def __init__(self, config: AlertSettings) -> None:
        crawler = get_crawler()
        crawler.stats = MemoryStatsCollector(crawler)
        self.stats = crawler.stats
        self.pipeline = KwiffAlertsPipeline(crawler, config)
        self.flushed = asyncio.Event()
        flush = self.pipeline._flush

        def flush_and_tell() -> None:
            flush()
            self.flushed.set()

        self.pipeline._flush = flush_and_tell  # type: ignore[method-assign]


async def test_without_poll_finished_a_batch_waits_at_most_its_maximum_age() -> None:
    watcher = FlushWatcher(AlertSettings(log=True, quiet_period=3600, max_batch_age=0.01))
    watcher.pipeline.process_item(moved("Arsenal", 1.67, 1.90))
    await watcher.flushed.wait()
    assert watcher.stats.get_value(stats.ALERTS_SENT) == 1


async def test_a_webhook_that_cannot_keep_up_loses_its_oldest_messages(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = AlertSettings(
        webhook="http://127.0.0.1:9/hook", message_limit=80, max_queued_messages=2
    )
    watcher = FlushWatcher(config)  # not opened: nothing sends
    for index in range(5):
        watcher.pipeline.process_item(moved(f"Outcome {index}", 1.5, 2.0))
    watcher.pipeline.poll_finished(poll=1, changes=5, failed=False)
    assert watcher.stats.get_value(stats.ALERTS_FAILED) == 3
    queue = watcher.pipeline._senders["default"]._queue
    assert queue is not None
    assert [queue.get_nowait().changes[0].outcome_name for _ in range(2)] == [
        "Outcome 3",
        "Outcome 4",
    ]
    dropped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Dropped")]
    assert (
        dropped
        == ["Dropped 1 alert(s): 2 messages were already waiting for http://127.0.0.1:9/…"] * 3
    )


# -- the add-on ---------------------------------------------------------------------------

PIPELINE_PATH = "kwiff_scrapy.pipelines.alerts.KwiffAlertsPipeline"


def addon_pipelines(values: dict[str, Any]) -> dict[Any, Any]:
    settings = Settings(values)
    Addon().update_settings(settings)
    return settings.getdict("ITEM_PIPELINES")


def test_the_addon_enables_the_pipeline_when_alerts_are_set() -> None:
    expected = {KwiffAlertsPipeline: defaults.ALERT_PIPELINE_ORDER}
    assert addon_pipelines({"KWIFF_ALERT_WEBHOOK": "https://discord.com/x"}) == expected
    assert addon_pipelines({"KWIFF_ALERT_LOG": True}) == expected
    assert addon_pipelines({"KWIFF_ALERT_LOG": "1"}) == expected
    assert addon_pipelines({}) == {}
    assert addon_pipelines({"KWIFF_ALERT_WEBHOOK": "", "KWIFF_ALERT_LOG": False}) == {}


def test_the_addon_keeps_what_the_project_set() -> None:
    webhook = {"KWIFF_ALERT_WEBHOOK": "https://discord.com/x"}
    other = {"scrapy.pipelines.files.FilesPipeline": 100}
    assert addon_pipelines({**webhook, "ITEM_PIPELINES": other}) == {
        **other,
        KwiffAlertsPipeline: defaults.ALERT_PIPELINE_ORDER,
    }
    for mine in ({PIPELINE_PATH: 50}, {PIPELINE_PATH: None}, {KwiffAlertsPipeline: 300}):
        assert addon_pipelines({**webhook, "ITEM_PIPELINES": mine}) == mine


# -- crawls against a local webhook -------------------------------------------------------


def alert_settings(server: WebhookServer | None, **extra: Any) -> dict[str, Any]:
    """Crawl settings: quick retries, and batches that only go out on poll_finished or at
    close. (Webhook requests need no Scrapy download handler: BASE_SETTINGS has none.)"""
    settings: dict[str, Any] = {
        "KWIFF_ALERT_RETRY_DELAY": 0.01,
        "KWIFF_ALERT_QUIET_PERIOD": 3600,
    }
    if server is not None:
        settings["KWIFF_ALERT_WEBHOOK"] = server.url
    return {**settings, **{f"KWIFF_ALERT_{name.upper()}": value for name, value in extra.items()}}


def waiting_for(server: WebhookServer, *counts: int) -> Any:
    """An ``after_poll``: after poll *n*, wait until the server got ``counts[n-1]`` requests."""

    async def after_poll(number: int) -> None:
        if number <= len(counts):
            await server.wait_for(counts[number - 1])

    return after_poll


def lines(received: list[Received], key: str = "content") -> list[list[str]]:
    return [request.json()[key].split("\n") for request in received]


def assert_counted(result: CrawlResult, sent: int, failed: int = 0, suppressed: int = 0) -> None:
    assert (
        result.stat(stats.ALERTS_SENT),
        result.stat(stats.ALERTS_FAILED),
        result.stat(stats.ALERTS_SUPPRESSED),
    ) == (sent, failed, suppressed)
    assert result.errors == []


async def test_each_poll_goes_out_as_one_discord_message() -> None:
    async with WebhookServer() as server:
        settings = alert_settings(server, format="discord")
        result = await crawl(AlertSpider, settings, after_poll=waiting_for(server, 1, 2))
    assert len(result.items) == 4  # every item passes through
    assert lines(server.received) == [[ARSENAL_LINE, JUVENTUS_LINE], [SPORTING_LINE]]
    first = server.received[0]
    assert first.method == "POST"
    assert first.path == "/hooks/secret-token"
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["User-Agent"].startswith("Scrapy/")  # Scrapy's USER_AGENT
    assert first.json()["allowed_mentions"] == {"parse": []}
    assert_counted(result, sent=3, suppressed=1)
    assert result.stats["finish_reason"] == "finished"
    # Not through Scrapy's downloader (see alert_transport): no download stats, no pages.
    assert result.stat("downloader/request_count") == 0
    assert result.responses == []


async def test_slack_and_json_bodies() -> None:
    async with WebhookServer() as server:
        await crawl(AlertSpider, alert_settings(server, format="slack"))
        slack = server.received[:]
        server.received.clear()
        await crawl(AlertSpider, alert_settings(server))  # a 127.0.0.1 URL: json
    assert [request.json() for request in slack] == [
        {"text": f"{ARSENAL_LINE}\n{JUVENTUS_LINE}"},
        {"text": SPORTING_LINE},
    ]
    first, second = (request.json() for request in server.received)
    assert first["text"] == f"{ARSENAL_LINE}\n{JUVENTUS_LINE}"
    assert [change["outcome_name"] for change in first["changes"]] == ["Arsenal", "Juventus"]
    expected = dataclasses.asdict(sample_polls()[1][0])
    assert second == {"text": SPORTING_LINE, "changes": [expected]}


async def test_drops_only_with_the_kick_off_in_each_line() -> None:
    kick_off = "2026-12-08T17:45:00.000Z"
    polls = [[dataclasses.replace(change, start_time=kick_off) for change in poll]
             for poll in sample_polls()]  # fmt: skip
    async with WebhookServer() as server:
        settings = alert_settings(server, format="discord", direction="drops")
        result = await crawl(AlertSpider, settings, polls=polls)
    # Arsenal and Sporting CP drifted (their odds lengthened): only Juventus's drop is sent.
    assert lines(server.received) == [[f"{JUVENTUS_LINE} · kick-off 2026-12-08 17:45 UTC"]]
    assert_counted(result, sent=1, suppressed=3)


async def test_drifts_only() -> None:
    async with WebhookServer() as server:
        settings = alert_settings(server, format="discord", direction="drifts")
        result = await crawl(AlertSpider, settings)
    assert lines(server.received) == [[ARSENAL_LINE], [SPORTING_LINE]]
    assert_counted(result, sent=2, suppressed=2)


def market_polls(*markets: str | None) -> list[list[Change]]:
    """A first poll with a new outcome in each of *markets*, then one move in the first."""
    new = moved("Home", None, 1.5, kind="new")
    first: list[Change] = [dataclasses.replace(new, market_name=market) for market in markets]
    return [first, [dataclasses.replace(moved("Home", 1.5, 2.0), market_name=markets[0])]]


def market_warnings(
    caplog: pytest.LogCaptureFixture, setting: str = "KWIFF_ALERT_MARKETS"
) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.getMessage().startswith(setting)
    ]


async def test_a_market_no_poll_shows_is_warned_about_once_with_the_closest_names(
    caplog: pytest.LogCaptureFixture,
) -> None:
    polls = market_polls("Full Time Result", "Both Teams To Score", "Total Goals", None)
    markets = "Full Time Reslt, both teams to score, Corners Handicap"
    await crawl(AlertSpider, {"KWIFF_ALERT_LOG": True, "KWIFF_ALERT_MARKETS": markets}, polls=polls)
    assert market_warnings(caplog) == [
        "KWIFF_ALERT_MARKETS: 'Full Time Reslt' is none of the 3 markets of the first poll: "
        "did you mean 'Full Time Result'? (names match whole, case aside)",
        "KWIFF_ALERT_MARKETS: 'Corners Handicap' is none of the 3 markets of the first poll "
        "('Both Teams To Score', 'Full Time Result', 'Total Goals'); no name is close to it",
    ]


async def test_a_competition_no_poll_shows_is_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    leagues = ["Premier League", "Championship", "Premier League", "UEFA Champions League"]
    first = [
        dataclasses.replace(change, competition_name=league)
        for change, league in zip(market_polls("A", "B", "C", "D")[0], leagues, strict=True)
    ]
    event = EventChange(event_id=2, kind="new", competition_name="La Liga")
    settings = {
        "KWIFF_ALERT_LOG": True,
        "KWIFF_ALERT_COMPETITIONS": "premier league,Premier Leage,Serie A",
    }
    await crawl(AlertSpider, settings, polls=[[*first, event], first])
    assert market_warnings(caplog, "KWIFF_ALERT_COMPETITIONS") == [
        "KWIFF_ALERT_COMPETITIONS: 'Premier Leage' is none of the 4 competitions of the first "
        "poll: did you mean 'Premier League'? (names match whole, case aside)",
        "KWIFF_ALERT_COMPETITIONS: 'Serie A' is none of the 4 competitions of the first poll "
        "('Championship', 'La Liga', 'Premier League', 'UEFA Champions League'); "
        "no name is close to it",
    ]
    assert market_warnings(caplog) == []  # no KWIFF_ALERT_MARKETS: nothing to check


async def test_markets_are_checked_after_the_first_successful_poll_with_changes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    checked: list[int] = []

    async def after_poll(number: int) -> None:
        checked.append(len(market_warnings(caplog)))

    polls = [[], *market_polls("Full Time Result")]
    settings = {"KWIFF_ALERT_LOG": True, "KWIFF_ALERT_MARKETS": "Full Time Reslt"}
    await crawl(AlertSpider, settings, polls=polls, after_poll=after_poll)
    # A poll without changes says nothing about names: the next one is checked.
    assert checked == [0, 1, 1]


async def test_markets_are_checked_once_the_polls_late_changes_are_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    on_time, late = market_polls("Full Time Result", "Total")[0]
    config = AlertSettings(log=True, market_names=("Total", "Full Time Reslt"))
    pipeline = FlushWatcher(config).pipeline
    pipeline.process_item(on_time)
    pipeline.poll_finished(poll=1, changes=2, failed=False)  # one change is still on its way
    pipeline._flush()  # as the flush timer does, KWIFF_ALERT_FLUSH_DELAY later
    assert market_warnings(caplog) == []
    pipeline.process_item(late)
    pipeline.poll_finished(poll=2, changes=0, failed=False)
    assert [warning.split(":")[1] for warning in market_warnings(caplog)] == [
        " 'Full Time Reslt' is none of the 2 markets of the first poll"
    ]


async def test_a_late_first_poll_is_still_checked_when_the_next_polls_moves_are_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    (on_time, late), (move,) = market_polls("Full Time Result", "Total")
    pipeline = FlushWatcher(AlertSettings(log=True, market_names=("Totl",))).pipeline
    pipeline.process_item(on_time)
    pipeline.poll_finished(poll=1, changes=2, failed=False)
    pipeline._flush()  # the flush timer
    for change in (late, move):  # the first poll's late change, then the second poll's
        pipeline.process_item(change)
    pipeline.poll_finished(poll=2, changes=1, failed=False)
    assert [warning.split(": ")[2] for warning in market_warnings(caplog)] == [
        "did you mean 'Total'? (names match whole, case aside)"
    ]


@pytest.mark.parametrize("quiet_polls", [0, 1])
async def test_a_watch_that_continues_an_earlier_one_is_not_checked(
    caplog: pytest.LogCaptureFixture, quiet_polls: int
) -> None:
    caplog.set_level(logging.INFO)
    settings = {
        "KWIFF_ALERT_LOG": True,
        "KWIFF_ALERT_MARKETS": "Total Goals",
        "KWIFF_ALERT_COMPETITIONS": "Premier League",
    }
    # A resumed or shared watch: its first poll with changes yields what moved, not
    # every outcome (after polls that yielded nothing, or not).
    polls = [[]] * quiet_polls + market_polls("Full Time Result")[1:]
    await crawl(AlertSpider, settings, polls=polls)
    assert market_warnings(caplog, "KWIFF_ALERT_") == []
    assert (
        "KWIFF_ALERT_MARKETS and KWIFF_ALERT_COMPETITIONS: names not checked against the "
        "service's: the first poll continued an earlier watch (JOBDIR, or another worker's), "
        "so it did not show every one"
    ) in [r.getMessage() for r in caplog.records]


async def test_a_failed_poll_is_not_checked(caplog: pytest.LogCaptureFixture) -> None:
    config = AlertSettings(log=True, market_names=("Full Time Reslt",))
    pipeline = FlushWatcher(config).pipeline
    pipeline.process_item(market_polls("Full Time Result")[0][0])
    pipeline.poll_finished(poll=1, changes=1, failed=True)
    await pipeline.close_spider()
    assert market_warnings(caplog) == []


async def test_a_market_that_matches_is_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    settings = {"KWIFF_ALERT_LOG": True, "KWIFF_ALERT_MARKETS": ["FULL TIME RESULT"]}
    result = await crawl(AlertSpider, settings, polls=market_polls("Full Time Result", "Total"))
    assert market_warnings(caplog) == []
    assert_counted(result, sent=1, suppressed=2)


async def test_a_big_poll_is_split_into_messages_within_the_limit() -> None:
    changes = many_moves(120)
    async with WebhookServer() as server:
        result = await crawl(AlertSpider, alert_settings(server, format="discord"), polls=[changes])
    assert len(server.received) > 3
    contents = [request.json()["content"] for request in server.received]
    assert all(len(content) <= 2000 for content in contents)
    assert [line for content in contents for line in content.split("\n")] == [
        format_line(change) for change in changes
    ]
    assert_counted(result, sent=120)


async def test_changes_still_in_earlier_pipelines_join_their_poll() -> None:
    class SlowPipeline:
        """Holds Arsenal's move until its poll is signalled finished."""

        def __init__(self, crawler: Crawler) -> None:
            self.finished = asyncio.Event()
            crawler.signals.connect(self.poll_finished, signal=poll_finished)

        @classmethod
        def from_crawler(cls, crawler: Crawler) -> Any:
            return cls(crawler)

        def poll_finished(self, poll: int, **_: Any) -> None:
            self.finished.set()

        async def process_item(self, item: Any) -> Any:
            if item.outcome_name == "Arsenal":
                await guarded(self.finished.wait(), "the first poll_finished signal")
            return item

    async with WebhookServer() as server:
        settings = alert_settings(server, format="discord", flush_delay=3600)
        settings["ITEM_PIPELINES"] = {SlowPipeline: 100}
        result = await crawl(AlertSpider, settings, after_poll=waiting_for(server, 1, 2))
    # Arsenal's move reached the alerts after the signal: it still went with its poll.
    assert sorted(lines(server.received)[0]) == [ARSENAL_LINE, JUVENTUS_LINE]
    assert_counted(result, sent=3, suppressed=1)


async def test_without_poll_finished_a_quiet_period_ends_a_batch() -> None:
    async with WebhookServer() as server:
        # Far longer than poll 1's changes take to arrive one after another; poll 2 comes
        # only once poll 1's batch went out.
        settings = alert_settings(server, quiet_period=1.0)
        spider_args = {"signalled": 0, "after_poll": waiting_for(server, 1, 2)}
        result = await crawl(AlertSpider, settings, **spider_args)
    assert [request.json()["text"].split("\n") for request in server.received] == [
        [ARSENAL_LINE, JUVENTUS_LINE],
        [SPORTING_LINE],
    ]
    assert_counted(result, sent=3, suppressed=1)


async def test_429_waits_as_long_as_retry_after_says() -> None:
    async with WebhookServer(Reply(429, {"Retry-After": "1"})) as server:
        result = await crawl(AlertSpider, alert_settings(server), polls=sample_polls()[:1])
    first, second = server.received
    assert second.at - first.at >= 0.9
    assert second.body == first.body
    assert_counted(result, sent=2, suppressed=1)


async def test_500_then_success(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with WebhookServer(Reply(500), Reply(503)) as server:
        result = await crawl(AlertSpider, alert_settings(server), polls=sample_polls()[:1])
    assert len(server.received) == 3
    assert_counted(result, sent=2, suppressed=1)
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Alert webhook")]
    assert retries == [
        f"Alert webhook http://127.0.0.1:{server.port}/…: HTTP 500; retry 1 of 3 in 0.01 s",
        f"Alert webhook http://127.0.0.1:{server.port}/…: HTTP 503; retry 2 of 3 in 0.02 s",
    ]


async def test_a_connection_reset_is_retried() -> None:
    async with WebhookServer(Reply.reset()) as server:
        result = await crawl(AlertSpider, alert_settings(server), polls=sample_polls()[:1])
    assert len(server.received) == 2
    assert_counted(result, sent=2, suppressed=1)


async def test_a_webhook_that_keeps_failing_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with WebhookServer(default=Reply(500, body='{"message": "oops"}')) as server:
        settings = alert_settings(server, retry_times=2)
        result = await crawl(AlertSpider, settings, after_poll=waiting_for(server, 3, 6))
    assert len(server.received) == 6  # each message: one try and two retries
    assert_counted(result, sent=0, failed=3, suppressed=1)
    assert result.stats["finish_reason"] == "finished"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        f"Could not send 2 alert(s) to http://127.0.0.1:{server.port}/… after 3 tries: "
        'HTTP 500: {"message": "oops"}'
    ) in warnings
    assert not any("secret-token" in r.getMessage() for r in caplog.records if r.levelno >= 20)


async def test_a_client_error_is_not_retried() -> None:
    async with WebhookServer(default=Reply(404)) as server:
        result = await crawl(AlertSpider, alert_settings(server), after_poll=waiting_for(server, 1))
    assert len(server.received) == 2
    assert_counted(result, sent=0, failed=3, suppressed=1)


async def test_a_dead_webhook_is_counted(caplog: pytest.LogCaptureFixture) -> None:
    server = await WebhookServer().start()
    url = server.url
    await server.close()  # nothing listens on its port any more
    settings = {**alert_settings(None, retry_times=1), "KWIFF_ALERT_WEBHOOK": url}
    result = await crawl(AlertSpider, settings)
    assert_counted(result, sent=0, failed=3, suppressed=1)
    assert result.stats["finish_reason"] == "finished"
    failures = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Could not")]
    assert len(failures) == 2
    assert all(
        "after 2 tries: cannot connect ([Errno 111] Connect call failed" in f for f in failures
    )


async def test_a_slow_webhook_never_holds_up_items() -> None:
    release = asyncio.Event()
    all_items = asyncio.Event()
    polls = [[moved("Arsenal", 1.67, 1.90)], many_moves(50, name_length=1)]

    async def after_poll(number: int) -> None:
        if number == 1:
            await server.wait_for(1)  # the first message is being posted: held
        else:
            await all_items.wait()  # every item got through meanwhile
            release.set()

    scraped = 0

    def item_scraped() -> None:
        nonlocal scraped
        scraped += 1
        if scraped == 51:
            all_items.set()

    async with WebhookServer(Reply(hold=release)) as server:
        runner = AsyncCrawlerRunner({**BASE_SETTINGS, **alert_settings(server)})
        crawler = runner.create_crawler(AlertSpider)
        crawler.signals.connect(item_scraped, signal=signals.item_scraped)
        await runner.crawl(crawler, polls=polls, after_poll=after_poll)
    assert scraped == 51
    assert len(server.received) == 1 + len(split_messages(polls[1]))
    assert crawler.stats is not None
    assert crawler.stats.get_value(stats.ALERTS_SENT) == 51


async def test_log_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    settings = {"KWIFF_ALERT_LOG": True}
    result = await crawl(AlertSpider, settings)
    messages = [r.getMessage() for r in caplog.records if r.name == "kwiff_scrapy.pipelines.alerts"]
    assert f"Kwiff alerts (2):\n{ARSENAL_LINE}\n{JUVENTUS_LINE}" in messages
    assert f"Kwiff alerts (1):\n{SPORTING_LINE}" in messages
    assert_counted(result, sent=3, suppressed=1)


async def test_other_items_pass_untouched_and_uncounted() -> None:
    event = KwiffEvent(event_id=1, home_team="Arsenal")
    async with WebhookServer() as server:
        result = await crawl(AlertSpider, alert_settings(server), polls=[[event]])
    assert result.items == [event]
    assert server.received == []
    assert_counted(result, sent=0)


# -- closing ------------------------------------------------------------------------------


async def test_what_is_pending_at_the_end_goes_out_at_close() -> None:
    async with WebhookServer() as server:
        # The second poll is never signalled, and no quiet period ends: only the
        # pipeline's close sends it, after the engine has stopped taking downloads.
        spider_args = {"signalled": 1, "after_poll": waiting_for(server, 1)}
        result = await crawl(AlertSpider, alert_settings(server), **spider_args)
    assert lines(server.received, "text") == [[ARSENAL_LINE, JUVENTUS_LINE], [SPORTING_LINE]]
    assert_counted(result, sent=3, suppressed=1)


async def test_a_retry_that_comes_due_while_the_spider_closes() -> None:
    async with WebhookServer(Reply(500)) as server:
        settings = alert_settings(server, retry_delay=0.2)
        spider_args = {
            "polls": sample_polls()[:1],
            "after_poll": waiting_for(server, 1),
            "close_reason": "enough",  # CloseSpider while the retry waits
        }
        result = await crawl(AlertSpider, settings, **spider_args)
    assert len(server.received) == 2
    assert_counted(result, sent=2, suppressed=1)
    assert result.stats["finish_reason"] == "enough"


async def test_pending_alerts_get_a_bounded_time_at_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    changes = many_moves(40)
    messages = len(split_messages(changes))
    assert messages > 1
    async with WebhookServer(default=Reply.hang()) as server:
        settings = alert_settings(server, close_timeout=0.1)
        result = await crawl(AlertSpider, settings, polls=[changes], signalled=0)
        assert len(server.received) == 1  # the first message hangs, the others wait
    assert_counted(result, sent=0, failed=40)
    assert (
        f"40 alert(s) in {messages} message(s) did not go out to "
        f"http://127.0.0.1:{server.port}/… before the spider closed "
        "(KWIFF_ALERT_CLOSE_TIMEOUT is 0.1 s)"
    ) in [r.getMessage() for r in caplog.records]


async def test_a_bad_setting_stops_the_crawl_at_start(caplog: pytest.LogCaptureFixture) -> None:
    settings = {"KWIFF_ALERT_LOG": True, "KWIFF_ALERT_MIN_CHANGE": "10"}
    with pytest.raises(ValueError, match="KWIFF_ALERT_MIN_CHANGE is a fraction"):
        await crawl(AlertSpider, settings)
    assert (
        "Cannot start the crawl: KWIFF_ALERT_MIN_CHANGE is a fraction from 0 to 1: "
        "0.15 means 15 % (or write 15%), not '10'"
    ) in [r.getMessage() for r in caplog.records]


# -- scrapy crawl, with the Twisted asyncio reactor ---------------------------------------


@pytest.mark.slow
async def test_scrapy_runspider_posts_alerts_with_the_twisted_reactor() -> None:
    async with WebhookServer(Reply(500)) as server:
        env = {**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"}
        env.pop("SCRAPY_SETTINGS_MODULE", None)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scrapy",
            "runspider",
            "tests/support/alert_spider.py",
            "-a",
            "signalled=1",  # the second poll goes out when the spider closes
            "-L",
            "DEBUG",  # the project logs at INFO; "Using reactor" is a DEBUG line
            "-s",
            f"KWIFF_ALERT_WEBHOOK={server.url}",
            "-s",
            "KWIFF_ALERT_FORMAT=discord",
            "-s",
            "KWIFF_ALERT_RETRY_DELAY=0.01",
            "-s",
            "KWIFF_ALERT_QUIET_PERIOD=3600",
            cwd=PROJECT_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr_bytes = await process.communicate()
    stderr = stderr_bytes.decode()
    assert process.returncode == 0, stderr[-3000:]
    assert "Using reactor: twisted.internet.asyncioreactor.AsyncioSelectorReactor" in stderr
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "ERROR" not in stderr, stderr[-3000:]
    assert lines(server.received) == [
        [ARSENAL_LINE, JUVENTUS_LINE],  # HTTP 500
        [ARSENAL_LINE, JUVENTUS_LINE],
        [SPORTING_LINE],
    ]
    assert "'kwiff/alerts/sent': 3" in stderr
    assert "'kwiff/alerts/suppressed': 1" in stderr
    assert "] DEBUG: " in stderr  # scrapy runspider logs at DEBUG: every line searched
    assert "secret-token" not in stderr
