"""KWIFF_SIGNALS: the rules parsed and checked, each problem with a clear message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from kwiff_scrapy.integration.signal_settings import SignalSettings, load_signal_rules
from kwiff_scrapy.model.signal_rules import SignalRule, parse_rules
from kwiff_scrapy.model.signals import SIGNAL_KINDS


def test_unset_means_one_rule_of_each_kind_with_football_defaults() -> None:
    rules = {rule.kind: rule for rule in load_signal_rules(None)}
    assert list(rules) == list(SIGNAL_KINDS)
    assert rules["drop"] == SignalRule(
        name="drop", kind="drop", window=3600, cooldown=3600, change=0.10, max_odds=15
    )
    assert (rules["drift"].change, rules["drift"].window) == (0.15, 3600)
    assert (rules["steam"].change, rules["steam"].outcomes, rules["steam"].window) == (
        0.05,
        3,
        1800,
    )
    assert (rules["margin"].points, rules["margin"].window) == (0.03, 1800)
    assert (rules["suspensions"].count, rules["suspensions"].window) == (5, 60)
    assert rules["suspensions"].cooldown == 600
    assert load_signal_rules("") == load_signal_rules(None)


def test_every_parameter_is_read() -> None:
    (rule,) = parse_rules(
        [
            {
                "kind": "drop",
                "name": "big-drop",
                "change": 0.2,
                "points": 0.05,
                "minutes": 15,
                "cooldown": 30,
                "growth": 0.5,
                "markets": ["Match Result", " Total Goals "],
                "competitions": "Premier League",
                "min_odds": 1.5,
                "max_odds": 6,
                "in_play": "YES",
            }
        ]
    )
    assert rule == SignalRule(
        name="big-drop",
        kind="drop",
        window=900,
        cooldown=1800,
        growth=0.5,
        change=0.2,
        points=0.05,
        markets=frozenset({"match result", "total goals"}),
        competitions=frozenset({"premier league"}),
        min_odds=1.5,
        max_odds=6,
        in_play="yes",
    )


def test_a_drop_given_points_only_measures_points_only() -> None:
    (rule,) = parse_rules([{"kind": "drop", "points": 0.03}])
    assert (rule.change, rule.points) == (None, 0.03)


def test_steam_across_the_event_can_be_turned_off() -> None:
    (rule,) = parse_rules([{"kind": "steam", "outcomes": 0}])
    assert rule.outcomes is None


def test_an_empty_list_means_no_rules() -> None:
    assert load_signal_rules("[]") == []
    assert load_signal_rules([]) == []


def test_inline_json_a_file_and_a_python_list_give_the_same_rules(tmp_path: Path) -> None:
    rules = [{"kind": "drop", "change": 0.12}, {"kind": "suspensions", "count": 3}]
    path = tmp_path / "signals.json"
    path.write_text(json.dumps(rules), encoding="utf-8")
    assert load_signal_rules(str(path)) == load_signal_rules(json.dumps(rules))
    assert load_signal_rules(rules) == load_signal_rules(json.dumps(rules))
    assert [rule.kind for rule in load_signal_rules(rules)] == ["drop", "suspensions"]


def test_a_file_that_is_not_json_says_so(tmp_path: Path) -> None:
    path = tmp_path / "signals.json"
    path.write_text("[{kind: drop}]", encoding="utf-8")
    with pytest.raises(ValueError, match=r"KWIFF_SIGNALS file .*signals\.json' is not valid JSON"):
        load_signal_rules(str(path))


def test_neither_file_nor_json_says_so() -> None:
    with pytest.raises(ValueError, match="is neither an existing file nor valid JSON"):
        load_signal_rules("rules.json")


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"kind": "drop"}, "KWIFF_SIGNALS must be a JSON list of rules"),
        (["drop"], r"KWIFF_SIGNALS\[0\] is \"drop\": each rule must be a JSON object"),
        ([{"change": 0.1}], r"KWIFF_SIGNALS\[0\] has no kind; kinds are drop, drift, steam"),
        ([{"kind": "stem"}], r"unknown kind 'stem' \(did you mean 'steam'\?\)"),
        ([{"kind": "dorp"}], r"unknown kind 'dorp' \(did you mean 'drop'\?\)"),
        ([{"kind": "whatever"}], r"unknown kind 'whatever'; kinds are drop, drift, steam"),
        (
            [{"kind": "drop", "chnage": 0.1}],
            r"KWIFF_SIGNALS\[0\] \(drop\) has unknown parameter 'chnage' "
            r"\(did you mean 'change'\?\); drop takes change, competitions",
        ),
        (
            [{"kind": "margin", "change": 0.1}],
            r"\(margin\) has unknown parameter 'change'; margin takes .*points",
        ),
        (
            [{"kind": "drop", "change": 15}],
            r"change is a fraction below 1, not 15: 0\.15 means 15 %",
        ),
        (
            [{"kind": "drop", "points": 3}],
            r"points is a fraction below 1, not 3: 0\.03 means 3 points",
        ),
        ([{"kind": "drop", "change": 0}], "change must be above 0"),
        ([{"kind": "drop", "change": "10%"}], 'change must be a number, not "10%"'),
        ([{"kind": "drop", "change": None}], "give change .* or points"),
        ([{"kind": "margin", "points": None}], "margin needs points"),
        ([{"kind": "steam", "change": None}], "steam needs change"),
        ([{"kind": "drift", "minutes": 0}], "minutes must be above 0"),
        ([{"kind": "drift", "cooldown": -1}], r"cooldown \(minutes\) must be 0 or more"),
        ([{"kind": "suspensions", "count": 0}], "count must be a whole number of at least 1"),
        ([{"kind": "steam", "outcomes": 1}], "outcomes must be a whole number of at least 2"),
        ([{"kind": "drop", "min_odds": 1}], "min_odds is decimal odds, above 1"),
        ([{"kind": "drop", "min_odds": 5, "max_odds": 2}], r"min_odds \(5\.0\) is above max_odds"),
        ([{"kind": "drop", "in_play": "maybe"}], "in_play must be one of yes, no, any"),
        ([{"kind": "drop", "markets": [1]}], "markets must be a list of names"),
        ([{"kind": "drop", "name": ""}], "name must be a non-empty string"),
        ([{"kind": "drop"}, {"kind": "drop"}], "two rules are named 'drop'"),
    ],
)
def test_bad_rules_say_what_is_wrong_and_what_to_write(rules: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_signal_rules(json.dumps(rules))


def test_problems_name_the_rule_they_are_in() -> None:
    rules = [{"kind": "drop"}, {"kind": "drift", "name": "slow drift", "minutes": -5}]
    with pytest.raises(ValueError, match=r"KWIFF_SIGNALS\[1\] \(slow drift\): minutes"):
        load_signal_rules(rules)


def test_two_rules_of_one_kind_with_their_own_names_are_fine() -> None:
    rules = load_signal_rules([{"kind": "drop"}, {"kind": "drop", "name": "sharp", "minutes": 5}])
    assert [(rule.name, rule.window) for rule in rules] == [("drop", 3600), ("sharp", 300)]


def test_signals_are_off_until_enabled_or_given_rules() -> None:
    assert SignalSettings.from_settings(Settings()) == SignalSettings(enabled=False, rules=())
    enabled = SignalSettings.from_settings(Settings({"KWIFF_SIGNALS_ENABLED": "true"}))
    assert enabled == SignalSettings(enabled=True, rules=tuple(load_signal_rules(None)))
    given = SignalSettings.from_settings(Settings({"KWIFF_SIGNALS": '[{"kind": "margin"}]'}))
    assert (given.enabled, [rule.kind for rule in given.rules]) == (True, ["margin"])


def test_a_bad_enabled_value_says_so() -> None:
    with pytest.raises(ValueError, match="KWIFF_SIGNALS_ENABLED must be True or False"):
        SignalSettings.from_settings(Settings({"KWIFF_SIGNALS_ENABLED": "perhaps"}))
