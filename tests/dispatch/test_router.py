"""The learned unit router and its CLI, on small synthetic histories built here."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from jiesu.dispatch.cli_router import router_app
from jiesu.dispatch.router import (
    RouteExample,
    RouterParams,
    UnitRouter,
    relabel_units,
    resolve_aliases,
)
from jiesu.dispatch.router_fit import capped_sample
from jiesu.dispatch.router_history import HistoryPrior, path_prefixes
from jiesu.errors import BadInput
from jiesu.nlp.evaluate import metrics

runner = CliRunner()
Data = tuple[list[RouteExample], list[str], list[RouteExample], list[str]]

# The same few complaints in every street; who handles them depends on category and place.
PHRASES = {
    "城乡建设/市政管理/路灯": ("路灯不亮", "路灯坏了", "晚上路灯不亮了"),
    "环境保护/噪音": ("工地噪音扰民", "夜间施工噪音", "噪音太大睡不着"),
    "交通运输/停车": ("小区门口乱停车", "车辆占道停放", "停车难"),
}
AREAS = ("东城区/东华门街道", "东城区/景山街道", "西城区/金融街街道", "西城区/月坛街道")
TAILS = ("，请尽快处理", "，已经好几天了", "。", "，谢谢", "，希望有人管管")


def unit_of(category: str, area: str) -> str:
    district, street = area.split("/")
    if category.startswith("城乡建设"):
        return "城管委"  # one city bureau, wherever it is
    if category.startswith("环境保护"):
        return street  # the street office
    return f"{district}交通支队"  # the district's traffic police


def history(n: int, seed: int) -> tuple[list[RouteExample], list[str]]:
    rng = random.Random(seed)
    examples, units = [], []
    for _ in range(n):
        category, area = rng.choice(list(PHRASES)), rng.choice(AREAS)
        text = rng.choice(PHRASES[category]) + rng.choice(TAILS)
        examples.append(RouteExample(text, category, area))
        units.append(unit_of(category, area))
    return examples, units


@pytest.fixture(scope="module")
def data() -> Data:
    train, train_units = history(300, seed=0)
    test, test_units = history(150, seed=1)
    return train, train_units, test, test_units


@pytest.fixture(scope="module")
def router(data: Data) -> UnitRouter:
    return UnitRouter().fit(data[0], data[1])


def test_category_and_area_beat_text_alone(
    data: Data,
    router: UnitRouter,
) -> None:
    train, train_units, test, test_units = data
    text_only = UnitRouter(params=RouterParams(prior=False)).fit(train, train_units)
    alone = metrics(test_units, text_only.predict_top(test, k=3))["accuracy"]
    both = metrics(test_units, router.predict_top(test, k=3))["accuracy"]
    # The text names the problem but never the street: the noise and parking cases are guesses.
    assert alone < 0.8
    assert both > 0.95
    assert router.weights[1] + router.weights[2] > 0.5
    tokens = UnitRouter(params=RouterParams(prior=False, tokens=True)).fit(train, train_units)
    assert metrics(test_units, tokens.predict_top(test, k=3))["accuracy"] > alone


def test_probabilities_are_ranked_and_sum_to_one(router: UnitRouter) -> None:
    top = router.predict_top(
        [RouteExample("夜间施工噪音", "环境保护/噪音", "西城区/月坛街道")], k=3
    )
    assert top[0][0][0] == "月坛街道"
    assert [p for _, p in top[0]] == sorted((p for _, p in top[0]), reverse=True)
    full = router.predict_proba([RouteExample("停车难", None, None)])
    assert full.shape == (1, len(router.units))
    assert abs(float(full.sum()) - 1.0) < 1e-9


def test_history_backs_off_to_coarser_area_and_category() -> None:
    examples = [RouteExample("x", "A/a1", "D1/S1")] * 8 + [RouteExample("x", "B", "D2/S2")] * 8
    y = np.array([0] * 8 + [1] * 8)
    prior = HistoryPrior.count(examples, y, 2, alpha=1.0)
    # A street never seen: the district's history decides; a new leaf: its parent's.
    joint, _ = prior.log_proba([RouteExample("x", "A/a1", "D1/S9"), RouteExample("x", "A/a7")])
    assert (joint.argmax(axis=1) == 0).all()
    _, area = prior.log_proba([RouteExample("x", "B", "D1/S1")])
    assert area.argmax() == 0  # the area alone points to where unit 0 works
    unknown, _ = prior.log_proba([RouteExample("x", "Z", "Q")])
    assert np.allclose(np.exp(unknown), 0.5)  # nothing known: the overall shares
    assert path_prefixes(" a / b /c ") == ["a", "a/b", "a/b/c"]
    assert path_prefixes(None) == []


def test_text_model_reads_a_capped_sample_keeping_rare_units() -> None:
    y = np.array([0] * 900 + [1] * 90 + [2] * 3)
    rows = capped_sample(np.arange(len(y)), y, cap=100, minimum=20)
    assert np.bincount(y[rows]).tolist() == [91, 20, 3]
    assert capped_sample(rows, y, None, 20) is rows


def test_text_model_reads_each_text_and_unit_pair_at_most_max_copies_times(
    data: Data,
) -> None:
    train, train_units, test, test_units = data
    pairs = len(set(zip((ex.text for ex in train), train_units, strict=True)))
    router = UnitRouter(params=RouterParams(max_copies=1)).fit(train, train_units)
    assert router.metadata["text_rows"] == pairs < len(train)
    assert metrics(test_units, router.predict_top(test))["accuracy"] > 0.95


def test_save_load_gives_identical_predictions(
    data: Data,
    router: UnitRouter,
    tmp_path: Path,
) -> None:
    router.save(tmp_path / "r")
    names = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert names == ["prior.npz", "router.json", "text"]
    loaded = UnitRouter.load(tmp_path / "r")
    assert loaded.predict_top(data[2], k=3) == router.predict_top(data[2], k=3)
    assert loaded.weights == router.weights
    doc = json.loads((tmp_path / "r" / "router.json").read_text(encoding="utf-8"))
    assert doc["metadata"]["n"] == 300


def test_load_refuses_what_is_not_a_router(router: UnitRouter, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not a directory"):
        UnitRouter.load(tmp_path / "missing")
    with pytest.raises(BadInput, match=r"no router\.json"):
        UnitRouter.load(tmp_path)
    router.save(tmp_path / "r")
    doc = json.loads((tmp_path / "r" / "router.json").read_text(encoding="utf-8"))
    (tmp_path / "r" / "router.json").write_text(json.dumps({**doc, "format": "x/9"}))
    with pytest.raises(BadInput, match="not a jiesu-unit-router/1"):
        UnitRouter.load(tmp_path / "r")
    (tmp_path / "r" / "router.json").write_text(json.dumps({**doc, "units": ["a", "b"]}))
    with pytest.raises(BadInput, match="do not match"):
        UnitRouter.load(tmp_path / "r")
    (tmp_path / "r" / "router.json").write_text(json.dumps(doc))
    (tmp_path / "r" / "prior.npz").unlink()
    with pytest.raises(BadInput, match=r"no prior\.npz"):
        UnitRouter.load(tmp_path / "r")


def test_relabel_units_follows_chains_and_refuses_circles() -> None:
    aliases = {"老城管": "城管局", "城管局": "城管委"}
    assert relabel_units(["老城管", "城管局", "月坛街道"], aliases) == [
        "城管委",
        "城管委",
        "月坛街道",
    ]
    assert resolve_aliases({"a": "a"}) == {}
    with pytest.raises(BadInput, match="circle"):
        resolve_aliases({"a": "b", "b": "a"})


def test_router_relabel_merges_renamed_units(data: Data, tmp_path: Path) -> None:
    router = UnitRouter().fit(data[0], data[1])
    example = [RouteExample("小区门口乱停车", "交通运输/停车", "东城区/景山街道")]
    before = dict(router.predict_top(example, k=len(router.units))[0])
    # The two districts' traffic police merged into one city brigade.
    router.relabel({"东城区交通支队": "交通支队", "西城区交通支队": "交通支队"})
    after = dict(router.predict_top(example, k=len(router.units))[0])
    assert "东城区交通支队" not in after
    assert after["交通支队"] == pytest.approx(before["东城区交通支队"] + before["西城区交通支队"])
    router.save(tmp_path / "r")
    assert UnitRouter.load(tmp_path / "r").predict_top(example) == router.predict_top(example)


def test_fields_and_tokens_round_trip(data: Data, tmp_path: Path) -> None:
    train = [
        RouteExample((str(ex.text), "详情：" + str(ex.text)), ex.category, ex.area)
        for ex in data[0]
    ]
    router = UnitRouter(params=RouterParams(tokens=True)).fit(train, data[1])
    router.save(tmp_path / "r")
    loaded = UnitRouter.load(tmp_path / "r")
    assert loaded.params.tokens
    assert loaded.predict_top(train[:20]) == router.predict_top(train[:20])


def test_fit_refuses_bad_input() -> None:
    with pytest.raises(BadInput, match="two units"):
        UnitRouter().fit([RouteExample("a"), RouteExample("b")], ["x", "x"])
    with pytest.raises(BadInput, match="2 examples but 1 units"):
        UnitRouter().fit([RouteExample("a"), RouteExample("b")], ["x"])
    with pytest.raises(BadInput, match="not trained"):
        UnitRouter().predict_top([RouteExample("a")])


# -- the CLI ------------------------------------------------------------------------------------

COLS = [
    "--text-col",
    "内容",
    "--category-col",
    "类别",
    "--area-col",
    "区域",
    "--label-col",
    "承办单位",
]


@pytest.fixture(scope="module")
def history_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    examples, units = history(300, seed=2)
    path = tmp_path_factory.mktemp("router") / "history.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["编号", "内容", "类别", "区域", "承办单位", "时间"])
        for i, (ex, unit) in enumerate(zip(examples, units, strict=True)):
            when = f"2024/{1 + i // 30}/{1 + i % 28} 9:{i % 60:02d}:00"
            out.writerow([i, ex.text, ex.category, ex.area, unit, when])
    return path


def test_cli_train_then_eval_saved_model(history_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "router"
    result = runner.invoke(
        router_app, ["train", "--data", str(history_csv), *COLS, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "router.json").read_text(encoding="utf-8"))
    assert doc["metadata"]["label_col"] == "承办单位"
    assert len(doc["metadata"]["data_sha256"]) == 64
    result = runner.invoke(
        router_app, ["eval", "--data", str(history_csv), *COLS, "--model", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    keys = {"n", "top1_accuracy", "top3_accuracy", "macro_f1", "accuracy", "per_class", "split"}
    assert keys <= set(figures)
    assert figures["top1_accuracy"] == figures["accuracy"] > 0.95
    assert set(next(iter(figures["per_class"].values()))) == {
        "precision",
        "recall",
        "f1",
        "support",
    }
    result = runner.invoke(
        router_app, ["eval", "--data", str(history_csv), *COLS, "--model", str(out)]
    )
    assert result.exit_code == 0
    assert "top1=" in result.stdout


def test_cli_eval_holdouts_and_baseline(history_csv: Path) -> None:
    result = runner.invoke(
        router_app, ["eval", "--data", str(history_csv), *COLS, "--time-col", "时间", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["split"] == "time"
    assert figures["n"] == 60 and figures["train_n"] == 240
    assert "time holdout" in result.stderr
    assert figures["top1_accuracy"] > figures["baseline"]["top1_accuracy"]
    options = ["--json", "--max-copies", "1", "--max-text-rows", "100"]
    result = runner.invoke(router_app, ["eval", "--data", str(history_csv), *COLS, *options])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["split"] == "stratified"
    assert figures["text_rows"] <= 100 < figures["train_n"]


def test_cli_cv_and_aliases(history_csv: Path, tmp_path: Path) -> None:
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("alias,unit\n东城区交通支队,交通支队\n西城区交通支队,交通支队\n", "utf-8")
    result = runner.invoke(
        router_app,
        [
            "cv",
            "--data",
            str(history_csv),
            *COLS,
            "--folds",
            "3",
            "--aliases",
            str(aliases),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["folds"] == 3 and len(figures["fold_macro_f1"]) == 3
    assert "交通支队" in figures["per_class"] and "东城区交通支队" not in figures["per_class"]
    assert figures["top1_accuracy"] > 0.95
    assert "fold 1/3" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label-col", "单位"], "--label-col: no column 单位"),
        (["--area-col", "街道"], "--area-col: no column 街道"),
        (["--time-col", "日期"], "--time-col: no column 日期"),
        (["--model", "/nonexistent/router"], "--model: /nonexistent/router is not a directory"),
        (["--aliases", "ALIASES"], "--aliases: aliases.csv needs columns alias,unit; have: old"),
        (["--time-col", "编号"], "--time-col: only 0 rows have a readable time"),
    ],
)
def test_cli_bad_input_exit_1_without_traceback(
    history_csv: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "aliases.csv").write_text("old,new\na,b\n", encoding="utf-8")
    args = [str(tmp_path / "aliases.csv") if a == "ALIASES" else a for a in args]
    result = runner.invoke(router_app, ["eval", "--data", str(history_csv), *COLS, *args])
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_cli_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("内容,类别,区域,承办单位\n", encoding="utf-8")
    for data, message in ((empty, "has no rows"), (tmp_path / "no.csv", "does not exist")):
        result = runner.invoke(router_app, ["train", "--data", str(data), *COLS, "--out", "x"])
        assert result.exit_code == 1
        assert message in result.stderr
