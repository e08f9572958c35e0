"""Load under churn: 10,000 commands at concurrency 64 over 4 connections against a
simulator that drops each connection at its 500th command. The exported feed must
match the commands one to one: none lost, none duplicated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kwiff_scrapy.simulator import SimulatedData

from ..conftest import StartSimulator, crawl
from ..support.command_spider import CommandsSpider

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

COMMANDS = 10_000


async def test_ten_thousand_commands_with_drops_every_500_export_exactly_once(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # A short answer delay keeps many commands in flight on each connection, so each
    # drop fails a batch of them at once, not just the command that triggered it.
    simulator = await start_simulator(drop_after=500, response_delay=0.05)
    event_ids = [event["id"] for event in SimulatedData().events(11, "GB")]
    ids = [event_ids[n % len(event_ids)] for n in range(COMMANDS)]
    feed = tmp_path / "items.jsonl"
    settings = {
        "KWIFF_ENDPOINT": simulator.url,
        "KWIFF_CONNECTIONS_PER_ENDPOINT": 4,
        "KWIFF_RECONNECT_DELAY": 0.01,
        "KWIFF_RECONNECT_MAX_DELAY": 0.1,
        "CONCURRENT_REQUESTS": 64,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 64,
        "RETRY_TIMES": 20,
        "LOG_LEVEL": "WARNING",
        "FEEDS": {str(feed): {"format": "jsonlines"}},
    }
    result = await crawl(CommandsSpider, settings, ids=ids)

    exported = [json.loads(line) for line in feed.read_text().splitlines()]
    assert sorted(item["seq"] for item in exported) == list(range(COMMANDS))
    assert all(item["asked"] == item["got"] for item in exported)
    assert result.stat("item_scraped_count") == COMMANDS
    drops = simulator.commands_received // 500
    assert drops >= COMMANDS // 500  # the churn really happened
    assert result.stat("kwiff/connections_opened") >= drops
    # Every command in flight on a cut connection failed and went out again (commands
    # the server had not read yet, or whose answer was cut off, add to the count).
    assert simulator.dropped_in_flight >= drops
    assert result.stat("retry/count") >= simulator.dropped_in_flight
    assert simulator.max_in_flight_seen >= 8
    assert result.stat("retry/max_reached") == 0
