"""The `jiesu` command line on a real database: demo, audit verify, tick, city and users."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.cli import app
from jiesu.config import Settings
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.transitions import OPEN_STATUSES

runner = CliRunner()


@pytest.fixture
def env(session: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the CLI at the (clean) test database."""
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_demo_then_audit_verify(env: Path, session: Session) -> None:
    code, out = invoke("demo", "--no-serve", "--requests", "120", "--seed", "7")
    assert code == 0, out
    assert "seeded 120 synthetic requests" in out and "jiesu-demo" in out
    assert "api_key=" in out and "/open311/v2/discovery.json" in out
    statuses = set(session.scalars(select(ServiceRequest.status)))
    # Most of a synthetic history is closed; some requests are still open at its end.
    # (Which open states the last few days leave depends on the day the test runs.)
    assert "closed" in statuses and statuses & OPEN_STATUSES
    assert all(session.scalars(select(ServiceRequest.synthetic)))
    code, out = invoke("audit", "verify")
    assert code == 0, out
    # The 120 seeded, and the demo's decided consultation's proactive work order.
    assert "audit chain intact: 121 requests" in out
    # A second demo run on the same data seeds nothing more.
    code, out = invoke("demo", "--no-serve", "--requests", "120")
    assert code == 0 and "not seeding again" in out

    # Tamper with one event: verify must fail and name the request and the event.
    event = session.scalars(select(Event).where(Event.seq == 2).order_by(Event.id)).first()
    assert event is not None
    ticket = session.get(ServiceRequest, event.request_id).ticket  # type: ignore[union-attr]
    session.execute(update(Event).where(Event.id == event.id).values(actor="mallory"))
    session.commit()
    code, out = invoke("audit", "verify")
    assert code == 1
    assert ticket in out and "event #2" in out


def test_city_load_reports_broken_pack_and_loads_nothing(env: Path) -> None:
    pack = env / "pack"
    pack.mkdir()
    (pack / "city.yaml").write_text(
        "code: '1'\nname: 测试市\ntimezone: Asia/Shanghai\nurgency_classes:\n"
        + "".join(
            f"  {k}: {{response: 2h, handling: 24h}}\n"
            for k in ("emergency", "utility", "general", "complex")
        ),
        encoding="utf-8",
    )
    (pack / "areas.csv").write_text(
        "code,parent_code,level,name,aliases,lat,lon\n1,,city,测试市,,,\n", encoding="utf-8"
    )
    (pack / "categories.csv").write_text(
        "code,parent_code,level,name,urgency,response_limit,handling_limit,keywords\n"
        "01,,1,城建,general,,,\n",
        encoding="utf-8",
    )
    (pack / "units.csv").write_text(
        "code,name,kind,areas,categories,phone,parent_code\nU1,某局,city_bureau,1|99,01,,\n",
        encoding="utf-8",
    )
    assert invoke("db", "upgrade")[0] == 0
    code, out = invoke("city", "load", str(pack))
    assert code == 1
    assert "units.csv row 2: area 99 not found in areas.csv" in out.replace("\n", " ")
    code, out = invoke("city", "show")
    assert code == 1 and "no city is loaded" in out


def test_users_and_tick(env: Path) -> None:
    invoke("db", "upgrade")
    assert (
        invoke("city", "load", str(Path(__file__).parents[2] / "src/jiesu/city/packs/demo"))[0] == 0
    )
    code, out = invoke("users", "create", "amy", "--role", "operator", "--password", "secret-pass")
    assert code == 0, out
    code, out = invoke("users", "create", "bob", "--role", "handler", "--password", "secret-pass")
    assert code == 1 and "unit" in out
    code, out = invoke("users", "token", "amy")
    assert code == 0 and len(out.strip()) > 30
    code, out = invoke("workflow", "tick")
    assert code == 0 and "overdue: 0 response, 0 handling" in out


def test_every_setting_is_documented() -> None:
    for name, info in Settings.model_fields.items():
        assert info.description, f"setting {name} has no description"
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"JIESU_{name.upper()}" in readme, f"JIESU_{name.upper()} missing from README"
