"""Periods as people write them, and the definitions file with its refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jiesu.errors import BadInput
from jiesu.rates.definitions import DEFAULTS, load_definitions, parse_definitions
from jiesu.rates.periods import parse_period

TODAY = date(2026, 11, 20)
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "first", "last", "previous"),
    [
        ("2015", date(2015, 1, 1), date(2015, 12, 31), "2014"),
        ("2015-Q1", date(2015, 1, 1), date(2015, 3, 31), "2014-Q4"),
        ("2015-q3", date(2015, 7, 1), date(2015, 9, 30), "2015-Q2"),
        ("2015-03", date(2015, 3, 1), date(2015, 3, 31), "2015-02"),
        ("2016-02", date(2016, 2, 1), date(2016, 2, 29), "2016-01"),
        ("2015-01", date(2015, 1, 1), date(2015, 1, 31), "2014-12"),
        ("2015-03-01..2015-03-10", date(2015, 3, 1), date(2015, 3, 10), "2015-02-19..2015-02-28"),
        (None, date(2026, 10, 1), date(2026, 10, 31), "2026-09"),  # the last full month
    ],
)
def test_periods(text: str | None, first: date, last: date, previous: str) -> None:
    p = parse_period(text, today=TODAY)
    assert (p.first, p.last, p.previous().label) == (first, last, previous)


def test_bounds_are_local_midnights() -> None:
    start, end = parse_period("2026-11", today=TODAY).bounds(BEIJING)
    assert start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2015-13",
        "15",
        "2015-Q5",
        "last month",
        "2015-03-10..2015-03-01",
        "2015-02-30..2015-03-01",
        "2105",
    ],
)
def test_bad_periods_name_the_field(text: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_period(text, today=TODAY)
    assert err.value.fields[0]["field"] == "period"


def test_definitions_merge_over_defaults() -> None:
    d = parse_definitions({"satisfaction": {"basically": 0.6}, "min_answers": 3})
    assert d.satisfaction == {"satisfied": 1.0, "basically": 0.6, "unsatisfied": 0.0}
    assert d.min_answers == 3 and d.weights == DEFAULTS.weights
    assert parse_definitions(None) is DEFAULTS


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"weights": {"response": 0.5, "resolution": 0.4, "satisfaction": 0.4}}, "weights"),
        ({"weights": {"speed": 1}}, "weights.speed"),
        ({"satisfaction": {"basically": 1.5}}, "satisfaction.basically"),
        ({"resolution": {"partly": "half"}}, "resolution.partly"),
        ({"min_answer": 3}, "min_answer"),
        ({"signals": {"late_window": 2}}, "signals.late_window"),
        ({"drag_category_level": 4}, "drag_category_level"),
        ({"include_synthetic": "yes"}, "include_synthetic"),
    ],
)
def test_bad_definitions_name_the_key(raw: dict[str, object], field: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_definitions(raw)
    assert err.value.fields[0]["field"] == field


def test_definitions_file(tmp_path: Path) -> None:
    assert load_definitions(None, data_dir=tmp_path) is DEFAULTS
    (tmp_path / "rates.yaml").write_text("resolution:\n  partly: 0.6\n", encoding="utf-8")
    assert load_definitions(None, data_dir=tmp_path).resolution["partly"] == 0.6
    bad = tmp_path / "bad.yaml"
    bad.write_text("weights: {response: 2}\n", encoding="utf-8")
    with pytest.raises(BadInput, match="weights"):
        load_definitions(bad)
