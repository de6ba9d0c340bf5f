from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jiesu.nlp.cli import app

runner = CliRunner()
COLS = ["--text-col", "主题", "--text-col", "详情", "--label-col", "一级分类"]
SHARED = Path(os.environ.get("JIESU_SHARED", "/work/shared")) / "data" / "messages_labeled_495.csv"


def test_train_then_eval(labelled_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = runner.invoke(app, ["train", "--data", str(labelled_csv), *COLS, "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert doc["metadata"]["n"] == 200
    assert len(doc["metadata"]["data_sha256"]) == 64
    assert doc["metadata"]["text_cols"] == ["主题", "详情"]
    assert doc["params"]["subject"] is True

    result = runner.invoke(
        app, ["eval", "--model", str(out), "--data", str(labelled_csv), *COLS, "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["n"] == 200
    assert figures["accuracy"] > 0.9

    result = runner.invoke(app, ["eval", "--model", str(out), "--data", str(labelled_csv), *COLS])
    assert result.exit_code == 0
    assert "macro_f1=" in result.stdout


def test_cv_json(labelled_csv: Path) -> None:
    result = runner.invoke(
        app, ["cv", "--data", str(labelled_csv), *COLS, "--folds", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["folds"] == 3
    assert {"n", "accuracy", "macro_f1", "top3_accuracy", "per_class", "seconds"} <= set(figures)
    # Progress goes to stderr, never into the JSON.
    assert "fold 1/3" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text-col", "标题", "--label-col", "一级分类"], "no column 标题"),
        (["--text-col", "主题", "--label-col", "类别"], "no column 类别"),
    ],
)
def test_bad_columns_exit_1_without_traceback(
    labelled_csv: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["cv", "--data", str(labelled_csv), *args])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_missing_file_and_model(tmp_path: Path, labelled_csv: Path) -> None:
    result = runner.invoke(app, ["cv", "--data", str(tmp_path / "nope.csv"), *COLS])
    assert result.exit_code == 1
    assert "does not exist" in result.stderr
    result = runner.invoke(
        app, ["eval", "--model", str(tmp_path), "--data", str(labelled_csv), *COLS]
    )
    assert result.exit_code == 1
    assert "no model.json" in result.stderr


def test_too_many_folds(tmp_path: Path, csv_writer: Any) -> None:
    rows = [["暖气不热", "", "a"], ["暖气坏了", "", "a"], ["油烟", "", "b"], ["油烟大", "", "b"]]
    path = csv_writer.write(tmp_path / "s.csv", ["主题", "详情", "一级分类"], rows)
    result = runner.invoke(app, ["cv", "--data", str(path), *COLS, "--folds", "5"])
    assert result.exit_code == 1
    assert "--folds 2" in result.stderr


def test_usage_errors_exit_2(labelled_csv: Path) -> None:
    result = runner.invoke(app, ["cv", "--data", str(labelled_csv), "--folds", "1", *COLS])
    assert result.exit_code == 2
    result = runner.invoke(app, ["train", "--data", str(labelled_csv)])
    assert result.exit_code == 2


@pytest.mark.skipif(
    not SHARED.exists(), reason=f"shared labelled messages not available ({SHARED})"
)
def test_shared_messages_cv_smoke() -> None:
    result = runner.invoke(
        app,
        [
            "cv",
            "--data",
            str(SHARED),
            "--text-col",
            "留言主题",
            "--text-col",
            "留言详情",
            "--label-col",
            "一级分类",
            "--folds",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["n"] == 495
    assert figures["macro_f1"] > 0.6


def test_train_on_gb18030(tmp_path: Path, csv_writer: Any, dataset: Any) -> None:
    titles, texts, labels = dataset
    path = csv_writer.write(
        tmp_path / "gbk.csv",
        ["主题", "详情", "一级分类"],
        list(zip(titles[:50], texts[:50], labels[:50], strict=True)),
        encoding="gb18030",
    )
    result = runner.invoke(app, ["train", "--data", str(path), *COLS, "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "saved 5 classes" in result.stderr
