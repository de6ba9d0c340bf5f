"""Hot issues: grouping by problem, place and time window; the heat index; titles; the CLI."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jiesu.analytics.cli_hotspots import hotspots_cmd
from jiesu.analytics.hotspots import (
    HotInput,
    HotSettings,
    extract_place,
    find_hot_issues,
    heat_of,
)

T0 = datetime(2019, 7, 1, 9, 30)

# Three callers about cooking fumes (油烟) under one estate, within days.
FUMES = [
    "A3区金桂园小区楼下餐馆油烟扰民\n金桂园小区1栋楼下的餐馆每天排放油烟，窗户都不敢开，"
    "请相关部门处理。",
    "金桂园小区餐馆油烟直排\nA3区金桂园小区底层餐馆油烟直排进居民家里，气味很大，老人孩子受不了。",
    "投诉A3区金桂园小区油烟污染\n小区楼下几家餐馆没有安装油烟净化器，油烟扰民严重，希望整治。",
]
# The same problem, worded alike, at another estate of the same district.
ELSEWHERE = [
    "A3区银杏苑小区楼下餐馆油烟扰民\n银杏苑小区2栋楼下的餐馆每天排放油烟，窗户都不敢开，"
    "请相关部门处理。",
    "银杏苑小区餐馆油烟直排\nA3区银杏苑小区底层餐馆油烟直排进居民家里，气味很大。",
]
# Unrelated requests, so that the corpus is not only about fumes.
OTHERS = [
    "A5区芙蓉路路灯不亮\n芙蓉路中段的路灯坏了一个月，晚上走路很危险。",
    "A市公交12路班次太少\n早高峰等车要半小时，建议增加班次。",
    "A2区东湖村自来水停水\n东湖村已经停水三天，没有任何通知。",
    "A4区望月湖学校门口交通拥堵\n放学时间学校门口车辆乱停，孩子过马路不安全。",
]


def record(i: int | str, text: str, at: datetime, **extra: object) -> HotInput:
    return HotInput(id=i, text=text, time=at, **extra)  # type: ignore[arg-type]


def corpus(fumes_at: list[datetime] | None = None) -> list[HotInput]:
    times = fumes_at or [T0 + timedelta(days=d) for d in (0, 2, 5)]
    out = [record(f"f{i}", t, at) for i, (t, at) in enumerate(zip(FUMES, times, strict=True))]
    out += [record(f"e{i}", t, T0 + timedelta(days=1 + i)) for i, t in enumerate(ELSEWHERE)]
    out += [record(f"o{i}", t, T0 + timedelta(days=i)) for i, t in enumerate(OTHERS)]
    return out


def group_of(result_ids: list[set[int | str]], member: str) -> set[int | str]:
    return next((g for g in result_ids if member in g), set())


def test_fumes_at_one_estate_within_days_form_one_group() -> None:
    result = find_hot_issues(corpus())
    groups = [set(g.ids) for g in result.groups]
    assert group_of(groups, "f0") == {"f0", "f1", "f2"}
    assert result.groups[0].size == 3


def test_same_problem_at_another_estate_does_not_join() -> None:
    groups = [set(g.ids) for g in find_hot_issues(corpus()).groups]
    fumes = group_of(groups, "f0")
    assert not fumes & {"e0", "e1"}
    # The other estate's two requests are a group of their own.
    assert group_of(groups, "e0") == {"e0", "e1"}


def test_same_place_months_apart_is_not_one_issue() -> None:
    months = [T0, T0 + timedelta(days=2), T0 + timedelta(days=120)]
    groups = [set(g.ids) for g in find_hot_issues(corpus(months)).groups]
    assert group_of(groups, "f0") == {"f0", "f1"}
    assert group_of(groups, "f2") == set()
    # A window wide enough takes the late request in again.
    wide = find_hot_issues(corpus(months), HotSettings(window_days=150))
    assert group_of([set(g.ids) for g in wide.groups], "f0") == {"f0", "f1", "f2"}


def test_unrelated_requests_are_not_grouped() -> None:
    grouped = {i for g in find_hot_issues(corpus()).groups for i in g.ids}
    assert not grouped & {f"o{i}" for i in range(len(OTHERS))}


def test_placeless_requests_join_only_when_nearly_the_same() -> None:
    repeat = (
        "网上办理居住证一个多月没有结果\n在网上申请居住证一个多月了还没有办下来，请问为什么这么慢？"
    )
    loose = "居住证可以在网上办理吗\n想问一下居住证需要什么材料，能不能在网上申请。"
    records = [
        *corpus(),
        record("p0", repeat, T0),
        record("p1", repeat.replace("请问", ""), T0 + timedelta(days=3)),
        record("p2", loose, T0 + timedelta(days=4)),
    ]
    groups = [set(g.ids) for g in find_hot_issues(records).groups]
    assert group_of(groups, "p0") == {"p0", "p1"}


def test_title_names_the_place_and_the_problem() -> None:
    fumes = next(g for g in find_hot_issues(corpus()).groups if "f0" in g.ids)
    assert "金桂园" in fumes.place
    assert "油烟" in fumes.phrases
    assert fumes.title.startswith(fumes.place) and "油烟" in fumes.title
    assert (fumes.first, fumes.last) == (T0, T0 + timedelta(days=5))


def test_place_is_read_from_the_subject_first() -> None:
    found = extract_place("投诉A5区魅力之城小区临街门面油烟直排\n家住劳动东路，楼下烧烤。")
    assert found.district == "a5区"
    assert found.sites == ("魅力之城",)
    assert extract_place("A7县海德公元15栋漏水").sites == ("海德公元",)


def test_given_place_keys_decide_over_the_text() -> None:
    texts = [FUMES[0], FUMES[0], FUMES[0]]
    records = [
        record(1, texts[0], T0, place_key="110101001"),
        record(2, texts[1], T0 + timedelta(days=1), place_key="110101001"),
        record(3, texts[2], T0 + timedelta(days=1), place_key="110105002"),
    ]
    groups = [set(g.ids) for g in find_hot_issues(records).groups]
    assert groups == [{1, 2}]


def members(n: int, *, likes: int = 0, days: list[float] | None = None) -> list[HotInput]:
    offsets = days or [float(d) for d in range(n)]
    return [
        record(i, "x", T0 + timedelta(days=d), likes=likes, caller=f"u{i}")
        for i, d in enumerate(offsets)
    ]


def heat(group: list[HotInput]) -> float:
    return heat_of(group, [m.time.timestamp() for m in group]).value


def test_heat_grows_with_callers_likes_growth_and_urgency() -> None:
    steady = [0.0, 5, 10, 15, 20, 25, 30, 35]
    base = heat(members(8, days=steady))
    assert base == pytest.approx(8.0)  # steady, no likes, no urgency: heat = callers
    assert heat(members(10, days=[*steady, 36, 37])) > base
    assert heat(members(8, likes=20, days=steady)) > base
    # Same size and span, but most requests in the last third of it: growing; or fading.
    assert heat(members(8, days=[0, 26, 28, 29, 30, 31, 33, 35])) > base
    assert heat(members(8, days=[0, 1, 2, 3, 4, 5, 6, 35])) < base
    urgent = [
        HotInput(m.id, m.text, m.time, urgency=1.0, caller=m.caller)
        for m in members(8, days=steady)
    ]
    assert heat(urgent) == pytest.approx(base * 1.5)


def test_one_caller_calling_again_counts_once() -> None:
    again = [record(i, "x", T0 + timedelta(days=i), caller="same") for i in range(3)]
    assert heat_of(again, [m.time.timestamp() for m in again]).callers == 1


def test_hotter_group_is_ranked_first() -> None:
    records = corpus()
    # The other estate's two requests get many likes, and two more callers join them.
    liked = [
        HotInput(r.id, r.text, r.time, likes=50, caller=str(r.id)) if str(r.id)[0] == "e" else r
        for r in records
    ]
    more = [
        record("e2", ELSEWHERE[0], T0 + timedelta(days=6), likes=10),
        record("e3", ELSEWHERE[1], T0 + timedelta(days=7), likes=10),
    ]
    result = find_hot_issues(liked + more)
    assert set(result.groups[0].ids) == {"e0", "e1", "e2", "e3"}
    assert result.groups[0].heat.value > result.groups[1].heat.value
    assert result.groups[0].heat.likes == 120


# ------------------------------------------------------------------------------ CLI
HEADER = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "点赞数"]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def board_rows() -> list[list[str]]:
    out: list[list[str]] = []
    for n, text in enumerate(FUMES + ELSEWHERE + OTHERS):
        subject, _, body = text.partition("\n")
        at = T0 + timedelta(days=n % 3, hours=n)
        likes = str(n + 1) if n < len(FUMES) else ""  # an empty cell counts 0
        out.append([str(1000 + n), f"U{n}", subject, f"{at:%Y/%-m/%-d %-H:%M:%S}", body, likes])
    return out


def run(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    app.command()(hotspots_cmd)
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


BOARD_ARGS = [
    "--text-col",
    "留言主题",
    "--text-col",
    "留言详情",
    "--time-col",
    "留言时间",
    "--id-col",
    "留言编号",
    "--likes-col",
    "点赞数",
    "--user-col",
    "留言用户",
]


def test_cli_prints_the_documented_json(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "board.csv", board_rows(), encoding="gb18030")
    code, out, _ = run("--data", str(data), *BOARD_ARGS, "--top", "5", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["n_records"] == len(FUMES + ELSEWHERE + OTHERS)
    assert doc["n_groups"] == 2
    assert {"n_records", "n_groups", "groups", "elapsed_s", "window_days"} <= doc.keys()
    top = doc["groups"][0]
    assert {"title", "span", "size", "heat", "components", "ids"} <= top.keys()
    assert set(top["ids"]) == {"1000", "1001", "1002"}
    assert top["components"]["likes"] == 1 + 2 + 3
    assert top["components"]["callers"] == 3
    assert top["span"]["first"] == "2019-07-01 09:30:00"
    assert "金桂园" in top["title"]


def test_cli_table_names_the_groups(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "board.csv", board_rows())
    code, out, _ = run("--data", str(data), *BOARD_ARGS)
    assert code == 0
    assert "#1 heat" in out and "金桂园" in out and "银杏苑" in out


def test_cli_missing_column_is_named(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "board.csv", board_rows())
    code, _, err = run("--data", str(data), "--text-col", "内容", "--time-col", "留言时间")
    assert code == 1
    assert "内容" in err and "留言主题" in err  # the missing one and what there is


def test_cli_unreadable_time_names_the_line(tmp_path: Path) -> None:
    rows = board_rows()
    rows[2][3] = "上周三"
    data = write_csv(tmp_path / "board.csv", rows)
    code, _, err = run("--data", str(data), *BOARD_ARGS)
    assert code == 1
    assert "line 4" in err and "上周三" in err


def test_cli_missing_file(tmp_path: Path) -> None:
    code, _, err = run("--data", str(tmp_path / "nope.csv"), *BOARD_ARGS)
    assert code == 1
    assert "nope.csv" in err
