"""Tests of the sport registry, the items and the tolerant parsing of Kwiff answers."""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from itemadapter import ItemAdapter
from scrapy.exporters import CsvItemExporter, JsonLinesItemExporter

from kwiff_scrapy.model.answer import Answer, parse_answer
from kwiff_scrapy.model.items import KwiffEvent, Market, Outcome, OutcomeRow, PricedGroup
from kwiff_scrapy.model.parsing import (
    MAX_DECIMAL_ODDS,
    SKIP_REASONS,
    outcome_rows,
    parse_event,
    parse_event_detail,
    parse_events,
    parse_price_groups,
)
from kwiff_scrapy.model.sports import SPORT_IDS, resolve_sport, sport_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from hypothesis.strategies import SearchStrategy

# The event:list answer from PROTOCOL.md ("Event data"). The shapes of bettingStatus and
# matchTracker are not known; the values here only stand in for whatever arrives.
SAMPLE_ACK_ARGS = json.loads("""
[{"timestamp": 1768921926610,
  "data": {"events": [
    {"id": 10748848, "sportId": 11,
     "competition": {"id": 1, "name": "UEFA Champions League"},
     "homeTeam": {"id": 1, "name": "Bodoe/Glimt"},
     "awayTeam": {"id": 2, "name": "Manchester City"},
     "startDate": "2026-01-20T17:45:00.000Z",
     "bettingStatus": {"stand-in": 1}, "matchTracker": ["stand-in"], "betBuilderEnabled": true,
     "details": {"offers": [
        {"name": "Full Time Result",
         "outcomes": [{"outcomeName": "Bodo/Glimt", "odds": 6.0, "fractional": "5/1"}]}]}}
  ]}}]
""")
SAMPLE_FETCHED_AT = "2026-01-20T15:12:06.610Z"

SAMPLE_EVENT = KwiffEvent(
    event_id=10748848,
    sport_id=11,
    sport_name="Football",
    competition_id=1,
    competition_name="UEFA Champions League",
    home_team="Bodoe/Glimt",
    away_team="Manchester City",
    start_time="2026-01-20T17:45:00.000Z",
    betting_status={"stand-in": 1},
    match_tracker=["stand-in"],
    bet_builder_enabled=True,
    markets=[
        Market(
            id=None,
            name="Full Time Result",
            outcomes=[Outcome(id=None, name="Bodo/Glimt", odds=6.0, fractional="5/1")],
        )
    ],
    fetched_at=SAMPLE_FETCHED_AT,
)


def parse_sample() -> KwiffEvent:
    answer = parse_answer(SAMPLE_ACK_ARGS)
    (event,) = parse_events(answer.data, fetched_at=answer.fetched_at)
    return event


def parse_with_skips(raw: Any) -> tuple[KwiffEvent | None, Counter[str]]:
    skips: Counter[str] = Counter()
    return parse_event(raw, skips=skips), skips


def event_with_odds(odds: Any) -> dict[str, Any]:
    return {"id": 1, "markets": [{"outcomes": [{"odds": odds}]}]}


def only_odds(event: KwiffEvent | None) -> float | None:
    assert event is not None
    return event.markets[0].outcomes[0].odds


# --- sports --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("football", 11),
        ("Football", 11),
        ("BASKETBALL", 36),
        (" basketball ", 36),
        (11, 11),
        (17, 17),
        ("17", 17),
        ("36", 36),
    ],
)
def test_resolve_sport_accepts_names_and_numeric_ids(value: str | int, expected: int) -> None:
    assert resolve_sport(value) == expected


@pytest.mark.parametrize(
    "value", ["tenis", "", "0", "-3", "1.5", "\u0661\u0667", "17a", 0, -1, True]
)
def test_resolve_sport_rejects_anything_else(value: Any) -> None:
    with pytest.raises(ValueError, match="use one of basketball, football, or a numeric sport id"):
        resolve_sport(value)


def test_resolve_sport_error_names_the_value() -> None:
    with pytest.raises(ValueError, match=r"^unknown sport 'tenis': "):
        resolve_sport("tenis")


