"""Demand level (诉求层次) by category and by text, the importance–urgency–feasibility
priority with each component shown, and assess() bundling everything."""

from __future__ import annotations

import json
from datetime import date

import pytest

from jiesu.nlp.demand import assess, demand_level, priority
from jiesu.nlp.understanding import parse_understanding
from jiesu.nlp.urgency import score_urgency

CITY = parse_understanding(
    {
        "demand": {"categories": {"0102": "quality", "010208": "basic"}},
        "priority": {"feasibility": {"categories": {"0103": "low"}, "levels": {"basic": 0.9}}},
    },
    "understanding.yaml",
)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("家里停水三天了，做饭都成问题", "basic"),
        ("公司拖欠工资半年，社保也没交", "basic"),
        ("楼下饭店油烟扰民，噪音也大", "quality"),
        ("小区停车位太少，物业不管", "quality"),
        ("孩子入学学位紧张，希望增加学校", "development"),
        ("建议优化营商环境，简化企业审批", "development"),
        ("the school needs more teachers", "development"),
    ],
)
def test_demand_level_from_the_text(text: str, level: str) -> None:
    result = demand_level(text)
    assert (result.level, result.source) == (level, "text")
    assert result.evidence and result.label and result.label_en


def test_nothing_known_gives_the_default_level() -> None:
    result = demand_level("你好")
    assert (result.level, result.source, result.evidence) == ("quality", "default", [])


def test_a_tie_goes_to_the_more_basic_need() -> None:
    assert demand_level("停水，噪音").level == "basic"


def test_the_category_code_wins_over_the_text_longest_prefix_first() -> None:
    text = "孩子入学学位紧张"  # development by its words
    assert demand_level(text, category_code="010208", config=CITY).level == "basic"
    result = demand_level(text, category_code="010210", config=CITY)
    assert (result.level, result.source, result.evidence) == ("quality", "category", ["0102"])
    assert demand_level(text, category_code="9901", config=CITY).source == "text"


def test_category_names_decide_leaf_first() -> None:
    result = demand_level("学位", category_names=("冬季采暖", "城市建设和市政管理", "城乡建设"))
    assert (result.level, result.source, result.evidence) == (
        "basic",
        "category_name",
        ["冬季采暖"],
    )
    parent = demand_level("停水", category_names=("未知小类", "教育文体"))
    assert (parent.level, parent.evidence) == ("development", ["教育文体"])


def test_priority_components_are_shown_and_weighted() -> None:
    urgency = score_urgency("停水了")  # 25
    demand = demand_level("停水了")  # basic: importance 1.0, feasibility medium 0.5
    result = priority(demand, urgency)
    parts = {c.name: (c.value, c.weight) for c in result.components}
    assert parts == {"importance": (1.0, 0.4), "urgency": (0.25, 0.4), "feasibility": (0.5, 0.2)}
    assert result.score == pytest.approx(100 * (0.4 * 1.0 + 0.4 * 0.25 + 0.2 * 0.5), abs=0.05)
    assert all(c.why for c in result.components)


def test_more_callers_make_a_matter_more_important_up_to_a_cap() -> None:
    demand = demand_level("噪音扰民")  # quality 0.6
    urgency = score_urgency("噪音扰民")
    values = [
        next(c for c in priority(demand, urgency, heat=h).components if c.name == "importance")
        for h in (1, 2, 4, 64)
    ]
    assert [v.value for v in values] == [0.6, 0.7, 0.8, 0.9]
    assert "for 4 callers" in values[2].why


def test_feasibility_by_category_prefix_then_level_then_default() -> None:
    urgency = score_urgency("")
    basic = demand_level("停水")
    quality = demand_level("噪音")

    def feasibility(demand, code=None):  # type: ignore[no-untyped-def]
        result = priority(demand, urgency, category_code=code, config=CITY)
        return next(c for c in result.components if c.name == "feasibility")

    assert (feasibility(basic, "0103").value, feasibility(basic, "0103").why) == (
        0.2,
        "category 0103",
    )
    assert feasibility(basic).value == 0.9
    assert feasibility(quality).value == 0.5


def test_assess_bundles_everything_as_plain_json() -> None:
    result = assess(
        "暖气不热，家里有老人，已经多次反映了！！",
        category_names=("冬季采暖",),
        received_at=date(2024, 12, 20),
        repeat_count=1,
        heat=3,
    )
    assert result.urgency.score == 25 + 15 + 15 + 5
    assert result.urgency.urgency == "utility"
    assert result.demand.level == "basic"
    assert result.sentiment.score < 0
    data = result.as_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert set(data) == {"urgency", "demand", "priority", "sentiment"}


def test_the_event_form_holds_offsets_but_not_the_citizens_words() -> None:
    text = "拖欠张三工资！！马上处理"
    payload = json.dumps(assess(text).as_dict(with_text=False), ensure_ascii=False)
    assert "张三" not in payload and '"start": 0' in payload
    assert "张三" in json.dumps(assess(text).as_dict(), ensure_ascii=False)
