"""`jiesu bench analytics` generates a warehouse with the documented shape and times the
reports over it; the numbers it prints are the warehouse's own."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from jiesu.analytics.warehouse import Warehouse
from jiesu.cli import app


def test_bench_analytics_json_matches_the_warehouse_it_wrote(tmp_path: Path) -> None:
    keep = tmp_path / "wh"
    res = CliRunner().invoke(
        app,
        ["bench", "analytics", "--rows", "6000", "--months", "3", "--keep", str(keep), "--json"],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output.strip().splitlines()[-1])
    for key in ("rows", "monthly_report_s", "weekly_report_s", "daily_report_s", "peak_rss_mb"):
        assert key in doc
    assert doc["rows"] == 6000
    with Warehouse(keep).connect() as con:
        total = con.execute("SELECT count(*) FROM requests").fetchone()
        nov = con.execute(
            "SELECT count(*) FROM requests "
            "WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-30'"
        ).fetchone()
        levels = con.execute(
            "SELECT count(*) FROM requests r JOIN areas s ON s.id = r.street_id "
            "JOIN areas d ON d.id = r.district_id WHERE s.level = 'street' AND d.level = 'district'"
        ).fetchone()
    assert total == (6000,) and levels == (6000,)
    assert nov is not None and doc["monthly_rows"] == nov[0] > 1000
    again = CliRunner().invoke(app, ["bench", "analytics", "--rows", "2000", "--keep", str(keep)])
    assert again.exit_code == 1 and "is not empty" in again.output
