"""Urgency signals on hand-written request texts: each default signal fires on a plain case
and stays quiet on a near miss (negation, hedge, other meaning of the same characters)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from jiesu.nlp.patterns import PatternSet, keyword_alternative, regex_alternatives
from jiesu.nlp.understanding import default_config, parse_understanding
from jiesu.nlp.urgency import MAX_SCORE, matcher_for, more_urgent, score_urgency

WINTER = date(2024, 12, 10)


def codes(
    text: str, when: date | datetime = WINTER, tz: ZoneInfo = ZoneInfo("Asia/Shanghai")
) -> set[str]:
    return {r.code for r in score_urgency(text, received_at=when, tz=tz).reasons}


# (signal, fires on, does not fire on)
CASES = [
    ("gas_leak", "楼道里煤气味很重，请尽快派人来看看", "请问煤气费在哪里交，营业厅几点开门"),
    ("gas_leak", "家里燃气灶一直漏气，关了阀门也有味道", "家里没有闻到煤气味，只是燃气表不走字"),
    (
        "gas_leak",
        "I can smell gas in the stairwell",
        "there is no smell of gas, the meter is broken",
    ),
    ("gas_leak", "燃气管道泄漏了", "请物业检查一下，防止燃气泄漏"),
    ("gas_leak", "厨房燃气泄漏，味道很大", "管道没有密封，存在燃气泄漏的风险"),
    ("fire", "三楼厨房着火了，冒出很多浓烟", "我看着火车站广场上排队的人很多"),
    ("fire", "隔壁仓库起火了", "电动车在楼道充电，一旦起火后果不堪设想"),
    ("fire", "the building next door is on fire", "不是火灾，是邻居家烧水壶干烧了"),
    ("fire", "阳台冒烟了", "饭店烟囱冒烟，油烟很大"),
    ("fire", "小区发生火灾", "垃圾堆积如山，火灾安全隐患非常大"),
    ("fire_risk", "消防通道被私家车堵死了", "小区组织了一次消防演练，很有意义"),
    ("fire_risk", "有人把电动车推进楼道里充电", "电动车充电桩太少，希望增加"),
    ("fire_risk", "垃圾堆积如山，火灾安全隐患非常大", "消防站的工作人员态度很好"),
    ("lift_trapped", "我和孩子被困电梯里已经二十分钟了", "电梯按钮不太灵敏，希望物业维修"),
    ("lift_trapped", "my mother is stuck in the lift", "the lift is slow in the morning"),
    ("no_water", "家里已经两天没有水了", "咨询一下水费缴纳方式"),
    ("no_water", "小区突然停水，也没有通知", "物业的管理没有水平，服务态度差"),
    ("no_water", "we have had no water since monday", "不是停水，是水压有点小"),
    ("no_power", "整栋楼停电三个小时了", "楼道里停电动车的人太多了"),
    ("no_power", "家里没电了，冰箱里的东西都坏了", "小区没有电梯，爬楼很辛苦"),
    ("no_power", "the power went out at 6pm", "手机没电了，没法打电话"),
    ("no_heating", "暖气不热，室温只有十四度", "请问今年的暖气费怎么交"),
    ("no_heating", "our radiators are cold", "供暖季什么时候开始"),
    ("sewage_flood", "下水道返水，污水流进了厨房", "下水道井盖上的标志看不清"),
    ("sewage_flood", "地下室被淹了", "一到下雨天就容易积水严重"),
    ("structural_danger", "外墙脱落，差点砸到人", "外墙粉刷的颜色不太好看"),
    ("structural_danger", "这栋危房随时可能倒塌", "老房子没有倒塌，只是有点旧"),
    ("exposed_wires", "路边电线裸露在外面，孩子放学都从这里走", "电线杆上贴满了小广告"),
    ("exposed_wires", "配电箱漏电，有人被电了一下", "请安装漏电保护器"),
    ("traffic_danger", "路口井盖丢失，晚上很危险", "井盖周围的路面不太平整"),
    ("traffic_danger", "十字路口红绿灯坏了两天了", "红绿灯时间太短，老人过不去"),
    ("traffic_danger", "the manhole cover is missing on elm street", "the manhole looks dirty"),
    ("medical", "楼上的老人晕倒了，呼吸困难", "咨询医保报销比例"),
    ("violence", "邻居持刀威胁我们全家", "楼上装修声音太大，我们被打扰得无法休息"),
    ("violence", "他扬言要砍人", "商场搞跳楼价促销，人太多"),
    ("wage_arrears", "公司拖欠我们三个月工资", "咨询今年最低工资标准是多少"),
    ("wage_arrears", "老板一直不发工资", "工资条上的扣款项目看不懂"),
    ("repeat_complaint", "此事已多次反映，至今未解决", "这是我第一次反映这个问题"),
    ("repeat_complaint", "I have complained 3 times already", "I have a question about bins"),
    ("urgent_time", "请立即处理", "希望以后能改进"),
]


@pytest.mark.parametrize(("code", "positive", "near_miss"), CASES)
def test_signal_fires_on_the_case_and_not_on_the_near_miss(
    code: str, positive: str, near_miss: str
) -> None:
    assert code in codes(positive)
    assert code not in codes(near_miss)


def test_every_default_signal_has_a_case() -> None:
    covered = {c[0] for c in CASES} | {"vulnerable", "wage_arrears_festival"}
    assert covered == {s.code for s in default_config().signals}


def test_the_reason_shows_the_citizens_own_words_and_offsets() -> None:
    text = "ＡＢ小区楼道里有煤气味！"
    result = score_urgency(text)
    gas = next(r for r in result.reasons if r.code == "gas_leak")
    assert (gas.text, text[gas.start : gas.end]) == ("煤气味", "煤气味")
    assert gas.points == 45 and gas.label and gas.label_en and gas.raises_to == "emergency"


def test_full_width_and_upper_case_latin_are_matched() -> None:
    assert "gas_leak" in codes("ＧＡＳ ＬＥＡＫ in my kitchen")
    assert "gas_leak" in codes("厨房GAS LEAK了")  # Latin words only need non-Latin neighbours


def test_latin_keywords_match_whole_words_only() -> None:
    assert "no_power" not in codes("the blackouts-list is a blackoutish word")  # sic
    assert "no_power" in codes("a blackout again")


# ---------------------------------------------------------------- negation and hedges
def test_absence_of_service_is_the_complaint_not_a_negation() -> None:
    for text in ("没有水", "家里没水了", "停水三天", "三天没有暖气了"):
        assert codes(text) & {"no_water", "no_heating"}, text


def test_negation_before_the_match_cancels_it_and_is_explained() -> None:
    result = score_urgency("小区没有停水，只是水有点黄")
    assert result.score == 0
    assert [(i.code, i.why) for i in result.ignored] == [("no_water", "negated by '没有'")]


def test_negation_reaches_only_its_own_clause_and_window() -> None:
    assert "gas_leak" in codes("没有人管，楼道里煤气味很大")  # another clause
    assert "gas_leak" in codes("没有物业的老旧小区楼道里煤气味很大")  # too far before


def test_a_question_or_nobody_acting_does_not_negate() -> None:
    assert "gas_leak" in codes("不知道有没有煤气泄漏，味道很大")
    assert "lift_trapped" in codes("物业无视业主被困电梯")


def test_either_or_keeps_both_complaints() -> None:
    assert codes("小区经常不是停水就是停电") >= {"no_water", "no_power"}
    assert "fire" in codes("不是火灾而是冒烟")


def test_a_risk_phrase_and_a_hedged_event_on_the_same_words() -> None:
    result = score_urgency("电器长时间使用造成火灾")
    assert {r.code for r in result.reasons} == {"fire_risk"}
    assert [(i.code, i.why) for i in result.ignored] == [("fire", "hedged by '造成'")]


def test_hedges_cancel_only_event_signals() -> None:
    result = score_urgency("电动车在楼道里充电，容易着火")
    assert {r.code for r in result.reasons} == {"fire_risk"}
    assert [(i.code, i.why) for i in result.ignored] == [("fire", "hedged by '容易'")]


# -------------------------------------------------------------------------- seasons
@pytest.mark.parametrize(
    ("day", "fires"),
    [
        (date(2024, 11, 14), False),
        (date(2024, 11, 15), True),
        (date(2025, 1, 20), True),
        (date(2025, 3, 15), True),
        (date(2025, 3, 16), False),
        (date(2025, 7, 1), False),
    ],
)
def test_heating_counts_only_in_the_heating_season(day: date, fires: bool) -> None:
    result = score_urgency("暖气不热，屋里冷得待不住", received_at=day)
    assert ("no_heating" in {r.code for r in result.reasons}) is fires
    if not fires:
        assert result.ignored[0].why == "out of season (11-15..03-15)"


def test_the_season_is_judged_on_the_date_in_the_citys_zone() -> None:
    # 16:30 UTC on 14 November is already 00:30 on the 15th in Beijing.
    late = datetime(2024, 11, 14, 16, 30, tzinfo=UTC)
    assert "no_heating" in codes("暖气不热", when=late)
    assert "no_heating" not in codes("暖气不热", when=late, tz=ZoneInfo("Europe/London"))


def test_without_a_date_the_season_is_not_checked() -> None:
    assert "no_heating" in {r.code for r in score_urgency("暖气不热").reasons}


def test_wages_near_the_spring_festival_count_more() -> None:
    text = "包工头拖欠我们工资，过年回不了家"
    assert score_urgency(text, received_at=date(2025, 1, 10)).score == 30
    assert score_urgency(text, received_at=date(2025, 6, 10)).score == 15
    festival = score_urgency(text, received_at=date(2025, 1, 10)).reasons[-1]
    assert festival.code == "wage_arrears_festival" and festival.text == "拖欠我们工资"


# ------------------------------------------------------------------------ needs / boost
def test_vulnerable_people_boost_only_with_a_hazard_or_service_loss() -> None:
    assert codes("家里停电了，老人用的制氧机不能用") >= {"no_power", "vulnerable"}
    result = score_urgency("小区里给孩子玩的设施太少")
    assert result.score == 0
    assert result.ignored[0].why == "needs hazard or service"


# ----------------------------------------------------------------- score and classes
def test_repeat_count_from_history_raises_the_score_up_to_its_cap() -> None:
    text = "小区门口路灯不亮"
    scores = [score_urgency(text, repeat_count=n).score for n in (0, 1, 3, 10)]
    assert scores == [0, 5, 15, 20]
    reason = score_urgency(text, repeat_count=2).reasons[-1]
    assert (reason.code, reason.points, reason.start) == ("repeat_count", 10, -1)


def test_signals_raise_the_urgency_class() -> None:
    assert score_urgency("煤气味很大").urgency == "emergency"
    assert score_urgency("停水了").urgency == "utility"
    assert score_urgency("停水了，楼道还有煤气味").urgency == "emergency"
    assert score_urgency("此事已多次反映").urgency is None  # keep the category's class


def test_the_score_is_capped_at_100() -> None:
    text = "楼道着火了，煤气味很大，老人被困电梯里，停电停水，已经多次反映，请马上来"
    result = score_urgency(text, repeat_count=5)
    assert sum(r.points for r in result.reasons) > MAX_SCORE
    assert result.score == MAX_SCORE


def test_each_signal_counts_once() -> None:
    assert score_urgency("停水停水停水，还是停水").score == 25


def test_empty_text() -> None:
    assert score_urgency("").score == 0 and score_urgency("").urgency is None


def test_more_urgent() -> None:
    assert more_urgent("general", "emergency") == "emergency"
    assert more_urgent(None, "utility") == "utility"
    assert more_urgent("complex", None) == "complex"


def test_result_as_dict_is_plain_json() -> None:
    import json

    data = score_urgency("煤气味很大，老人在家").as_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert data["reasons"][0]["code"] == "gas_leak"


# ------------------------------------------------------------------- city configuration
def test_a_city_can_change_a_weight_disable_a_signal_and_add_one() -> None:
    config = parse_understanding(
        {
            "signals": [
                {"code": "gas_leak", "weight": 10, "add_keywords": ["气罐漏了"]},
                {"code": "urgent_time", "enabled": False},
                {"code": "coal_stove", "label": "煤炉取暖", "label_en": "coal stove fumes",
                 "keywords": ["煤炉"], "weight": 40, "raises_to": "emergency",
                 "group": "hazard"},
            ]
        },
        "understanding.yaml",
    )  # fmt: skip
    gas = score_urgency("煤气味，请马上来", config=config)
    assert (gas.score, [r.code for r in gas.reasons]) == (10, ["gas_leak"])
    assert score_urgency("家里气罐漏了", config=config).score == 10
    stove = score_urgency("屋里烧煤炉，老人头晕", config=config)
    assert (stove.score, stove.urgency) == (55, "emergency")  # and vulnerable needs hazard
    assert score_urgency("煤气味，请马上来").score == 50  # the defaults are untouched


# ----------------------------------------------------------------- the fast matcher
def test_the_fast_matcher_finds_what_each_pattern_finds_alone() -> None:
    config = default_config()
    matcher = matcher_for(config)
    texts = [c[1] for c in CASES] + [c[2] for c in CASES]
    for text in texts:
        folded = text.lower()
        fast = {owner for owner, _, _ in matcher.patterns.finditer(folded)}
        slow = set()
        for i, signal in enumerate(matcher.signals):
            single = PatternSet(
                [(0, keyword_alternative(k)) for k in signal.keywords]
                + [(0, a) for rx in signal.regex for a in regex_alternatives(rx)]
            )
            if any(True for _ in single.finditer(folded)):
                slow.add(i)
            plain = [re.escape(k) for k in signal.keywords if not k.isascii()] + list(signal.regex)
            if any(re.search(p, folded) for p in plain):
                assert i in fast, (signal.code, text)
        assert fast == slow, text


def test_the_matcher_is_built_once_per_configuration() -> None:
    assert matcher_for(default_config()) is matcher_for(default_config())
