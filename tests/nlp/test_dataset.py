from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jiesu.errors import BadInput
from jiesu.nlp.dataset import load_labelled

HEADER = ["主题", "详情", "一级分类"]
ROWS = [
    ["暖气不热", "家里暖气一直不热", "城乡建设"],
    ["油烟扰民", "楼下饭店油烟很大", "环境保护"],
    ["", "", "环境保护"],
    ["拖欠工资", "", "劳动和社会保障"],
]


def test_joins_text_columns_and_skips_empty_rows(tmp_path: Path, csv_writer: Any) -> None:
    path = csv_writer.write(tmp_path / "a.csv", HEADER, ROWS)
    ds = load_labelled(path, ["主题", "详情"], "一级分类")
    assert ds.texts == ["暖气不热\n家里暖气一直不热", "油烟扰民\n楼下饭店油烟很大", "拖欠工资"]
    assert ds.labels == ["城乡建设", "环境保护", "劳动和社会保障"]
    assert ds.skipped == 1
    assert ds.fields == [
        ("暖气不热", "家里暖气一直不热"),
        ("油烟扰民", "楼下饭店油烟很大"),
        ("拖欠工资", ""),
    ]
    assert len(ds.fingerprint) == 64


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_reads_common_encodings(tmp_path: Path, csv_writer: Any, encoding: str) -> None:
    path = csv_writer.write(tmp_path / "a.csv", HEADER, ROWS, encoding=encoding)
    ds = load_labelled(path, ["主题"], "一级分类")
    assert ds.labels[0] == "城乡建设"
    assert ds.texts[0] == "暖气不热"


def test_missing_column_lists_available(tmp_path: Path, csv_writer: Any) -> None:
    path = csv_writer.write(tmp_path / "a.csv", HEADER, ROWS)
    with pytest.raises(BadInput, match=r"no column 标题.*have: 主题, 详情, 一级分类"):
        load_labelled(path, ["标题"], "一级分类")


def test_no_rows(tmp_path: Path, csv_writer: Any) -> None:
    path = csv_writer.write(tmp_path / "a.csv", HEADER, [])
    with pytest.raises(BadInput, match="no rows"):
        load_labelled(path, ["主题"], "一级分类")


def test_all_texts_empty(tmp_path: Path, csv_writer: Any) -> None:
    path = csv_writer.write(tmp_path / "a.csv", HEADER, [["", "", "a"], [" ", "", "b"]])
    with pytest.raises(BadInput, match="all texts are empty") as info:
        load_labelled(path, ["主题", "详情"], "一级分类")
    assert info.value.fields[0]["field"] == "text-col"


def test_one_class(tmp_path: Path, csv_writer: Any) -> None:
    rows = [["暖气不热", "", "城乡建设"], ["路灯不亮", "", "城乡建设"]]
    path = csv_writer.write(tmp_path / "a.csv", HEADER, rows)
    with pytest.raises(BadInput, match="1 class"):
        load_labelled(path, ["主题"], "一级分类")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        load_labelled(tmp_path / "nope.csv", ["主题"], "一级分类")


def test_reads_jsonl_and_xlsx(tmp_path: Path) -> None:
    import json

    from openpyxl import Workbook

    records = [dict(zip(HEADER, row, strict=True)) for row in ROWS]
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8"
    )
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    xlsx = tmp_path / "a.xlsx"
    book.save(xlsx)
    for path in (jsonl, xlsx):
        ds = load_labelled(path, ["主题", "详情"], "一级分类")
        assert ds.labels == ["城乡建设", "环境保护", "劳动和社会保障"]
