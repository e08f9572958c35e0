"""msgspec is a dependency, but the standard library's ``json`` still does everything it
does: a crawl with msgspec's import blocked yields exactly the items of a crawl with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kwiff_scrapy.protocol import jsondecode

from ..support.crawl_process import assert_clean_run, run_crawl

pytestmark = pytest.mark.slow

WITHOUT_MSGSPEC = "tests.support.without_msgspec"


def crawled(output: Path, *args: str, runner: str = "scrapy") -> tuple[list[dict[str, Any]], str]:
    """The items of ``scrapy crawl kwiff_football ARGS -O OUTPUT``, without the answer's
    time (``fetched_at``: the simulator's clock), in event order; and the crawl's log."""
    result = run_crawl(*args, "-O", str(output), runner=runner)
    assert_clean_run(result)
    items = json.loads(output.read_text(encoding="utf-8"))
    for item in items:
        assert item.pop("fetched_at").endswith("Z")
    return sorted(items, key=lambda item: (item["event_id"], item.get("outcome_id", 0))), (
        result.stderr
    )


@pytest.mark.parametrize(
    "args",
    [(), ("-a", "details=1"), ("-a", "layout=flat")],
    ids=["event-list", "event-get", "flat"],
)
def test_a_crawl_without_msgspec_yields_the_same_items(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    assert jsondecode.DECODER.startswith("msgspec ")  # the dependency is installed here
    fast, fast_log = crawled(tmp_path / "msgspec.json", *args)
    standard, standard_log = crawled(tmp_path / "json.json", *args, runner=WITHOUT_MSGSPEC)
    assert "decoder: json (standard library" in standard_log
    assert "decoder:" not in fast_log
    assert len(fast) >= 111
    assert standard == fast
    assert f"'item_scraped_count': {len(fast)}" in standard_log
