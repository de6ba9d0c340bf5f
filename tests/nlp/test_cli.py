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


def test_wrong_encoding_and_foreign_script_are_refused(
    tmp_path: Path, csv_writer: Any, dataset: Any, labelled_csv: Path
) -> None:
    titles, texts, labels = dataset
    rows = list(zip(titles[:50], texts[:50], labels[:50], strict=True))
    path = csv_writer.write(tmp_path / "u8.csv", ["主题", "详情", "一级分类"], rows)
    # A UTF-8 file read as Latin-1 decodes without error but is gibberish.
    forced = ["--encoding", "latin-1"]
    wrong = runner.invoke(app, ["cv", "--data", str(path), *COLS, *forced])
    assert wrong.exit_code == 1 and "no column 主题" in wrong.stderr
    assert "looks mis-decoded: give its encoding with --encoding" in wrong.stderr
    ascii_header = csv_writer.write(tmp_path / "a.csv", ["title", "text", "label"], rows)
    ascii_cols = ["--text-col", "title", "--text-col", "text", "--label-col", "label"]
    wrong = runner.invoke(app, ["cv", "--data", str(ascii_header), *ascii_cols, *forced])
    assert wrong.exit_code == 1 and "50 of 50 texts look mis-decoded" in wrong.stderr
    assert "Traceback" not in wrong.output
    russian = csv_writer.write(
        tmp_path / "ru.csv",
        ["主题", "详情", "一级分类"],
        [("Шум", f"Шумно ночью {i}", "A" if i % 2 else "B") for i in range(20)],
    )
    foreign = runner.invoke(
        app, ["train", "--data", str(russian), *COLS, "--out", str(tmp_path / "r")]
    )
    assert foreign.exit_code == 1 and "20 of 20 texts are in Cyrillic" in foreign.stderr
    model = tmp_path / "zh"
    assert (
        runner.invoke(
            app, ["train", "--data", str(labelled_csv), *COLS, "--out", str(model)]
        ).exit_code
        == 0
    )
    english = csv_writer.write(
        tmp_path / "en.csv",
        ["主题", "详情", "一级分类"],
        [("Noise", f"Loud music at night {i}", "城乡建设") for i in range(20)],
    )
    mismatch = runner.invoke(app, ["eval", "--model", str(model), "--data", str(english), *COLS])
    assert mismatch.exit_code == 1
    assert "trained on Chinese text but this file is mostly Latin-script" in mismatch.stderr
