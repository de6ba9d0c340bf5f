"""Early warning: a planted surge and a recurring problem are found from real requests, kept
once, and a supervisor turns one into a proactive work order in the normal loop."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.analytics.models import EarlyWarning
from jiesu.analytics.warehouse import Warehouse
from jiesu.analytics.warnings import like_weekday, scan
from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest

from factories import World, make_request, make_world

NOW = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)  # Monday 9 November, 10:00 in Beijing
NOISE, WATER = "010101", "010102"
A, B = "110101001", "110101008"


@pytest.fixture
def planted(session: Session, tmp_path: Path) -> tuple[World, FixedClock, Warehouse]:
    clock = FixedClock(datetime(2026, 8, 3, 2, 0, tzinfo=UTC))
    world = make_world(session, clock.now())

    def on(day: date, n: int, category: str, area: str) -> None:
        for i in range(n):
            clock.set(datetime(day.year, day.month, day.day, 1 + i, 0, tzinfo=UTC))
            make_request(session, world, clock.now(), category=category, area=area)

    # Eight ordinary weeks of noise at A (one a working day), then a week of three a day.
    d = date(2026, 9, 7)
    while d < date(2026, 11, 2):
        on(d, 1 if d.weekday() < 5 else 0, NOISE, A)
        d += timedelta(days=1)
    for i in range(7):
        on(date(2026, 11, 2) + timedelta(days=i), 3, NOISE, A)
    # The same water problem at B in August, September and October, twice each.
    for month in (8, 9, 10):
        on(date(2026, month, 12), 2, WATER, B)
    session.commit()
    clock.set(NOW)
    wh = Warehouse(tmp_path / "warehouse")
    wh.refresh(session, now=clock.now())
    return world, clock, wh


def _scan(session: Session, clock: FixedClock, wh: Warehouse):  # type: ignore[no-untyped-def]
    with wh.connect() as con:
        result = scan(session, con, now=clock.now())
    session.commit()
    return result


def test_a_surge_and_a_recurring_problem_are_found_once(
    session: Session, planted: tuple[World, FixedClock, Warehouse]
) -> None:
    _, clock, wh = planted
    result = _scan(session, clock, wh)
    assert result.judged_day == date(2026, 11, 8)
    kinds = {(f.kind, f.area_id is None) for f in result.found}
    # The noise surge at A, and city-wide (A is most of the city here); water at B recurs.
    assert ("surge_week", False) in kinds and ("surge_week", True) in kinds
    assert ("recurring_reported", False) in kinds
    assert not any(f.kind == "surge_day" for f in result.found)  # 3 a day is under the floor
    surge = next(f for f in result.found if f.kind == "surge_week" and f.area_id is not None)
    assert surge.observed == 21 and surge.expected is not None and surge.expected < 8
    assert "近7天 21 件" in surge.reason_zh
    water = next(f for f in result.found if f.kind == "recurring_reported")
    assert water.details["per_month"] == [2, 2, 2]
    again = _scan(session, clock, wh)
    assert again.created == 0 and again.updated == len(again.found)
    assert session.query(EarlyWarning).count() == result.created == len(result.found)


def test_accept_opens_a_proactive_work_order_and_dismiss_needs_a_reason(
    session: Session, planted: tuple[World, FixedClock, Warehouse], db_url: str, tmp_path: Path
) -> None:
    _, clock, wh = planted
    _scan(session, clock, wh)
    surge = session.scalars(
        select(EarlyWarning).where(
            EarlyWarning.kind == "surge_week", EarlyWarning.area_id.is_not(None)
        )
    ).one()
    water = session.scalars(
        select(EarlyWarning).where(EarlyWarning.kind == "recurring_reported")
    ).one()
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    with TestClient(app) as client:
        client.post("/login", data={"username": "sup", "password": "password-123"})
        page = client.get("/desk/warnings")
        assert page.status_code == 200 and f'id="warning-{surge.id}"' in page.text
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = client.post(
            f"/desk/warnings/{surge.id}/accept", data={"csrf": csrf}, follow_redirects=False
        )
        assert r.status_code == 303 and "accepted-" in r.headers["location"]
        bad = client.post(f"/desk/warnings/{water.id}/dismiss", data={"csrf": csrf, "note": " "})
        assert bad.status_code == 422 and 'id="err-note"' in bad.text
        ok = client.post(
            f"/desk/warnings/{water.id}/dismiss",
            data={"csrf": csrf, "note": "已纳入管网改造计划"},
            follow_redirects=False,
        )
        assert ok.status_code == 303
        twice = client.post(f"/desk/warnings/{surge.id}/accept", data={"csrf": csrf})
        assert twice.status_code == 409
        client.post("/logout", data={"csrf": csrf})
        client.post("/login", data={"username": "analyst", "password": "password-123"})
        assert client.get("/desk/warnings?status=all").status_code == 200
        csrf = client.get("/desk/warnings").text.split('name="csrf" value="')[1].split('"')[0]
        refused = client.post(
            f"/desk/warnings/{surge.id}/dismiss", data={"csrf": csrf, "note": "x"}
        )
        assert refused.status_code == 403
    session.expire_all()
    surge, water = session.get(EarlyWarning, surge.id), session.get(EarlyWarning, water.id)
    assert surge is not None and water is not None
    assert surge.status == "accepted" and water.status == "dismissed"
    order = session.get(ServiceRequest, surge.request_id)
    assert order is not None and order.channel == "proactive"
    assert order.category is not None and order.category.code == NOISE
    assert order.area is not None and order.area.code == A and "未诉先办" in order.text


def test_the_cli_scans_and_lists(
    session: Session,
    planted: tuple[World, FixedClock, Warehouse],
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jiesu.cli import app

    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path))
    res = CliRunner().invoke(app, ["analytics", "warnings", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    # The CLI judges against the real clock: the planted weeks are long past, so whatever it
    # finds, the list it prints is what the table holds.
    assert len(doc["open"]) == session.query(EarlyWarning).filter_by(status="open").count()


def test_holidays_behave_like_sundays(planted: tuple[World, FixedClock, Warehouse]) -> None:
    world, _, _ = planted
    days = like_weekday(world.ctx.calendar, date(2026, 9, 28), date(2026, 10, 11))
    assert days[date(2026, 10, 1)] == 6  # National Day, a Thursday
    assert days.get(date(2026, 10, 10)) == 0  # a Saturday worked instead
