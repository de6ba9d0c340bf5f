"""`jiesu notify outbox`, `send-due` and `retry` on the test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.cli import app
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.kit.clock import FixedClock
from jiesu.notify.models import Notification

from factories import make_world

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_outbox_send_due_and_retry(
    session: Session, db_url: str, tmp_path: Path, clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JIESU_NOTIFY_QUIET_HOURS", "")
    world = make_world(session, clock.now())
    data = RequestIn(text="路灯坏了", contact={"phone": "13800138000"})
    submit_request(session, data, actor=world.actor("op"), now=clock.now(), ctx=world.ctx)
    session.commit()
    code, out = invoke("notify", "outbox", "--full")
    assert code == 0, out
    assert "pending 1" in out and "138****8000" in out and "13800138000" not in out
    code, out = invoke("notify", "send-due")
    assert code == 0 and "sent 1" in out, out
    code, out = invoke("notify", "outbox", "--status", "sent", "--full")
    assert code == 0 and "kept in the outbox" in out and "已受理" in out, out
    n = session.scalars(select(Notification)).one()
    code, out = invoke("notify", "retry", str(n.id))
    assert code == 1 and "only dead ones are retried" in out
    code, out = invoke("notify", "outbox", "--status", "lost")
    assert code != 0 and "--status must be one of" in out
    monkeypatch.setenv("JIESU_NOTIFY_SMS_GATEWAY", "pigeon")
    code, out = invoke("notify", "send-due")
    assert code == 1 and "no notification gateway 'pigeon'" in out