def test_sport_names() -> None:
    assert sport_name(11) == "Football"
    assert sport_name(36) == "Basketball"
    assert sport_name(17) is None
    assert dict(SPORT_IDS) == {"football": 11, "basketball": 36}
    with pytest.raises(TypeError):
        SPORT_IDS["tennis"] = 17  # type: ignore[index]


# --- answers ---------------------------------------------------------------------------


def test_parse_answer_reads_the_sample() -> None:
    answer = parse_answer(SAMPLE_ACK_ARGS)

    assert answer.timestamp_ms == 1768921926610
    assert answer.fetched_at == SAMPLE_FETCHED_AT
    assert answer.data == SAMPLE_ACK_ARGS[0]["data"]
    assert answer.error is None


def test_parse_answer_keeps_an_error() -> None:
    answer = parse_answer([{"timestamp": 0, "error": {"message": "nope"}}])

    assert answer == Answer(timestamp_ms=0, data=None, error={"message": "nope"})
    assert answer.fetched_at == "1970-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    "args",
    [None, 7, "[]", [], {}, [None], ["x"], [[{"timestamp": 1}]], {"timestamp": 1, "data": {}}],
)
def test_parse_answer_of_malformed_args_is_empty(args: Any) -> None:
    assert parse_answer(args) == Answer(timestamp_ms=None, data=None, error=None)
    assert parse_answer(args).fetched_at is None


@pytest.mark.parametrize("timestamp", ["soon", True, -1, 1.5, 10**400, None])
def test_parse_answer_drops_an_unusable_timestamp(timestamp: Any) -> None:
    answer = parse_answer([{"timestamp": timestamp, "data": {"events": []}}])

    assert answer.timestamp_ms is None
    assert answer.fetched_at is None
    assert answer.data == {"events": []}


def test_fetched_at_of_a_timestamp_beyond_the_calendar_is_none() -> None:
    assert Answer(timestamp_ms=2**53 - 1).fetched_at is None
    assert Answer(timestamp_ms=1768921926000).fetched_at == "2026-01-20T15:12:06.000Z"


# --- events ----------------------------------------------------------------------------


def test_parse_events_reads_the_protocol_sample() -> None:
    assert parse_sample() == SAMPLE_EVENT


def test_team_names_come_from_the_event_not_from_outcome_labels() -> None:
    event = parse_sample()

    assert event.home_team == "Bodoe/Glimt"
    assert event.markets[0].outcomes[0].name == "Bodo/Glimt"


def test_event_get_variant_with_markets_and_selections() -> None:
    data = {
        "result": {
            "id": "10748848",
            "sportId": "36",
            "homeTeam": "Bodø/Glimt",
            "awayTeam": "Manchester City",
            "markets": [
                {
                    "id": 501,
                    "name": "Match Winner",
                    "selections": [
                        {"id": "9001", "name": "Bodø/Glimt", "odds": 6, "fractionalOdds": "5/1"},
                        {"id": 9002, "name": "Manchester City", "odds": "1.50"},
                    ],
                }
            ],
        }
    }
    skips: Counter[str] = Counter()

    event = parse_event_detail(data, fetched_at=SAMPLE_FETCHED_AT, skips=skips)

    assert event == KwiffEvent(
        event_id=10748848,
        sport_id=36,
        sport_name="Basketball",
        home_team="Bodø/Glimt",
        away_team="Manchester City",
        markets=[
            Market(
                id=501,
                name="Match Winner",
                outcomes=[
                    Outcome(id=9001, name="Bodø/Glimt", odds=6.0, fractional="5/1"),
                    Outcome(id=9002, name="Manchester City", odds=1.5),
                ],
            )
        ],
        fetched_at=SAMPLE_FETCHED_AT,
    )
    assert skips == Counter()


def test_integer_odds_become_floats() -> None:
    odds = only_odds(parse_event(event_with_odds(6)))

    assert odds == 6.0
    assert type(odds) is float


@pytest.mark.parametrize(
    ("odds", "expected"), [(1.91, 1.91), ("6", 6.0), (" 2.50 ", 2.5), (0, 0.0)]
)
def test_valid_odds(odds: Any, expected: float) -> None:
    event, skips = parse_with_skips(event_with_odds(odds))

    assert only_odds(event) == expected
    assert skips == Counter()


