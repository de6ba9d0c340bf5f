"""A city's understanding.yaml: checked whole, every problem with its key path and line,
merged over the defaults, stored as JSON and rebuilt from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jiesu.nlp.understanding import (
    FORMAT,
    UnderstandingError,
    cached_config_from_json,
    check_regex,
    config_from_json,
    config_to_json,
    default_config,
    load_understanding,
    parse_understanding,
)
from jiesu.nlp.urgency import score_urgency


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "understanding.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(UnderstandingError) as info:
        load_understanding(write(tmp_path, text), where="understanding.yaml")
    return info.value.problems


def test_the_defaults_load_and_cover_the_required_signals() -> None:
    config = default_config()
    wanted = {
        "gas_leak", "fire", "fire_risk", "lift_trapped", "no_water", "no_power", "no_heating",
        "sewage_flood", "structural_danger", "exposed_wires", "traffic_danger", "medical",
        "violence", "vulnerable", "wage_arrears", "repeat_complaint", "urgent_time",
    }  # fmt: skip
    assert wanted <= {s.code for s in config.signals}
    assert all(s.label and s.label_en and s.weight > 0 for s in config.signals)


def test_an_empty_city_file_gives_the_defaults(tmp_path: Path) -> None:
    data = load_understanding(write(tmp_path, ""))
    assert config_from_json(data) == default_config()


def test_a_city_file_overrides_disables_and_adds(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
signals:
  - code: gas_leak
    weight: 60
  - code: urgent_time
    enabled: false
  - code: hutong_well
    label: 胡同水井盖板缺失
    label_en: missing well cover in a hutong
    keywords: [水井没盖]
    weight: 30
    raises_to: utility
repeat: {points_per_repeat: 10}
demand:
  categories: {'0102': quality, '010208': basic}
priority:
  weights: {feasibility: 0}
  feasibility: {categories: {'0103': low}}
""",
    )
    config = config_from_json(load_understanding(path))
    assert config.signal("gas_leak").weight == 60  # type: ignore[union-attr]
    assert config.signal("gas_leak").keywords == default_config().signal("gas_leak").keywords  # type: ignore[union-attr]
    assert config.signal("urgent_time").enabled is False  # type: ignore[union-attr]
    assert score_urgency("胡同里水井没盖了", config=config).urgency == "utility"
    assert config.repeat.points_per_repeat == 10 and config.repeat.max_points == 20
    assert dict(config.demand.categories) == {"0102": "quality", "010208": "basic"}
    assert config.priority.weight_feasibility == 0 and config.priority.weight_urgency == 0.4
    assert dict(config.priority.feasibility_categories) == {"0103": 0.2}


def test_every_problem_is_reported_with_key_path_and_line(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """signals:
  - code: gas_leak
    weight: 500
  - code: new_one
    keywords: [x]
  - code: fire
    raises_to: urgent
    colour: red
  - code: bad_rx
    label: 坏
    label_en: bad
    regex: ['(未闭合']
  - code: no_heating
    season: ['11-31..03-15']
  - code: gas_leak
    enabled: false
demand:
  categories: {0102: basic}
""",
    )
    expected = [
        "understanding.yaml: signals[0].weight (line 3): must be a whole number from 0 to 100",
        "understanding.yaml: signals[1].label (line 4): is required for the new signal 'new_one'",
        "understanding.yaml: signals[2].raises_to (line 7): 'urgent' is not an urgency class",
        "understanding.yaml: signals[2].colour (line 8): unknown key",
        "understanding.yaml: signals[3].regex[0] (line 12): not a valid regular expression",
        "understanding.yaml: signals[4].season[0] (line 14): '11-31..03-15' is not a date range",
        "understanding.yaml: signals[5].code (line 15): 'gas_leak' is already used by signals[0]",
        "understanding.yaml: demand.categories[66] (line 18): code 66 must be quoted text",
    ]
    for want in expected:
        assert any(p.startswith(want) for p in problems), (want, problems)
    assert len(problems) == len(expected) + 1  # new_one also lacks label_en
    assert not any("can never fire" in p for p in problems)  # bad_rx's regex: reported once


