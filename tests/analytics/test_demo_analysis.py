"""`jiesu demo` leaves the analysis ready: the three reports written, early warnings found
(the planted heating surge and the recurring noise), topic candidates and a heat map."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.analytics.heat import check_query, heat
from jiesu.analytics.hot import hot_issues
from jiesu.analytics.models import EarlyWarning
from jiesu.analytics.topics import candidates
from jiesu.analytics.warehouse import Warehouse
from jiesu.cli import app
from jiesu.kit.clock import utcnow


def test_the_demo_produces_every_analysis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIESU_DATABASE_URL", raising=False)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path))
    res = CliRunner().invoke(app, ["demo", "--no-serve", "--requests", "450", "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert "open early warning(s)" in res.output
    for kind in ("daily", "weekly", "monthly"):
        (folder,) = (tmp_path / "reports" / kind).iterdir()
        doc = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        assert doc["kind"] == kind and (folder / "report.html").exists()
    engine = create_engine(f"sqlite:///{tmp_path / 'jiesu.db'}")
    with Session(engine) as s:
        found = {
            (w.kind, w.category.name if w.category else None)
            for w in s.scalars(select(EarlyWarning))
        }
        surge_street = next(
            w.area.name
            for w in s.scalars(select(EarlyWarning))
            if w.kind == "surge_week" and w.area
        )
        # The planted heating surge groups into the week's hot issues (split by wording).
        hot = hot_issues(s, end=utcnow(), days=7)["groups"]
    engine.dispose()
    assert hot and hot[0]["size"] >= 3 and hot[0]["place"] == surge_street
    assert ("surge_week", "冬季采暖") in found
    assert any(kind == "recurring_reported" for kind, _ in found)
    wh = Warehouse(tmp_path / "warehouse")
    today = utcnow().date()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    with wh.connect() as con:
        assert candidates(con, last_month)
        data = heat(con, check_query("street", today - timedelta(days=83), today, "week", None))
    assert data.areas and sum(a.n for a in data.areas) > 0