@pytest.mark.parametrize(
    "odds",
    [
        True,
        math.nan,
        math.inf,
        -math.inf,
        -1,
        -0.5,
        10**400,
        MAX_DECIMAL_ODDS + 1,
        "abc",
        "-2",
        "1e400",
        "9" * 500,
        "nan",
        "",
        [6],
        {"value": 6},
    ],
)
def test_invalid_odds_are_dropped_and_counted(odds: Any) -> None:
    event, skips = parse_with_skips(event_with_odds(odds))

    assert only_odds(event) is None
    assert skips == Counter({"odds_invalid": 1})


def test_non_empty_list_wins_over_an_empty_one() -> None:
    raw = {
        "id": 1,
        "markets": [],
        "details": {"offers": [{"outcomes": [], "selections": [{"name": "Draw"}]}]},
    }

    event, skips = parse_with_skips(raw)

    assert event is not None
    assert event.markets == [Market(outcomes=[Outcome(name="Draw")])]
    assert skips == Counter()


def test_markets_win_when_both_lists_are_filled() -> None:
    raw = {"id": 1, "markets": [{"name": "A"}], "details": {"offers": [{"name": "B"}]}}

    event = parse_event(raw)

    assert event is not None
    assert [market.name for market in event.markets] == ["A"]


def test_outcome_name_falls_back_to_name() -> None:
    raw = {"id": 1, "markets": [{"outcomes": [{"outcomeName": None, "name": "Draw"}]}]}

    event = parse_event(raw)

    assert event is not None
    assert event.markets[0].outcomes[0].name == "Draw"


def test_absent_and_null_fields_become_none_without_being_counted() -> None:
    event, skips = parse_with_skips({"id": 7, "sportId": None, "homeTeam": {}, "details": None})

    assert event == KwiffEvent(event_id=7)
    assert skips == Counter()


def test_wrong_typed_fields_become_none_and_are_counted() -> None:
    raw = {
        "id": 7,
        "sportId": "football",
        "sportName": 11,
        "competition": ["UEFA"],
        "homeTeam": {"name": 5},
        "awayTeam": 3,
        "startDate": 1768921926610,
        "betBuilderEnabled": "yes",
        "details": [],
        "markets": {"0": {}},
    }

    event, skips = parse_with_skips(raw)

    assert event == KwiffEvent(event_id=7)
    assert skips == Counter({"field_wrong_type": 9})


@pytest.mark.parametrize("bad_id", [True, False, -1, 1.0, "1.0", "x", 2**53, "9" * 5000])
def test_ids_must_be_integers_or_digit_strings(bad_id: Any) -> None:
    raw = {"id": 1, "sportId": bad_id, "markets": [{"id": bad_id, "outcomes": [{"id": bad_id}]}]}

    event, skips = parse_with_skips(raw)

    assert event is not None
    assert event.sport_id is None
    assert event.markets[0].id is None
    assert event.markets[0].outcomes[0].id is None
    assert skips == Counter({"field_wrong_type": 3})


def test_sport_name_from_the_registry_or_the_event() -> None:
    assert parse_event({"id": 1, "sportId": 17, "sportName": "Tennis"}) == KwiffEvent(
        event_id=1, sport_id=17, sport_name="Tennis"
    )
    assert parse_event({"id": 1, "sportId": 11, "sportName": "Soccer"}) == KwiffEvent(
        event_id=1, sport_id=11, sport_name="Football"
    )
    assert parse_event({"id": 1, "sportId": 17}) == KwiffEvent(event_id=1, sport_id=17)


def test_plain_string_competition_and_teams() -> None:
    raw = {"id": 1, "competition": "Eliteserien", "homeTeam": "Bodø/Glimt", "awayTeam": "Molde"}

    event = parse_event(raw)

    assert event == KwiffEvent(
        event_id=1, competition_name="Eliteserien", home_team="Bodø/Glimt", away_team="Molde"
    )


