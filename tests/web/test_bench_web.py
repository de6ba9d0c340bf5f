"""`jiesu bench web` signs in as each role and times every page of its navigation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.cli import app
from jiesu.kit.clock import FixedClock
from jiesu.web.nav import STAFF_NAV

from factories import make_request, make_world

runner = CliRunner()


def test_bench_web_reports_every_page_of_every_role(
    session: Session,
    db_url: str,
    tmp_path: Path,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world(session, clock.now())
    make_request(session, world, clock.now())
    session.commit()
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path))
    result = runner.invoke(
        app, ["bench", "web", "--rounds", "2", "--password", "password-123", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["requests_in_database"] == 1
    timed = {(p["role"], p["page"]) for p in out["pages"]}
    assert ("public", "/stats") in timed
    for path, _, _, roles in STAFF_NAV:
        for role in roles:
            assert (role, path) in timed
    assert all(p["p95_ms"] > 0 for p in out["pages"])
    # Nothing broke on the way: every page answered 200 for its own roles.
    assert out["errors"] == []


def test_bench_web_refuses_an_empty_installation(
    session: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The session fixture leaves the database empty: no city, no users.
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["bench", "web", "--rounds", "1"])
    assert result.exit_code == 1 and "no users" in result.output
