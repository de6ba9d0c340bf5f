"""Open311 rate limits: a client over its own budget is told to wait (429 with Retry-After)
and nothing it sent is half-accepted; other clients go on; readers without a key are limited
per address; the budget is set per key from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from intake.open311.o311city import O311, seed_city
from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.errors import BadInput
from jiesu.intake.open311.cli import app as open311_cli
from jiesu.intake.open311.keys import set_rate
from jiesu.intake.open311.limits import RateLimiter
from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest


def test_a_bucket_allows_a_minutes_worth_then_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.take("a", 3) for _ in range(3)] == [None, None, None]
    wait = limiter.take("a", 3)
    assert wait == pytest.approx(20.0)  # one call every 20 s at 3 a minute
    assert limiter.take("b", 3) is None  # another client has its own bucket
    now[0] = 20.0
    assert limiter.take("a", 3) is None
    assert limiter.take("a", 3) is not None


def _count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(ServiceRequest)) or 0)


def test_a_client_over_its_own_limit_waits_and_others_go_on(o311: O311) -> None:
    set_rate(o311.session, "fixmystreet", 3)
    o311.session.commit()
    before = _count(o311.session)
    assert [o311.new().status_code for _ in range(3)] == [201, 201, 201]
    over = o311.new()
    assert over.status_code == 429
    assert int(over.headers["Retry-After"]) >= 1
    assert over.json()[0]["code"] == 429 and "fixmystreet" in over.json()[0]["description"]
    assert _count(o311.session) == before + 3  # the refused one left nothing behind
    xml = o311.new(fmt="xml")
    assert xml.status_code == 429 and "<code>429</code>" in xml.text
    # A unit's system with its own key is not slowed by the citizen app.
    update = o311.post(
        "servicerequestupdates", api_key=o311.unit_key, service_request_id="nope",
        status="INVESTIGATING",
    )  # fmt: skip
    assert update.status_code != 429


def test_readers_without_a_key_are_limited_per_address(
    session: Session, db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    seed_city(session, clock.now())
    s = Settings(database_url=db_url, data_dir=tmp_path, open311_rate_per_minute=5)
    with TestClient(create_app(s, clock=clock, schedule=False)) as c:
        codes = [c.get("/open311/v2/services.json").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_the_budget_is_set_per_key_from_the_command_line(
    o311: O311, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(open311_cli, ["keys", "rate", "fixmystreet", "30"]).exit_code == 0
    assert "30/min" in _listed(runner, "fixmystreet")
    bad = runner.invoke(open311_cli, ["keys", "rate", "fixmystreet", "lots"])
    assert bad.exit_code == 1 and "not a number" in bad.output
    made = runner.invoke(open311_cli, ["keys", "create", "busy-app", "--rate", "600"])
    assert made.exit_code == 0
    assert runner.invoke(open311_cli, ["keys", "rate", "fixmystreet", "default"]).exit_code == 0
    assert "default" in _listed(runner, "fixmystreet")
    assert "600/min" in _listed(runner, "busy-app")
    with pytest.raises(BadInput, match="rate_per_minute"):
        set_rate(o311.session, "fixmystreet", 0)


def _listed(runner: CliRunner, name: str) -> str:
    out = runner.invoke(open311_cli, ["keys", "list"]).output
    return next(line for line in out.splitlines() if line.startswith(name))
