"""Small synthetic Chinese datasets built in the test: no shared files, no downloads."""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from jiesu.demo.texts import CategoryRef, PlaceRef, compose_request

CATEGORIES: tuple[CategoryRef, ...] = (
    CategoryRef("010110", ("城乡建设", "城市建设和市政管理", "冬季采暖"), ("暖气不热", "供暖")),
    CategoryRef("020201", ("环境保护", "环境污染", "大气污染"), ("油烟", "扬尘", "废气")),
    CategoryRef("030104", ("交通运输", "出租车管理", "网约车问题"), ("网约车", "绕路")),
    CategoryRef("060606", ("劳动和社会保障", "工资福利", "工资发放"), ("拖欠工资", "欠薪")),
    CategoryRef("070405", ("教育文体", "教育体制", "教育资源配置"), ("入学难", "划片")),
)
PLACES = (
    PlaceRef("东城区", "交道口街道", "交道口社区"),
    PlaceRef("朝阳区", "望京街道", None),
    PlaceRef("怀柔区", "某某镇", "某某村"),
)


def make_dataset(per_class: int, seed: int = 1) -> tuple[list[str], list[str], list[str]]:
    """Titles, texts and level-1 labels of ``per_class`` requests in each category."""
    rng = random.Random(seed)
    titles, texts, labels = [], [], []
    for _ in range(per_class):
        for cat in CATEGORIES:
            req = compose_request(rng, cat, rng.choice(PLACES))
            titles.append(req.title)
            texts.append(req.text)
            labels.append(cat.path[0])
    return titles, texts, labels


def write_csv(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[str]], encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def csv_writer() -> type[_CsvWriter]:
    return _CsvWriter


class _CsvWriter:
    """``write_csv`` handed to tests as a fixture: test modules cannot import conftest."""

    write = staticmethod(write_csv)


@pytest.fixture(scope="session")
def dataset() -> tuple[list[str], list[str], list[str]]:
    return make_dataset(40)


@pytest.fixture
def labelled_csv(tmp_path: Path, dataset: tuple[list[str], list[str], list[str]]) -> Path:
    titles, texts, labels = dataset
    return write_csv(
        tmp_path / "labelled.csv",
        ["主题", "详情", "一级分类"],
        list(zip(titles, texts, labels, strict=True)),
    )