def test_duplicate_keys_are_rejected_with_their_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "signals:\n  - code: fire\n    weight: 5\n    weight: 9\n")
    assert problems == ["understanding.yaml: signals[0].weight (line 4): duplicate key"]


def test_unknown_top_level_key_and_bad_yaml(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "signal: []\n") == [
        "understanding.yaml: signal (line 1): unknown key (allowed: format, thresholds, signals,"
        " negation, repeat, demand, priority)"
    ]
    assert problems_of(tmp_path, "signals: [\n")[0].startswith("understanding.yaml: not valid YAML")


def test_references_and_circles_between_signals_are_checked() -> None:
    with pytest.raises(UnderstandingError) as info:
        parse_understanding(
            {"signals": [
                {"code": "a", "label": "甲", "label_en": "a", "needs": ["b"], "keywords": ["甲"]},
                {"code": "b", "label": "乙", "label_en": "b", "needs": ["a"], "keywords": ["乙"]},
                {"code": "c", "label": "丙", "label_en": "c", "needs": ["nowhere"]},
            ]},
            "x.yaml",
        )  # fmt: skip
    text = "\n".join(info.value.problems)
    assert "'nowhere' is neither a signal code nor a group" in text
    assert "signals need each other in a circle: a → b → a" in text
    assert "x.yaml: signals[2].needs: 'nowhere'" in text


def test_a_signal_that_can_never_fire_is_refused() -> None:
    with pytest.raises(UnderstandingError, match=r"signals\[0\]: signal 'empty' has no keywords"):
        parse_understanding({"signals": [{"code": "empty", "label": "空", "label_en": "e"}]}, "x")


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("(?P<x>煤气)", "named groups"),
        ("(煤气)\\1", "back-references"),
        ("煤?", "matches the empty text"),
        ("Gas", "upper-case"),
        ("[", "not a valid regular expression"),
        ("\\bgas\\b", None),
    ],
)
def test_regex_checks(pattern: str, problem: str | None) -> None:
    found = check_regex(pattern)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_json_round_trip_is_exact_and_plain() -> None:
    config = parse_understanding(
        {"signals": [{"code": "gas_leak", "weight": 1}], "demand": {"default_level": "basic"}},
        "x.yaml",
    )
    data = config_to_json(config)
    assert data["format"] == FORMAT
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert config_from_json(data) == config
    assert config_from_json(json.loads(json.dumps(data))) == config
    assert cached_config_from_json(data) is cached_config_from_json(json.loads(json.dumps(data)))


def test_empty_stored_json_means_the_defaults_and_a_foreign_one_is_refused() -> None:
    assert config_from_json({}) is default_config()
    assert config_from_json(None) is default_config()
    with pytest.raises(UnderstandingError, match="format must be"):
        config_from_json({"signals": []})


def test_urgency_classes_match_the_citys() -> None:
    from jiesu.city.models import URGENCY_CLASSES
    from jiesu.nlp.understanding import URGENCY_ORDER

    # Most urgent first, the order the suggestion relies on.
    assert URGENCY_ORDER == URGENCY_CLASSES


def test_thresholds_are_read_checked_and_kept() -> None:
    from jiesu.nlp.understanding import config_from_json, config_to_json, parse_understanding

    config = parse_understanding({"thresholds": {"category": 0.7}}, "understanding.yaml")
    assert (config.thresholds.category, config.thresholds.place) == (0.7, 0.6)
    assert config_from_json(config_to_json(config)).thresholds.category == 0.7
    with pytest.raises(UnderstandingError) as err:
        parse_understanding({"thresholds": {"category": 1.5, "area": 0.2}}, "understanding.yaml")
    text = "\n".join(err.value.problems)
    assert "thresholds.category" in text and "thresholds" in text and "area" in text
