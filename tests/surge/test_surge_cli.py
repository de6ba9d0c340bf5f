"""`jiesu event declare|list|reply|end|report` on a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.kit.clock import FixedClock
from jiesu.surge.cli import app
from surgekit import HEATING, make_surge_world

runner = CliRunner()


def test_declare_list_reply_end_and_report(
    session: Session,
    clock: FixedClock,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_surge_world(session, clock.now())
    session.commit()
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    ends = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"- id: heat\n  name: 寒潮供暖\n  match: {{categories: ['{HEATING}']}}\n  lead: PS-HEAT\n",
        encoding="utf-8",
    )
    base = ["declare", "--name", "寒潮", "--kind", "cold_wave", "--ends", ends, "--by", "sup"]
    result = runner.invoke(
        app, [*base, "--area", "110101", "--keyword", "暖气,供暖", "--rules", str(rules)]
    )
    assert result.exit_code == 0, result.output
    assert "event 1 declared" in result.output and "master case" in result.output
    # Bad input: a clear error naming the field, exit code 1.
    bad = runner.invoke(app, [*base, "--area", "nowhere", "--keyword", "暖气"])
    assert bad.exit_code == 1 and "areas[0]" in bad.output
    bad = runner.invoke(app, [*base, "--keyword", "暖气"])
    assert bad.exit_code == 1 and "areas" in bad.output
    bad = runner.invoke(app, [*base, "--area", "110101", "--keyword", "暖气"])
    assert bad.exit_code == 1 and "event 1" in bad.output  # same kind, same place
    bad = runner.invoke(app, ["declare", "--name", "x", "--kind", "cold_wave", "--ends", "soon",
                              "--area", "110102", "--keyword", "a", "--by", "sup"])  # fmt: skip
    assert bad.exit_code == 1 and "--ends" in bad.output
    bad = runner.invoke(app, [*base[:-1], "op", "--area", "110102", "--keyword", "a"])
    assert bad.exit_code == 1 and "may not declare" in bad.output

    listed = runner.invoke(app, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert row["status"] == "active" and row["areas"] == ["110101"] and row["callers"] == 0

    replied = runner.invoke(app, ["reply", "1", "--text", "已恢复", "--by", "sup"])
    assert replied.exit_code == 0 and "replied to 0 caller(s)" in replied.output
    ended = runner.invoke(app, ["end", "1", "--by", "sup", "--note", "结束"])
    assert ended.exit_code == 0 and "report kept" in ended.output
    page = tmp_path / "report.html"
    report = runner.invoke(app, ["report", "1", "--html", str(page)])
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)["times"]["end_reason"] == "declared"
    assert "寒潮" in page.read_text(encoding="utf-8")
    assert runner.invoke(app, ["end", "1", "--by", "sup"]).exit_code == 1