def test_parse_events_keeps_the_good_events_and_counts_the_rest() -> None:
    skips: Counter[str] = Counter()

    events = parse_events(
        {"events": [{"id": 1}, "junk", {"name": "no id"}, {"id": 2}]}, skips=skips
    )

    assert [event.event_id for event in events] == [1, 2]
    assert skips == Counter({"event_not_object": 1, "event_without_id": 1})


# --- skip reasons ----------------------------------------------------------------------


SKIP_CASES: list[tuple[str, Callable[..., Any], Any]] = [
    ("events_missing", parse_events, None),
    ("events_missing", parse_events, {"events": {"id": 1}}),
    ("result_missing", parse_event_detail, {"events": []}),
    ("event_not_object", parse_event_detail, {"result": [1]}),
    ("event_not_object", parse_event, 10748848),
    ("event_without_id", parse_event, {"homeTeam": "A"}),
    ("event_without_id", parse_event, {"id": True}),
    ("market_not_object", parse_event, {"id": 1, "markets": ["Full Time Result"]}),
    ("outcome_not_object", parse_event, {"id": 1, "markets": [{"outcomes": [6.0]}]}),
    ("odds_invalid", parse_event, event_with_odds(-6)),
    ("field_wrong_type", parse_event, {"id": 1, "startDate": False}),
    ("groups_missing", parse_price_groups, {"groups": []}),
    ("group_not_object", parse_price_groups, {"betBuilderOutcomeGroups": [7.5]}),
]


@pytest.mark.parametrize(("reason", "parse", "data"), SKIP_CASES)
def test_each_skip_reason_is_counted_once(
    reason: str, parse: Callable[..., Any], data: Any
) -> None:
    skips: Counter[str] = Counter()

    parse(data, skips=skips)

    assert skips == Counter({reason: 1})


def test_every_documented_skip_reason_is_tested() -> None:
    assert {reason for reason, _, _ in SKIP_CASES} == set(SKIP_REASONS)


def test_skips_are_optional() -> None:
    assert parse_events(None) == []
    assert parse_event(None) is None
    assert parse_event_detail(None) is None
    assert parse_price_groups(None) == []


# --- rows and price groups -------------------------------------------------------------


def test_outcome_rows_flatten_the_sample() -> None:
    assert list(outcome_rows(parse_sample())) == [
        OutcomeRow(
            event_id=10748848,
            sport_name="Football",
            competition_name="UEFA Champions League",
            home_team="Bodoe/Glimt",
            away_team="Manchester City",
            start_time="2026-01-20T17:45:00.000Z",
            market_id=None,
            market_name="Full Time Result",
            outcome_id=None,
            outcome_name="Bodo/Glimt",
            odds=6.0,
            fractional="5/1",
            fetched_at=SAMPLE_FETCHED_AT,
        )
    ]


def test_outcome_rows_of_an_event_without_outcomes_is_empty() -> None:
    assert list(outcome_rows(KwiffEvent(event_id=1))) == []
    assert list(outcome_rows(KwiffEvent(event_id=1, markets=[Market(name="Empty")]))) == []


def test_parse_price_groups() -> None:
    data = {
        "betBuilderOutcomeGroups": [
            {
                "source": 2,
                "outcomeIds": [9001, "9002", "x", None],
                "eventId": 10748848,
                "odds": 7.5,
                "fractionalOdds": "13/2",
            },
            {"source": 2, "outcomeIds": [9003], "eventId": 10748848},
        ]
    }
    skips: Counter[str] = Counter()

    groups = parse_price_groups(data, fetched_at=SAMPLE_FETCHED_AT, skips=skips)

    assert groups == [
        PricedGroup(
            event_id=10748848,
            outcome_ids=[9001, 9002],
            source=2,
            odds=7.5,
            fractional="13/2",
            fetched_at=SAMPLE_FETCHED_AT,
        ),
        PricedGroup(event_id=10748848, outcome_ids=[9003], source=2, fetched_at=SAMPLE_FETCHED_AT),
    ]
    assert skips == Counter({"field_wrong_type": 2})


# --- items and exports -----------------------------------------------------------------


