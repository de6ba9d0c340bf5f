"""Flags need a difference that survives a test, not a group that merely looks low."""

from __future__ import annotations

from jiesu.algoaudit.groups import MIN_GROUP, Judged, breakdown, summarise


def _group(name: str, n: int, right: int) -> list[Judged]:
    return [Judged(i < right, 0.8, {"district": name}) for i in range(n)]


def test_a_group_served_measurably_worse_is_flagged_and_a_small_one_is_not() -> None:
    judged = (
        _group("A", 300, 270)  # 90 %
        + _group("B", 120, 72)  # 60 %: worse, and enough cases to say so
        + _group("C", MIN_GROUP - 1, 0)  # 0 % of 19: shown, never tested
        + _group("D", 60, 52)  # 87 %: within chance of A
    )
    rows = {r["group"]: r for r in breakdown(judged, "district", str)}
    assert rows["B"]["flag"] and rows["B"]["q_value"] < 0.05 and rows["B"]["difference"] < 0
    assert rows["C"]["p_value"] is None and not rows["C"]["flag"]
    assert not rows["A"]["flag"] and not rows["D"]["flag"]
    assert rows["B"]["ci"][0] < 0.6 < rows["B"]["ci"][1]
    summary = summarise(judged, {})
    assert [f["group"] for f in summary["flags"]] == ["B"]
    assert summary["overall"]["n"] == 300 + 120 + MIN_GROUP - 1 + 60
    assert summary["calibration"]["n"] == summary["overall"]["n"]
