"""The weak tone signal: angry words, escalation threats, exclamation runs and politeness."""

from __future__ import annotations

import json

from jiesu.nlp.sentiment import score_sentiment


def kinds(text: str) -> list[str]:
    return [c.kind for c in score_sentiment(text).reasons]


def test_an_angry_text_with_threats_scores_negative_and_angry() -> None:
    result = score_sentiment("你们就是在踢皮球！！！再不解决我就找媒体曝光，还要去上访")
    assert result.score < -0.5 and result.anger > 0.5
    assert kinds("你们就是在踢皮球！！！再不解决我就找媒体曝光，还要去上访") == [
        "anger", "exclaim", "escalation", "escalation", "escalation",
    ]  # fmt: skip


def test_a_polite_text_scores_positive_without_anger() -> None:
    result = score_sentiment("您好，麻烦您帮忙看一下路灯的问题，谢谢")
    assert result.score > 0 and result.anger == 0


def test_a_plain_text_is_neutral() -> None:
    result = score_sentiment("小区门口的路灯不亮了")
    assert (result.score, result.anger, result.reasons) == (0.0, 0.0, [])


def test_politeness_lowers_anger() -> None:
    blunt = score_sentiment("太过分了，你们不作为")
    polite = score_sentiment("您好，太过分了，你们不作为，麻烦您尽快处理，谢谢")
    assert 0 < polite.anger < blunt.anger


def test_the_longest_word_counts_once() -> None:
    result = score_sentiment("我对处理结果不满意")
    assert [(c.kind, c.text) for c in result.reasons] == [("negative", "不满意")]
    assert score_sentiment("我对处理结果非常满意").score > 0


def test_asking_for_a_satisfying_answer_is_not_praise() -> None:
    assert score_sentiment("希望给一个满意的答复，请及时处理").score == 0


def test_exclamation_runs_grow_with_their_length_up_to_a_cap() -> None:
    points = [score_sentiment("快修" + "！" * n).reasons for n in (1, 2, 4, 12)]
    assert points[0] == []
    assert [p[0].points for p in points[1:]] == [-0.5, -1.5, -2.0]


def test_english() -> None:
    angry = score_sentiment("This is outrageous!! I will go to the media")
    assert angry.anger > 0.5 and "escalation" in kinds("I will go to the media")
    assert score_sentiment("Thank you, great job fixing the light").score > 0


def test_result_is_plain_json_and_bounded() -> None:
    result = score_sentiment("岂有此理！！！" * 30)
    assert -1 < result.score < 0 and 0 < result.anger < 1
    data = result.as_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