def test_items_convert_to_json_with_itemadapter() -> None:
    as_dict = ItemAdapter(parse_sample()).asdict()

    assert as_dict["markets"][0]["outcomes"][0] == {
        "id": None,
        "name": "Bodo/Glimt",
        "odds": 6.0,
        "fractional": "5/1",
        "status": None,  # the sample sends none: open
    }
    assert json.loads(json.dumps(as_dict)) == as_dict


def test_events_export_as_json_lines() -> None:
    output = io.BytesIO()
    exporter = JsonLinesItemExporter(output)

    exporter.export_item(parse_sample())

    assert json.loads(output.getvalue()) == ItemAdapter(SAMPLE_EVENT).asdict()


def test_outcome_rows_export_as_csv() -> None:
    output = io.BytesIO()
    exporter = CsvItemExporter(output)
    exporter.start_exporting()

    for row in outcome_rows(parse_sample()):
        exporter.export_item(row)
    exporter.finish_exporting()

    header, line = output.getvalue().decode().splitlines()
    assert header.split(",") == list(ItemAdapter(OutcomeRow(event_id=1)).field_names())
    assert line.startswith("10748848,Football,UEFA Champions League,Bodoe/Glimt,")


# --- fuzzing ---------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, database=None)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.text()
    | st.from_regex(r"-?[0-9]{1,30}(\.[0-9]{1,3})?", fullmatch=True)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
ids = st.integers(min_value=0, max_value=2**53 - 1) | st.from_regex(r"[0-9]{1,16}", fullmatch=True)
odds_values = (
    st.floats(min_value=1, max_value=1000)
    | st.integers(min_value=-10, max_value=10**400)
    | st.floats()
    | st.text(max_size=8)
)


