"""`jiesu callbacks list|tick` on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.kit.clock import FixedClock
from jiesu.loop.cli import app
from loopkit import replied

from factories import World

runner = CliRunner()


def test_list_and_tick(
    session: Session,
    world: World,
    clock: FixedClock,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    req = replied(session, world, clock)
    session.commit()
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["ticket"], r["status"]) for r in rows] == [(req.ticket, "open")]
    assert runner.invoke(app, ["list", "--status", "nope"]).exit_code == 1
    result = runner.invoke(app, ["tick"])
    assert result.exit_code == 0 and "callbacks_created: 0" in result.output
