"""City health check: indicators per area equal direct SQL, ranks put the worst first with
ties shared, and the monthly report and the CLI carry it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from analyticskit import History
from jiesu.analytics.health import health_check
from jiesu.city.models import Area
from jiesu.errors import BadInput
from jiesu.workflow.models import ServiceRequest


def test_indicators_per_district(history: History) -> None:
    h = history
    h.wh.refresh(h.session, now=h.clock.now())
    with h.wh.connect() as con:
        areas = health_check(con, "2026-11")
        with pytest.raises(BadInput) as e:
            health_check(con, "2026-11", level="town")
    assert e.value.fields[0]["field"] == "level"
    by = {a.name: a for a in areas}
    assert set(by) == {"东城区", "西城区"}
    dc = by["东城区"]
    assert (
        dc.values["requests"] == 8 and dc.previous["requests"] == 5 and dc.change("requests") == 3
    )
    # One gas emergency among 东城区's eight November requests; none in 西城区.
    assert dc.values["emergency_share"] == 0.125 and by["西城区"].values["emergency_share"] == 0.0
    assert dc.ranks["emergency_share"] == 1 and by["西城区"].ranks["emergency_share"] == 2
    # The returned request (one of eight).
    assert dc.values["returned_share"] == 0.125
    # Nobody answered a call-back: no solved share, no rank.
    assert dc.values["solved_share"] is None and dc.ranks["solved_share"] is None
    at_streets = (
        select(func.count())
        .select_from(ServiceRequest)
        .join(Area, Area.id == ServiceRequest.area_id)
        .where(Area.level == "street")
    )
    streets = h.session.scalar(at_streets)
    with h.wh.connect() as con:
        per_street = health_check(con, "2026-11", level="street")
    # November: all but the 西城区 request were placed at a street (13 over both months).
    assert sum(a.values["requests"] or 0 for a in per_street) == 8 and streets == 13


def test_the_monthly_report_and_the_cli(
    history: History, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jiesu.cli import app

    history.session.commit()
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path))
    res = CliRunner().invoke(app, ["analytics", "health", "--month", "2026-11", "--json"])
    assert res.exit_code == 0, res.output
    assert {a["name"] for a in json.loads(res.output)["areas"]} == {"东城区", "西城区"}
    out = tmp_path / "r"
    assert (
        CliRunner()
        .invoke(app, ["report", "monthly", "--month", "2026-11", "--out", str(out)])
        .exit_code
        == 0
    )
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [a["name"] for a in doc["health"]] == ["东城区", "西城区"]
    assert 'id="health"' in (out / "report.html").read_text(encoding="utf-8")
