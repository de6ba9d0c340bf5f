"""Reply quality: relevance, concreteness, templates, courtesy, length, and the ``replies``
command. Requests and replies are written for these tests in the style of a city hotline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiesu.nlp.cli_replies import app
from jiesu.nlp.replies import (
    WEIGHTS,
    TemplateMemory,
    key_terms,
    score_reply,
    strip_echo,
    template_text,
)

REQUEST = (
    "望京西园三区路灯坏了\n"
    "望京西园三区12号楼东侧路灯坏了一个多星期，晚上漆黑一片，老人孩子出行很不安全，希望尽快维修。"
)
CONCRETE = (
    "您好！关于您反映的“望京西园三区路灯坏了”的问题，我街道城管科于11月3日到现场核查，确认望京西园"
    "三区12号楼东侧路灯因线路老化损坏，已协调路灯管理所于11月5日更换线路并恢复照明。如仍有问题，"
    "请联系城管科，电话010-64001234。感谢您对我们工作的支持！"
)
# Quotes the request's subject but says nothing about it: a reply that fits any request.
GENERIC = (
    "您好！关于您反映的“望京西园三区路灯坏了”的问题已收悉，我们高度重视，将按照相关规定认真研究处理。"
    "感谢您对我们工作的理解与支持！"
)
NOISE_REQUEST = "底商烧烤店夜间扰民\n交道口南大街18号底商烧烤店每天营业到凌晨两点，油烟和噪音扰民。"
NOISE_REPLY = (
    "您好！接到您的反映后，交道口街道执法队于6月2日晚到交道口南大街18号现场检查，烧烤店确有夜间"
    "超时经营、油烟直排问题，已责令其晚十点前停止户外经营并于6月10日前安装油烟净化设备，"
    "我们将每周复查。感谢您的监督！"
)


def test_a_concrete_relevant_reply_beats_a_generic_one() -> None:
    good = score_reply(REQUEST, CONCRETE)
    generic = score_reply(REQUEST, GENERIC)
    assert good.overall >= 80 > 40 >= generic.overall
    assert good.relevance.score > 0.8 and generic.relevance.score < 0.25
    assert good.concreteness.score > 0.7 and generic.concreteness.score < 0.2
    assert any(r.startswith("mentions ") and "望京西园三区" in r for r in good.relevance.reasons)
    assert "does not address the request" in generic.flags
    assert "no concrete action or time" in generic.flags
    assert good.flags == ()


def test_quoting_the_subject_is_not_answering_it() -> None:
    stripped = strip_echo(GENERIC, "望京西园三区路灯坏了")
    assert "望京西园三区" not in stripped
    # A quotation of something else (a document title) stays.
    assert "《路灯管理办法》" in strip_echo("依据《路灯管理办法》“第三条”", "路灯坏了")


def test_key_terms_prefer_places_and_objects() -> None:
    words = [t.word for t in key_terms(REQUEST)]
    assert words[0] == "望京西园三区"  # a place in the subject line weighs most
    assert "路灯" in words
    assert not {"希望", "老人", "孩子", "尽快"} & set(words)


def test_concreteness_names_what_was_done_and_when() -> None:
    q = score_reply(NOISE_REQUEST, NOISE_REPLY)
    reasons = " ".join(q.concreteness.reasons)
    assert "action:" in reasons and "现场" in reasons and "责令" in reasons
    assert "date: 6月2日" in reasons and "deadline:" in reasons
    assert "office:" in reasons
    # The sign-off date is when the reply was written, not something done.
    signed = score_reply(NOISE_REQUEST, "您好，已收悉，我们会关注。2019年6月1日")
    assert not any(r.startswith("date") for r in signed.concreteness.reasons)


def test_forwarding_only_is_flagged() -> None:
    q = score_reply(NOISE_REQUEST, "您好！您反映的交道口南大街烧烤店扰民问题已转交道口街道办理。")
    assert "only passed on to another office" in q.flags
    assert q.concreteness.score == 0.0 and q.relevance.score <= 0.2


def test_copy_of_an_earlier_reply_is_detected_despite_new_names_and_dates() -> None:
    earlier = {
        "T-001": GENERIC.replace("望京西园三区路灯坏了", "和平里北街井盖丢失"),
        "T-002": NOISE_REPLY,
    }
    copied = GENERIC.replace("您好！", "张先生您好！") + "2026年11月4日"
    q = score_reply(REQUEST, copied, earlier_replies=earlier)
    assert q.closest == "T-001" and q.closest_similarity >= 0.8
    assert any(f.startswith("copy of an earlier reply") and "T-001" in f for f in q.flags)
    assert q.template.score < 0.5
    # An original answer is not a copy of anything.
    fresh = score_reply(REQUEST, CONCRETE, earlier_replies=earlier)
    assert fresh.template.score == 1.0 and fresh.closest is None


def test_same_answer_to_a_repeated_request_is_not_a_copy() -> None:
    memory = TemplateMemory()
    memory.add("T-001", CONCRETE, request=REQUEST)
    match = memory.closest(CONCRETE, request=REQUEST.replace("一个多星期", "十来天"))
    assert match is not None and match.duplicate_request
    other = memory.closest(CONCRETE, request=NOISE_REQUEST)
    assert other is not None and not other.duplicate_request
    # The same through score_reply, when the earlier requests are given.
    again = score_reply(
        REQUEST,
        CONCRETE,
        earlier_replies={"T-001": CONCRETE},
        earlier_requests={"T-001": REQUEST.replace("一个多星期", "十来天")},
    )
    assert again.template.score == 1.0
    assert not any(f.startswith("copy") for f in again.flags)
    assert any(
        f.startswith("copy")
        for f in score_reply(REQUEST, CONCRETE, earlier_replies=[CONCRETE]).flags
    )


def test_template_text_masks_names_and_digits() -> None:
    a = template_text("网友“UU0081234”您好！2019年5月9日已处理。")
    b = template_text("网友“UU0099999”您好！2020年12月1日已处理。")
    assert a == b


def test_short_reply_is_flagged() -> None:
    q = score_reply(REQUEST, "已收悉")
    assert "too short" in q.flags
    assert q.length.score < 0.1
    assert q.overall < 20


def test_courtesy_and_blame() -> None:
    polite = score_reply(REQUEST, CONCRETE)
    assert polite.courtesy.score >= 0.9
    assert {"greeting", "thanks"} <= set(polite.courtesy.reasons)
    curt = score_reply(
        REQUEST, CONCRETE.replace("您好！", "").replace("感谢您对我们工作的支持！", "")
    )
    assert curt.courtesy.score < polite.courtesy.score
    blaming = score_reply(REQUEST, CONCRETE + "请勿再重复投诉。")
    assert blaming.courtesy.score == 0.0
    assert "blames the citizen" in blaming.flags


def test_overall_is_the_weighted_sum() -> None:
    q = score_reply(NOISE_REQUEST, NOISE_REPLY)
    expected = 100 * sum(w * q.components()[name].score for name, w in WEIGHTS.items())
    assert q.overall == round(expected)
    doc = q.as_dict()
    assert set(WEIGHTS) <= set(doc) and doc["overall"] == q.overall


# --------------------------------------------------------------------------- command

runner = CliRunner()
HEADER = ["编号", "主题", "详情", "单位", "答复", "答复时间"]


def _rows() -> list[list[str]]:
    subject, body = REQUEST.split("\n")
    noise_subject, noise_body = NOISE_REQUEST.split("\n")
    well = GENERIC.replace("望京西园三区路灯坏了", "和平里北街井盖丢失")
    return [
        [
            "1",
            "和平里北街井盖丢失",
            "和平里北街3号门前井盖丢失。",
            "东华门街道",
            well,
            "2019/6/1 9:00",
        ],
        ["2", noise_subject, noise_body, "交道口街道", NOISE_REPLY, "2019/6/3 9:00"],
        ["3", subject, body, "东华门街道", GENERIC, "2019/6/4 9:00"],
        ["4", subject, body, "东华门街道", CONCRETE, "2019/6/5 9:00"],
        ["5", noise_subject, noise_body, "交道口街道", "已收悉", "2019/6/6 9:00"],
        ["6", noise_subject, noise_body, "交道口街道", "", "2019/6/7 9:00"],  # not answered
    ]


def _write(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


ARGS = ["--text-col", "主题", "--text-col", "详情", "--reply-col", "答复"]


def test_cli_json_with_units_and_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "replies.csv", _rows())
    args = ["--data", str(path), *ARGS, "--unit-col", "单位", "--time-col", "答复时间",
            "--key-col", "编号", "--json", "--rows"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["n"] == 5  # the unanswered row is skipped
    assert {"mean", "quantiles", "flag_counts", "component_means", "rows"} <= set(doc)
    assert set(doc["quantiles"]) == {"p10", "p25", "p50", "p75", "p90"}
    by_key = {r["key"]: r for r in doc["rows"]}
    # Row 3 copies the unit's reply to row 1 (another request): flagged, naming it.
    assert any("copy of an earlier reply" in f and "1)" in f for f in by_key["3"]["flags"])
    assert by_key["4"]["overall"] > by_key["3"]["overall"] > by_key["5"]["overall"]
    assert doc["flag_counts"]["copy of an earlier reply"] == 1
    assert doc["lowest"][0]["key"] == "5"
    assert "read 5 answered requests" in result.stderr


def test_cli_text_output(tmp_path: Path) -> None:
    path = _write(tmp_path / "replies.csv", _rows())
    result = runner.invoke(app, ["--data", str(path), *ARGS, "--worst", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("5 replies  mean ")
    assert "flags:" in result.stdout and "lowest scores:" in result.stdout
    assert "too short" in result.stdout


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("missing", ARGS, "does not exist"),
        ("ok", ["--text-col", "主题", "--reply-col", "回复"], "no column 回复"),
        ("ok", [*ARGS, "--unit-col", "部门"], "no column 部门"),
        ("gbk", [*ARGS, "--encoding", "utf-8"], "give --encoding"),
        ("header", ARGS, "has no rows"),
        ("noreply", ARGS, "all 2 rows have an empty text or 答复"),
        ("ok", ["--text-col", "主题"], None),  # --reply-col is required: usage error
    ],
)
def test_cli_bad_input_exits_without_traceback(
    tmp_path: Path, setup: str, args: list[str], message: str | None
) -> None:
    path = tmp_path / "replies.csv"
    if setup == "ok":
        _write(path, _rows())
    elif setup == "gbk":
        _write(path, _rows(), encoding="gb18030")
    elif setup == "header":
        _write(path, [])
    elif setup == "noreply":
        _write(path, [[r[0], r[1], r[2], r[3], "", r[5]] for r in _rows()[:2]])
    result = runner.invoke(app, ["--data", str(path), *args])
    assert "Traceback" not in result.output
    if message is None:
        assert result.exit_code == 2
        return
    assert result.exit_code == 1, result.output
    assert "error: " in result.stderr and message in result.stderr
