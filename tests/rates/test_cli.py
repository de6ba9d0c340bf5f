"""`jiesu rates` on a real database: JSON, tables, ranking, exports, and clear errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.rates.cli import app

from factories import make_world

runner = CliRunner()
A = "ST-110101001"
AS_OF = "2026-12-05T08:00:00+08:00"


@pytest.fixture
def city(session: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI pointed at the test database, with the factory city and no requests."""
    make_world(session, datetime(2026, 11, 2, tzinfo=UTC))
    session.commit()
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def env(walk: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI pointed at the test database holding the November walk."""
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_rates_json(env: Path) -> None:
    code, out = invoke("--by", "unit", "--period", "2026-11", "--as-of", AS_OF, "--json")
    assert code == 0, out
    doc = json.loads(out)
    a = next(r for r in doc["rows"] if r["code"] == A)
    assert a["rates"]["score"] == 73.0 and a["ontime"]["n"] == 4
    assert doc["period"]["label"] == "2026-11" and doc["by"] == "unit"


def test_rates_table_and_department_alias(env: Path) -> None:
    code, out = invoke("--by", "department", "--period", "2026-11", "--as-of", AS_OF)
    assert code == 0, out
    assert A in out and "73.0" in out


def test_ranking_with_definitions_file(env: Path) -> None:
    defs = env / "defs.yaml"
    defs.write_text("min_answers: 1\n", encoding="utf-8")
    code, out = invoke(
        "ranking", "--period", "2026-11", "--as-of", AS_OF, "--definitions", str(defs), "--json"
    )
    assert code == 0, out
    units = json.loads(out)["units"]
    assert [(u["code"], u["rank"]) for u in units] == [(A, 1), ("ST-110101008", 2)]


def test_exports_are_readable(env: Path) -> None:
    out_csv = env / "rates.csv"
    code, out = invoke("export", "--out", str(out_csv), "--period", "2026-11", "--as-of", AS_OF)
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"))))
    assert rows[0]["code"] == A and float(rows[0]["score"]) == 73.0
    assert {"response_rate", "ontime_share", "assisted"} <= set(rows[0])
    out_xlsx = env / "ranking.xlsx"
    code, out = invoke(
        "export",
        "--what",
        "ranking",
        "--out",
        str(out_xlsx),
        "--period",
        "2026-11",
        "--as-of",
        AS_OF,
    )
    assert code == 0, out
    wb = load_workbook(out_xlsx, read_only=True)
    assert wb.sheetnames == ["ranking", "focus areas", "about"]
    header = next(wb["ranking"].iter_rows(values_only=True))
    assert header[:3] == ("rank", "code", "name")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--period", "2026-13"], "period"),
        (["--by", "district"], "by"),
        (["--unit", "NO-SUCH-UNIT"], "unit"),
        (["--area", "nowhere"], "area"),
        (["--category", "999"], "category"),
        (["--kind", "ministry"], "kind"),
        (["--by", "area", "--level", "planet"], "level"),
        (["--as-of", "yesterday"], "as_of"),
        (["ranking", "--kind", "ministry"], "kind"),
        (["export", "--out", "x.pdf"], "format"),
        (["export", "--out", "x.csv", "--what", "everything"], "what"),
    ],
)
def test_bad_input_names_the_field(city: Path, args: list[str], field: str) -> None:
    code, out = invoke(*args)
    assert code == 1
    assert f"{field}:" in out
