"""`jiesu kb eval` and `jiesu kb bench`: the metrics are computed right on a file made here,
and the real labelled set (from the shared data, when present) stays above its floor."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from jiesu.kb.bench import bench
from jiesu.kb.evaluate import evaluate, own_set, read_messages, repeat_set, run

SHARED = Path(os.environ.get("JIESU_SHARED", "/work/shared")) / "data" / "messages_replies_2816.csv"
COLUMNS = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "答复意见", "答复时间"]
ROWS = [
    ("1", "小区暖气不热", "入冬以来家里暖气一直不热，室温只有十五度", "已联系热力公司上门检修暖气"),
    (
        "2",
        "小区暖气不热！",
        "暖气不热，老人孩子受冻，请尽快处理",
        "热力公司已调整供热管网，暖气恢复",
    ),
    ("3", "路灯坏了", "小区门口路灯坏了一个月，晚上很黑", "路灯管理所已更换灯泡"),
    ("4", "噪音扰民", "楼下工地夜里施工噪音很大", "城管已责令工地停止夜间施工"),
]


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "messages.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for mid, subject, text, reply in ROWS:
            w.writerow([mid, "u", subject, "2019/1/1 0:00:00", text, reply, "2019/1/2 0:00:00"])
    return path


def test_repeats_are_labelled_by_subject_and_their_own_reply_is_left_out(tmp_path: Path) -> None:
    messages = read_messages(_file(tmp_path))
    repeats = repeat_set(messages)
    # 小区暖气不热 and 小区暖气不热！ are the same subject once punctuation is dropped.
    assert {(i.question_id, tuple(i.relevant), i.excluded) for i in repeats} == {
        ("1", ("2",), "1"),
        ("2", ("1",), "2"),
    }
    report = evaluate("repeat", repeats, messages)
    assert report.questions == 2 and report.recall_at[5] == 1.0 and 0 < report.mrr <= 1.0
    own = evaluate("own", own_set(messages, 4, seed=1), messages)
    assert own.questions == 4 and own.recall_at[1] >= 0.75


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", "utf-8")
    with pytest.raises(ValueError, match="columns missing"):
        read_messages(bad)


@pytest.mark.skipif(not SHARED.exists(), reason=f"shared data missing: {SHARED}")
def test_recall_on_the_real_labelled_set_stays_above_its_floor() -> None:
    reports = {r.name: r for r in run(SHARED)}
    assert reports["repeat"].questions >= 99 and reports["own"].questions == 200
    assert reports["repeat"].recall_at[5] >= 0.9
    assert reports["own"].recall_at[5] >= 0.9
    # Words and bigrams together beat either alone on the known-item set.
    assert reports["own"].mrr > max(reports["own, words only"].mrr,
                                    reports["own, bigrams only"].mrr)  # fmt: skip


def test_the_bench_times_queries_over_a_synthetic_base() -> None:
    out = bench(articles=300, queries=20)
    assert out["articles"] == 300 and out["queries"] == 20
    assert 0 < out["ms_per_query_p50"] <= out["ms_per_query_p95"]