def mostly(plausible: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """*plausible* three times in four, arbitrary JSON otherwise, so that the fuzz gets deep."""
    return st.one_of(plausible, plausible, plausible, json_values)


def shaped(
    fields: dict[str, SearchStrategy[Any]], *, always: tuple[str, ...] = ()
) -> SearchStrategy[dict[str, Any]]:
    """Objects with the *always* keys and any subset of the other *fields*, each mostly plausible.

    The *always* keys are the path down to prices: left optional, too few examples reach them.
    """
    optional = {key: mostly(value) for key, value in fields.items()}
    required = {key: optional.pop(key) for key in always}
    return st.fixed_dictionaries(required, optional=optional)


def lists_of(element: SearchStrategy[Any]) -> SearchStrategy[list[Any]]:
    return st.lists(mostly(element), max_size=3)


named_objects = shaped({"id": ids, "name": st.text()}) | st.text()
outcomes = shaped(
    {
        "id": ids,
        "outcomeName": st.text(),
        "name": st.text(),
        "odds": odds_values,
        "fractional": st.text(),
        "fractionalOdds": st.text(),
    },
    always=("odds",),
)
markets = shaped(
    {
        "id": ids,
        "name": st.text(),
        "outcomes": lists_of(outcomes),
        "selections": lists_of(outcomes),
    },
    always=("outcomes", "selections"),
)
events = shaped(
    {
        "id": ids,
        "sportId": ids,
        "sportName": st.text(),
        "competition": named_objects,
        "homeTeam": named_objects,
        "awayTeam": named_objects,
        "startDate": st.text(),
        "bettingStatus": json_values,
        "matchTracker": json_values,
        "betBuilderEnabled": st.booleans(),
        "markets": lists_of(markets),
        "details": shaped({"offers": lists_of(markets)}, always=("offers",)),
    },
    always=("id", "markets", "details"),
)
event_lists = shaped({"events": lists_of(events)}, always=("events",))
event_details = shaped({"result": events}, always=("result",))
price_groups = shaped(
    {
        "betBuilderOutcomeGroups": lists_of(
            shaped(
                {
                    "source": ids,
                    "outcomeIds": lists_of(ids),
                    "eventId": ids,
                    "odds": odds_values,
                    "fractionalOdds": st.text(),
                },
                always=("outcomeIds", "odds"),
            )
        )
    },
    always=("betBuilderOutcomeGroups",),
)
answers = st.lists(
    shaped(
        {"timestamp": ids, "data": event_lists | price_groups, "error": json_values},
        always=("timestamp", "data"),
    ),
    max_size=2,
)


def is_optional_id(value: Any) -> bool:
    return value is None or (type(value) is int and value >= 0)


def is_optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def is_optional_odds(value: Any) -> bool:
    return value is None or (type(value) is float and 0 <= value <= MAX_DECIMAL_ODDS)


def assert_well_typed_event(event: Any) -> None:
    assert isinstance(event, KwiffEvent)
    assert type(event.event_id) is int
    assert is_optional_id(event.sport_id)
    assert is_optional_id(event.competition_id)
    for text in (event.sport_name, event.competition_name, event.home_team, event.away_team):
        assert is_optional_text(text)
    assert is_optional_text(event.start_time)
    assert event.bet_builder_enabled in (None, True, False)
    for market in event.markets:
        assert isinstance(market, Market)
        assert is_optional_id(market.id)
        assert is_optional_text(market.name)
        for outcome in market.outcomes:
            assert isinstance(outcome, Outcome)
            assert is_optional_id(outcome.id)
            assert is_optional_text(outcome.name)
            assert is_optional_odds(outcome.odds)
            assert is_optional_text(outcome.fractional)
    assert all(isinstance(row, OutcomeRow) for row in outcome_rows(event))
    json.dumps(ItemAdapter(event).asdict())


def assert_counts(skips: Counter[str]) -> None:
    assert set(skips) <= set(SKIP_REASONS)
    assert all(count > 0 for count in skips.values())


@FUZZ
@given(raw=events | json_values)
def test_fuzz_parse_event(raw: Any) -> None:
    skips: Counter[str] = Counter()

    event = parse_event(raw, skips=skips)

    if event is None:
        reason = "event_without_id" if isinstance(raw, dict) else "event_not_object"
        assert skips == Counter({reason: 1})
    else:
        assert_well_typed_event(event)
    assert_counts(skips)


@FUZZ
@given(data=event_lists | json_values)
def test_fuzz_parse_events(data: Any) -> None:
    skips: Counter[str] = Counter()

    parsed = parse_events(data, fetched_at=SAMPLE_FETCHED_AT, skips=skips)

    assert isinstance(parsed, list)
    for event in parsed:
        assert_well_typed_event(event)
        assert event.fetched_at == SAMPLE_FETCHED_AT
    assert_counts(skips)


@FUZZ
@given(data=event_details | json_values)
def test_fuzz_parse_event_detail(data: Any) -> None:
    skips: Counter[str] = Counter()

    event = parse_event_detail(data, skips=skips)

    if event is not None:
        assert_well_typed_event(event)
    assert_counts(skips)


@FUZZ
@given(args=answers | json_values)
def test_fuzz_parse_answer(args: Any) -> None:
    answer = parse_answer(args)

    assert isinstance(answer, Answer)
    assert is_optional_id(answer.timestamp_ms)
    assert is_optional_text(answer.fetched_at)
    if answer.fetched_at is not None:
        assert answer.fetched_at.endswith("Z")


@FUZZ
@given(data=price_groups | json_values)
def test_fuzz_parse_price_groups(data: Any) -> None:
    skips: Counter[str] = Counter()

    groups = parse_price_groups(data, skips=skips)

    assert isinstance(groups, list)
    for group in groups:
        assert isinstance(group, PricedGroup)
        assert is_optional_id(group.event_id)
        assert is_optional_id(group.source)
        assert all(is_optional_id(outcome_id) for outcome_id in group.outcome_ids)
        assert is_optional_odds(group.odds)
        assert is_optional_text(group.fractional)
        json.dumps(ItemAdapter(group).asdict())
    assert_counts(skips)


def test_fuzzed_events_reach_priced_outcomes() -> None:
    # Guards the strategies themselves: the fuzz above must get past the early returns.
    def has_priced_outcome(raw: dict[str, Any]) -> bool:
        event = parse_event(raw)
        return event is not None and any(
            outcome.odds is not None for market in event.markets for outcome in market.outcomes
        )

    assert has_priced_outcome(find(events, has_priced_outcome, settings=FUZZ))
