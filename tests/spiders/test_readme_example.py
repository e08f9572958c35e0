"""The spider examples of the README and docs pages (tests/support/readme_examples.py),
crawled against the simulator."""

from __future__ import annotations

import json

from kwiff_scrapy.model.items import KwiffEvent
from kwiff_scrapy.simulator import KwiffSimulator, SimulatedData

from ..conftest import crawl
from ..support.readme_examples import (
    KwiffCommandSpider,
    KwiffIrishBasketballSpider,
    KwiffTennisSpider,
    MySpider,
)

DATA = SimulatedData()
FAST = {"CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 32}


async def test_another_sport_by_name_and_sport_id(simulator: KwiffSimulator) -> None:
    result = await crawl(KwiffIrishBasketballSpider, {"KWIFF_ENDPOINT": simulator.url})
    assert result.errors == []
    expected = DATA.events(36, "IE")
    assert [item.event_id for item in result.items] == [raw["id"] for raw in expected]
    assert [item.home_team for item in result.items] == [
        raw["homeTeam"]["name"] for raw in expected
    ]
    assert result.responses[0].request.payload["country"] == "IE"  # from custom_settings


async def test_another_sport_takes_the_usual_arguments(simulator: KwiffSimulator) -> None:
    result = await crawl(
        KwiffIrishBasketballSpider,
        {"KWIFF_ENDPOINT": simulator.url, **FAST},
        country="GB",
        details="1",
    )
    expected = DATA.events(36, "GB")
    assert sorted(item.event_id for item in result.items) == sorted(raw["id"] for raw in expected)
    assert result.stat("kwiff/event_details_parsed") == len(expected)
    assert result.responses[0].request.payload["country"] == "GB"


async def test_a_sport_the_service_has_no_events_for_gives_an_empty_crawl(
    simulator: KwiffSimulator,
) -> None:
    result = await crawl(KwiffTennisSpider, {"KWIFF_ENDPOINT": simulator.url})
    assert result.errors == []
    assert result.items == []
    assert result.responses[0].request.payload["sportId"] == 17
    assert result.stat("kwiff/events_parsed") == 0


async def test_my_spider_follows_every_listed_event(simulator: KwiffSimulator) -> None:
    result = await crawl(MySpider, {"KWIFF_ENDPOINT": simulator.url, **FAST})
    assert result.errors == []
    assert all(isinstance(item, KwiffEvent) for item in result.items)
    listed = DATA.events(11, "GB")
    assert sorted(item.event_id for item in result.items) == sorted(raw["id"] for raw in listed)
    event = next(item for item in result.items if item.event_id == listed[0]["id"])
    full = DATA.event(listed[0]["id"])
    assert full is not None
    assert [market.id for market in event.markets] == [market["id"] for market in full["markets"]]


async def test_any_other_command_and_its_answer(simulator: KwiffSimulator) -> None:
    event_id = DATA.events(36)[0]["id"]
    result = await crawl(
        KwiffCommandSpider,
        {"KWIFF_ENDPOINT": simulator.url},
        message="event:get",
        payload=json.dumps({"eventId": event_id}),
    )
    assert result.errors == []
    [item] = result.items
    assert item["message"] == "event:get"
    assert item["data"] == {"result": DATA.event(event_id)}
    assert item["error"] is None
    assert item["fetched_at"].endswith("Z")


async def test_an_unknown_command_answers_with_an_error(simulator: KwiffSimulator) -> None:
    result = await crawl(KwiffCommandSpider, {"KWIFF_ENDPOINT": simulator.url}, message="user:get")
    [item] = result.items
    assert item["data"] is None
    assert item["error"] == {"code": "UNKNOWN_COMMAND", "message": "unknown command 'user:get'"}


def test_the_readme_shows_exactly_the_tested_examples() -> None:
    """Every class in the Python blocks of the README and the docs pages is the one crawled
    by these tests."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    tested = (root / "tests" / "support" / "readme_examples.py").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    classes = [
        match.group(0)
        for block in blocks
        for match in re.finditer(r"^class .*?(?=^\S|\Z)", block, flags=re.DOTALL | re.MULTILINE)
    ]
    assert len(classes) >= 4
    for code in classes:
        assert code.strip() in tested, f"example not in tests/support/readme_examples.py:\n{code}"
