"""Every spider and argument, crawled in-process against the simulator, with exact data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from kwiff_scrapy.model.items import KwiffEvent, Market, Outcome, OutcomeRow, PricedGroup
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData
from kwiff_scrapy.spiders.basketball import KwiffBasketballSpider
from kwiff_scrapy.spiders.betbuilder import KwiffBetBuilderSpider
from kwiff_scrapy.spiders.event import KwiffEventSpider
from kwiff_scrapy.spiders.events import KwiffEventsSpider
from kwiff_scrapy.spiders.football import KwiffFootballSpider

from ..conftest import StartSimulator, crawl
from ..support.crawl_process import PROJECT_ROOT, assert_clean_run, assert_fails_at_start

DATA = SimulatedData()
FOOTBALL = DATA.events(11)
BASKETBALL = DATA.events(36)
#: Followed event:get commands run side by side, as they would in a real crawl.
FAST = {"CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 32}


def markets_of(raw_markets: list[dict[str, Any]], outcomes: str, label: str) -> list[Market]:
    """What the parser must make of raw markets (independent of kwiff_scrapy.model.parsing)."""
    return [
        Market(
            id=market["id"],
            name=market["name"],
            outcomes=[
                Outcome(
                    id=o["id"], name=o[label], odds=float(o["odds"]), fractional=o["fractional"]
                )
                for o in market[outcomes]
            ],
        )
        for market in raw_markets
    ]


def listed_markets(raw_event: dict[str, Any]) -> list[Market]:
    """The ``event:list`` variant: ``details.offers`` / ``outcomes`` / ``outcomeName``."""
    return markets_of(raw_event["details"]["offers"], "outcomes", "outcomeName")


def full_markets(event_id: int) -> list[Market]:
    """The ``event:get`` variant: ``markets`` / ``selections`` / ``name``."""
    raw_event = DATA.event(event_id)
    assert raw_event is not None
    return markets_of(raw_event["markets"], "selections", "name")


def rows_of(event_id: int, markets: list[Market]) -> list[tuple[Any, ...]]:
    return [
        (event_id, market.id, market.name, o.id, o.name, o.odds, o.fractional)
        for market in markets
        for o in market.outcomes
    ]


def row_keys(rows: list[OutcomeRow]) -> list[tuple[Any, ...]]:
    return [
        (r.event_id, r.market_id, r.market_name, r.outcome_id, r.outcome_name, r.odds, r.fractional)
        for r in rows
    ]


def by_id(items: list[KwiffEvent]) -> dict[int, KwiffEvent]:
    events = {item.event_id: item for item in items}
    assert len(events) == len(items), "an event was yielded twice"
    return events


# ------------------------------------------------------------------ event lists


async def test_basketball_spider_yields_every_basketball_event(simulator: KwiffSimulator) -> None:
    result = await crawl(KwiffBasketballSpider, {"KWIFF_ENDPOINT": simulator.url})
    assert result.errors == []
    assert [item.event_id for item in result.items] == [raw["id"] for raw in BASKETBALL]
    for item, raw in zip(result.items, BASKETBALL, strict=True):
        assert (item.sport_id, item.sport_name) == (36, "Basketball")
        assert item.home_team == raw["homeTeam"]["name"]
        assert item.markets == listed_markets(raw)
    assert result.responses[0].request.payload == {
        "listId": "default",
        "sportId": 36,
        "country": "GB",
    }


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"sport": "basketball"}, BASKETBALL),
        ({"sport": "Football"}, FOOTBALL),
        ({"sport_id": "36"}, BASKETBALL),
        ({}, FOOTBALL),
        ({"sport_id": "17"}, []),  # unknown to the simulator, but a valid id to ask for
    ],
)
async def test_events_spider_by_sport_name_or_id(
    simulator: KwiffSimulator, arguments: dict[str, str], expected: list[dict[str, Any]]
) -> None:
    result = await crawl(KwiffEventsSpider, {"KWIFF_ENDPOINT": simulator.url}, **arguments)
    assert result.errors == []
    assert [item.event_id for item in result.items] == [raw["id"] for raw in expected]
    assert result.stat("kwiff/events_parsed") == len(expected)
    assert result.stat("kwiff/acks_received") == 1


async def test_events_spider_unknown_sport_fails_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The crawl still raises to whoever awaits it, and the reason is logged once.
    with pytest.raises(ValueError, match="unknown sport 'tenis': use one of basketball, football"):
        await crawl(KwiffEventsSpider, {"KWIFF_ENDPOINT": "simulator"}, sport="tenis")
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "kwiff_events",
            "ERROR",
            "Cannot start the crawl: unknown sport 'tenis': use one of basketball, football, "
            "or a numeric sport id",
        )
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"sport_id": "0"}, "unknown sport '0'"),
        ({"sport_id": "-3"}, "unknown sport '-3'"),
        ({"sport": "tennis", "sport_id": "17"}, "not both"),
    ],
)
def test_events_spider_bad_sport_arguments(arguments: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KwiffEventsSpider(**arguments)


async def test_details_yields_the_full_events(simulator: KwiffSimulator) -> None:
    result = await crawl(
        KwiffFootballSpider, {"KWIFF_ENDPOINT": simulator.url, **FAST}, details="1"
    )
    assert result.errors == []
    events = by_id(result.items)
    assert sorted(events) == sorted(raw["id"] for raw in FOOTBALL)
    for raw in FOOTBALL:
        event = events[raw["id"]]
        assert event.markets == full_markets(raw["id"])
        assert len(event.markets) > len(raw["details"]["offers"])  # more than the list shows
        assert (event.home_team, event.away_team) == (
            raw["homeTeam"]["name"],
            raw["awayTeam"]["name"],
        )
        assert event.start_time == raw["startDate"]
        assert event.fetched_at is not None
    assert result.stat("kwiff/commands_sent") == 1 + len(FOOTBALL)
    assert result.stat("kwiff/event_details_parsed") == len(FOOTBALL)
    assert result.stat("kwiff/event_details_fallback") == 0
    assert {r.request.message for r in result.responses} == {"event:list", "event:get"}


async def test_details_with_flat_gives_rows_of_the_full_events(simulator: KwiffSimulator) -> None:
    result = await crawl(
        KwiffEventsSpider,
        {"KWIFF_ENDPOINT": simulator.url, **FAST},
        sport="basketball",
        details="yes",
        flat="true",
    )
    assert result.errors == []
    assert all(isinstance(row, OutcomeRow) for row in result.items)
    expected = [row for raw in BASKETBALL for row in rows_of(raw["id"], full_markets(raw["id"]))]
    assert sorted(row_keys(result.items)) == sorted(expected)


class PatchyData(SimulatedData):
    """Answers ``event:get`` of one event with ``result: null`` and of another with an error."""

    def __init__(self, no_result: int, error: int) -> None:
        super().__init__()
        self.no_result = no_result
        self.error = error

    def event(self, event_id: int) -> dict[str, Any] | None:
        return None if event_id == self.no_result else super().event(event_id)

    def answer(self, message: Any, payload: Any) -> dict[str, Any]:
        if message == "event:get" and payload.get("eventId") == self.error:
            return self.error_answer("INTERNAL", "event store unavailable")
        return super().answer(message, payload)


async def test_details_falls_back_to_the_listed_event_without_a_usable_answer() -> None:
    no_result, error = BASKETBALL[3]["id"], BASKETBALL[7]["id"]
    async with KwiffSimulator(data=PatchyData(no_result, error)) as simulator:
        result = await crawl(
            KwiffBasketballSpider, {"KWIFF_ENDPOINT": simulator.url, **FAST}, details="1"
        )
    assert result.errors == []
    events = by_id(result.items)
    assert sorted(events) == sorted(raw["id"] for raw in BASKETBALL)  # none lost
    for raw in BASKETBALL:
        fell_back = raw["id"] in (no_result, error)
        expected = listed_markets(raw) if fell_back else full_markets(raw["id"])
        assert events[raw["id"]].markets == expected
    assert result.stat("kwiff/event_details_fallback") == 2
    assert result.stat("kwiff/parse/skipped/result_missing") == 2
    assert result.stat("kwiff/answer_errors") == 1
    assert result.stat("kwiff/event_details_parsed") == len(BASKETBALL) - 2


async def test_details_falls_back_to_the_listed_event_when_event_get_fails(
    start_simulator: StartSimulator,
) -> None:
    # The first connection drops at its second command: the first event:get.
    simulator = await start_simulator(drop_after=2, faulty_connections=1)
    settings = {"KWIFF_ENDPOINT": simulator.url, "RETRY_TIMES": 0, "CONCURRENT_REQUESTS": 1}
    result = await crawl(KwiffBasketballSpider, settings, details="1")
    assert result.errors == []
    events = by_id(result.items)
    assert sorted(events) == sorted(raw["id"] for raw in BASKETBALL)
    fell_back = [
        raw["id"] for raw in BASKETBALL if events[raw["id"]].markets == listed_markets(raw)
    ]
    assert len(fell_back) == 1
    assert all(
        events[r["id"]].markets == full_markets(r["id"])
        for r in BASKETBALL
        if r["id"] not in fell_back
    )
    assert result.stat("kwiff/event_details_fallback") == 1
    assert result.stat("kwiff/event_details_parsed") == len(BASKETBALL) - 1


# ---------------------------------------------------------------------- kwiff_event


async def test_event_spider_yields_the_full_events_asked_for(simulator: KwiffSimulator) -> None:
    ids = [FOOTBALL[5]["id"], BASKETBALL[0]["id"], FOOTBALL[0]["id"]]
    argument = f" {ids[0]}, {ids[1]} ,{ids[2]},{ids[0]},"  # spaces, a repeat, a trailing comma
    result = await crawl(KwiffEventSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=argument)
    assert result.errors == []
    events = by_id(result.items)
    assert sorted(events) == sorted(ids)
    for event_id, event in events.items():
        assert event.markets == full_markets(event_id)
    assert events[ids[1]].sport_name == "Basketball"
    assert result.stat("kwiff/commands_sent") == 3


async def test_event_spider_counts_an_unknown_id_without_an_error(
    simulator: KwiffSimulator,
) -> None:
    known = FOOTBALL[1]["id"]
    result = await crawl(KwiffEventSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=f"{known},1")
    assert result.errors == []
    assert [item.event_id for item in result.items] == [known]
    assert result.stat("kwiff/events_not_found") == 1
    assert result.stat("log_count/ERROR") == 0


async def test_event_spider_flat_rows(simulator: KwiffSimulator) -> None:
    event_id = BASKETBALL[2]["id"]
    result = await crawl(
        KwiffEventSpider, {"KWIFF_ENDPOINT": simulator.url}, ids=str(event_id), flat="1"
    )
    assert row_keys(result.items) == rows_of(event_id, full_markets(event_id))


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ("1,abc", r"ids must be positive numeric event ids .* not 'abc'"),
        ("12, 3.5, -4", r"not '3\.5', '-4'"),
        ("0", "not '0'"),
        ("", "give the ids of the events to fetch: -a ids="),
        (" , ", "give the ids of the events to fetch"),
        (None, "give the ids of the events to fetch"),
    ],
)
def test_event_spider_bad_ids_fail_at_start(ids: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KwiffEventSpider(ids=ids)


async def test_event_spider_bad_ids_fail_the_crawl_at_start() -> None:
    with pytest.raises(ValueError, match="not 'x'"):
        await crawl(KwiffEventSpider, {"KWIFF_ENDPOINT": "simulator"}, ids="1,x")


# ----------------------------------------------------------------- kwiff_betbuilder


def outcome_ids(event_id: int, *picks: tuple[int, int]) -> list[int]:
    """Outcome ids of the full event by (market index, outcome index)."""
    raw_event = DATA.event(event_id)
    assert raw_event is not None
    return [raw_event["markets"][m]["selections"][o]["id"] for m, o in picks]


def sample_groups() -> list[dict[str, Any]]:
    """A priceable group, two of the same market (unpriceable) and an unknown outcome."""
    event_id = FOOTBALL[0]["id"]
    return [
        {"eventId": event_id, "outcomeIds": outcome_ids(event_id, (0, 0), (2, 0), (3, 1))},
        {"eventId": event_id, "outcomeIds": outcome_ids(event_id, (0, 0), (0, 1))},
        {"eventId": event_id, "outcomeIds": [1], "source": 3},
    ]


def expected_prices(groups: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    sent = [{"source": 2, **group} for group in groups]
    return [
        (g["eventId"], g["outcomeIds"], g["source"], g["odds"], g["fractionalOdds"])
        for g in DATA.price_groups(sent)
    ]


def price_keys(items: list[PricedGroup]) -> list[tuple[Any, ...]]:
    return [(g.event_id, g.outcome_ids, g.source, g.odds, g.fractional) for g in items]


async def test_betbuilder_prices_inline_groups(simulator: KwiffSimulator) -> None:
    groups = sample_groups()
    result = await crawl(
        KwiffBetBuilderSpider, {"KWIFF_ENDPOINT": simulator.url}, groups=json.dumps(groups)
    )
    assert result.errors == []
    assert price_keys(result.items) == expected_prices(groups)
    assert result.items[0].odds is not None
    assert result.items[0].odds > 1
    assert [g.odds for g in result.items[1:]] == [None, None]
    assert result.stat("kwiff/betbuilder/priced") == 1
    assert result.stat("kwiff/betbuilder/unpriced") == 2
    assert result.stat("kwiff/commands_sent") == 1
    sent = result.responses[0].request.payload["betBuilderOutcomeGroups"]
    assert sent[0] == {"source": 2, **groups[0]}


class TwoGroupsPerCommand(KwiffBetBuilderSpider):
    groups_per_command = 2


async def test_betbuilder_sends_batches_of_groups(simulator: KwiffSimulator) -> None:
    groups = [*sample_groups(), *sample_groups()[:2]]
    result = await crawl(TwoGroupsPerCommand, {"KWIFF_ENDPOINT": simulator.url}, groups=groups)
    assert sorted(price_keys(result.items), key=repr) == sorted(expected_prices(groups), key=repr)
    assert result.stat("kwiff/commands_sent") == 3
    assert result.stat("kwiff/betbuilder/unanswered") == 0


class ForgetfulData(SimulatedData):
    """Answers ``ticket:odds:get`` with the first *keep* groups only, or with an error."""

    def __init__(self, keep: int | None = None) -> None:
        super().__init__()
        self.keep = keep

    def answer(self, message: Any, payload: Any) -> dict[str, Any]:
        if message != "ticket:odds:get":
            return super().answer(message, payload)
        if self.keep is None:
            return self.error_answer("INTERNAL", "pricing unavailable")
        answer = super().answer(message, payload)
        groups = answer["data"]["betBuilderOutcomeGroups"]
        return {**answer, "data": {"betBuilderOutcomeGroups": groups[: self.keep]}}


class ThreeGroupsPerCommand(KwiffBetBuilderSpider):
    groups_per_command = 3


async def test_betbuilder_counts_the_groups_an_answer_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    groups = [*sample_groups(), *sample_groups()[:2]]  # commands of 3 and 2 groups
    async with KwiffSimulator(data=ForgetfulData(keep=1)) as simulator:
        result = await crawl(
            ThreeGroupsPerCommand, {"KWIFF_ENDPOINT": simulator.url}, groups=groups
        )
    assert result.errors == []
    # Each command got the price of its first group only: groups[0] both times.
    assert price_keys(result.items) == expected_prices([groups[0], groups[0]])
    assert result.stat("kwiff/commands_sent") == 2
    assert result.stat("kwiff/betbuilder/unanswered") == (3 - 1) + (2 - 1)
    assert result.stat("kwiff/betbuilder/priced") == 2
    assert result.stat("kwiff/betbuilder/unpriced") == 0
    warnings = sorted(
        r.getMessage()
        for r in caplog.records
        if r.name == ThreeGroupsPerCommand.name and r.levelname == "WARNING"
    )
    assert warnings == [
        "ticket:odds:get answered 1 of 2 groups",
        "ticket:odds:get answered 1 of 3 groups",
    ]


async def test_betbuilder_counts_every_group_of_an_error_answer_unanswered() -> None:
    async with KwiffSimulator(data=ForgetfulData()) as simulator:
        result = await crawl(
            KwiffBetBuilderSpider, {"KWIFF_ENDPOINT": simulator.url}, groups=sample_groups()
        )
    assert result.errors == []
    assert result.items == []
    assert result.stat("kwiff/answer_errors") == 1
    assert result.stat("kwiff/betbuilder/unanswered") == 3
    assert result.stat("kwiff/betbuilder/priced") == 0
    assert result.stat("kwiff/betbuilder/unpriced") == 0


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ("", "give the groups to price with -a groups="),
        ("no-such-file.json", "groups is neither an existing file nor valid JSON"),
        ("{}", "groups must be a non-empty JSON list of groups"),
        ("[]", "groups must be a non-empty JSON list of groups"),
        ('[{"eventId": 1}]', r'groups\[0\] is \{"eventId": 1\}: groups must be'),
        ('[{"eventId": 1, "outcomeIds": [2]}, [3]]', r"groups\[1\] is \[3\]"),
        ('[{"eventId": 1, "outcomeIds": []}]', r"groups\[0\]"),
        ('[{"eventId": true, "outcomeIds": [2]}]', r"groups\[0\]"),
        ('[{"eventId": 1, "outcomeIds": ["2"]}]', r"groups\[0\]"),
        ('[{"eventId": 1, "outcomeIds": [2], "source": "2"}]', r"groups\[0\]"),
    ],
)
def test_betbuilder_bad_groups_fail_at_start(groups: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        KwiffBetBuilderSpider(groups=groups)
    if groups:
        assert '[{"eventId": 10748848, "outcomeIds": [107488480101, 107488480301]}]' in str(
            raised.value
        )


def test_betbuilder_bad_groups_file_fails_at_start(tmp_path: Path) -> None:
    path = tmp_path / "groups.json"
    path.write_text('[{"eventId": 1,', encoding="utf-8")
    with pytest.raises(ValueError, match=r"groups file '.*groups\.json' is not valid JSON"):
        KwiffBetBuilderSpider(groups=str(path))
    path.write_text('{"eventId": 1, "outcomeIds": [2]}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"groups file '.*' must be a non-empty JSON list"):
        KwiffBetBuilderSpider(groups=str(path))


# ------------------------------------------------------- `scrapy crawl`, as users run it


#: The in-process simulator without its clock: its first answers are the data at rest.
AT_REST = 'KWIFF_SIMULATOR_OPTIONS={"speed": null}'


def scrapy_crawl(spider: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", "KWIFF_ENDPOINT=simulator"]
    command += ["-s", AT_REST]  # the first answer is the data at rest, whatever the time
    return subprocess.run(
        [*command, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_scrapy_crawl_kwiff_basketball_jsonl(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    assert_clean_run(scrapy_crawl("kwiff_basketball", "-O", str(output)))
    events = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [event["event_id"] for event in events] == [raw["id"] for raw in BASKETBALL]
    assert {event["sport_name"] for event in events} == {"Basketball"}
    first = BASKETBALL[0]["details"]["offers"][0]
    assert [o["fractional"] for o in events[0]["markets"][0]["outcomes"]] == [
        o["fractional"] for o in first["outcomes"]
    ]


@pytest.mark.slow
def test_scrapy_crawl_kwiff_betbuilder_with_a_groups_file(tmp_path: Path) -> None:
    groups = sample_groups()
    groups_file = tmp_path / "groups.json"
    groups_file.write_text(json.dumps(groups), encoding="utf-8")
    output = tmp_path / "out.json"
    assert_clean_run(
        scrapy_crawl("kwiff_betbuilder", "-a", f"groups={groups_file}", "-O", str(output))
    )
    priced = json.loads(output.read_text(encoding="utf-8"))
    assert [
        (g["event_id"], g["outcome_ids"], g["source"], g["odds"], g["fractional"]) for g in priced
    ] == expected_prices(groups)


BAD_ARGUMENTS: list[tuple[list[str], str]] = [
    (
        ["kwiff_events", "-a", "sport=tennis"],
        "unknown sport 'tennis': use one of basketball, football, or a numeric sport id",
    ),
    (
        ["kwiff_football", "-a", "country=United"],
        "country must be an ISO 3166 alpha-2 code such as GB or IE, not 'United'",
    ),
    (
        ["kwiff_event", "-a", "ids=abc"],
        "ids must be positive numeric event ids separated by commas "
        "(-a ids=10748848,10748851), not 'abc'",
    ),
    (["kwiff_betbuilder"], "give the groups to price with -a groups="),
]


@pytest.mark.slow
def test_scrapy_crawl_with_a_bad_argument_says_why_in_one_line_and_exits_1(
    tmp_path: Path,
) -> None:
    def run(case: tuple[list[str], str]) -> subprocess.CompletedProcess[str]:
        (spider, *arguments), _ = case
        return scrapy_crawl(spider, *arguments, "-O", str(tmp_path / f"{spider}.json"))

    # Started all at once: each is a second of imports, then fails before crawling.
    with ThreadPoolExecutor(len(BAD_ARGUMENTS)) as pool:
        results = list(pool.map(run, BAD_ARGUMENTS))
    for ((spider, *_), message), result in zip(BAD_ARGUMENTS, results, strict=True):
        assert_fails_at_start(result, message, tmp_path / f"{spider}.json")
        assert f"[{spider}] ERROR: Cannot start the crawl: {message}" in result.stderr
    assert list(tmp_path.iterdir()) == []
