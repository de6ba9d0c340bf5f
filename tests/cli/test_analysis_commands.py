"""`jiesu sandbox run`, `jiesu audit models` and `jiesu equity` on a generated history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from historykit import seed_demo
from jiesu.cli import app
from jiesu.kit.clock import utcnow

runner = CliRunner()


@pytest.fixture
def env(session: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    # History up to today, so that the commands' own clock judges it as the seed left it.
    seed_demo(session, 200, now=utcnow())
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def invoke_json(*args: str) -> object:
    """Only what went to stdout: the progress lines go to stderr."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sandbox_run_refuses_a_bad_scenario_and_runs_a_good_one(env: Path) -> None:
    bad = env / "bad.yaml"
    bad.write_text("handlers:\n  NO-SUCH: 2\n  CB-CGW: -1\n", encoding="utf-8")
    code, out = invoke("sandbox", "run", "--scenario", str(bad))
    assert code == 1
    assert "handlers.NO-SUCH" in out and "handlers.CB-CGW: must be at least 1" in out
    assert "nothing was loaded" in out
    good = env / "good.yaml"
    good.write_text("name: same\n", encoding="utf-8")
    result = invoke_json("sandbox", "run", "--scenario", str(good), "--runs", "2", "--json")
    assert isinstance(result, dict)
    assert result["runs"] == 2 and result["scenario"]["name"] == "same"
    assert result["validation"]["simulated_requests"] > 100
    # (How close the replay comes is tested on a larger history in tests/sandbox.)
    assert isinstance(result["validation"]["error_points"], float)


def test_audit_models_writes_the_dated_report_and_equity_prints_json(env: Path) -> None:
    out_dir = env / "published"
    code, out = invoke("audit", "models", "--out", str(out_dir))
    assert code == 0, out
    assert "report written" in out
    (html,) = out_dir.glob("model-audit-*.html")
    assert html.with_suffix(".json").exists()
    report = invoke_json("equity", "--json")
    assert isinstance(report, dict)
    assert report["requests"] > 100 and report["refreshed_at"]
    code, out = invoke("equity", "--from", "2026-13-01")
    assert code != 0 and "YYYY-MM-DD" in out
