"""The model audit and equity under /api/v1: what the desks show, as JSON."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from jiesu.analytics.warehouse import Warehouse
from jiesu.kit.clock import FixedClock

from apiclient import Api
from factories import make_request


def test_audit_is_produced_kept_and_read_back(
    api: Api, session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    make_request(session, api.world, clock.now(), channel="web")
    session.commit()
    none_yet = api.get("/api/v1/audit/models", who="analyst")
    assert (
        none_yet.status_code == 404 and "jiesu audit models" in none_yet.json()["error"]["message"]
    )
    made = api.post("/api/v1/audit/models", who="sup")
    assert made.status_code == 200
    body = made.json()
    assert body["requests_read"] == 1
    assert set(body["components"]) == {"classifier", "place", "urgency", "dispatch", "router"}
    assert (tmp_path / "audits" / f"model-audit-{body['date']}.html").exists()
    again = api.get("/api/v1/audit/models", who="admin")
    assert again.status_code == 200 and again.json()["produced_at"] == body["produced_at"]


def test_equity_reads_the_warehouse_and_names_a_bad_period(
    api: Api, session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    for channel in ("phone", "web"):
        make_request(session, api.world, clock.now(), channel=channel)
    session.commit()
    Warehouse(tmp_path / "warehouse").refresh(session, now=clock.now())
    r = api.get("/api/v1/equity", who="analyst")
    assert r.status_code == 200
    body = r.json()
    assert body["requests"] == 2 and body["caller_groups_recorded"] is False
    assert {row["group"] for row in body["dimensions"]["channel"]} == {"phone", "web"}
    bad = api.get("/api/v1/equity", params={"from": "2026-11-02", "to": "2026-11-01"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "to"
