"""Spider callbacks fed arbitrary answers: parsed or skipped-and-counted, never a crash."""

from __future__ import annotations

import functools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy.utils.test import get_crawler

from kwiff_scrapy import KwiffRequest, KwiffResponse
from kwiff_scrapy.model.items import KwiffEvent, OutcomeRow
from kwiff_scrapy.spiders.football import KwiffFootballSpider

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)
event_like = st.fixed_dictionaries(
    {"id": st.integers(min_value=0, max_value=10**6) | json_values},
    optional={
        "homeTeam": json_values | st.fixed_dictionaries({"name": json_values}),
        "details": st.fixed_dictionaries(
            {"offers": st.lists(json_values | st.fixed_dictionaries({"outcomes": json_values}))}
        ),
        "startDate": json_values,
    },
)
answers = st.one_of(
    json_values,
    st.lists(json_values, max_size=3),
    st.lists(
        st.fixed_dictionaries(
            {
                "timestamp": json_values,
                "data": st.fixed_dictionaries(
                    {"events": st.lists(event_like, max_size=4) | json_values}
                ),
            }
        ),
        min_size=1,
        max_size=2,
    ),
)


@functools.cache
def spider(flat: bool) -> KwiffFootballSpider:
    crawler = get_crawler(KwiffFootballSpider)
    crawler.stats.open_spider()  # type: ignore[union-attr]
    return KwiffFootballSpider.from_crawler(crawler, flat="1" if flat else "0")


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=answers, flat=st.booleans())
def test_event_list_callback_never_crashes(args: Any, flat: bool) -> None:
    raw = json.dumps(args)
    request = KwiffRequest("event:list", {"listId": "default", "sportId": 11, "country": "GB"})
    response = KwiffResponse.from_ack(request, raw, json.loads(raw))
    items = list(spider(flat).parse_event_list(response))
    assert all(isinstance(item, OutcomeRow if flat else KwiffEvent) for item in items)
