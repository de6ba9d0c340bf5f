"""Monthly topics: candidates scored from the warehouse with every part checked against the
operational database, adopted on the desk, and followed month after month."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from analyticskit import History
from jiesu.analytics.models import MonthlyTopic
from jiesu.analytics.topics import adopt, candidates, follow_up
from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.errors import BadInput, Conflict
from jiesu.workflow.models import ServiceRequest


def test_candidates_and_their_parts(history: History) -> None:
    h = history
    h.wh.refresh(h.session, now=h.clock.now())
    with h.wh.connect() as con:
        cands = candidates(con, "2026-11")
        assert candidates(con, "2026-08") == []
        with pytest.raises(BadInput) as e:
            candidates(con, "2026-1")
    assert e.value.fields[0]["field"] == "month"
    (c,) = cands  # the factory taxonomy has one second-level category: 市政管理
    assert (c.code, c.n) == ("0101", 9)
    assert c.per_month == [0, 0, 0, 0, 6, 9]  # June … November
    units = h.session.scalar(
        select(func.count(func.distinct(ServiceRequest.lead_unit_id))).where(
            ServiceRequest.lead_unit_id.is_not(None)
        )
    )
    assert c.units == units
    assert c.components["volume"] == 1.0 and c.components["persistence"] == round(2 / 6, 4)
    # No call-back answered anywhere: nothing is known about how hard it is.
    assert c.answered == 0 and c.components["unresolved"] == 0.0
    assert c.top_streets[0] == ("东华门街道", 5)


def test_adopt_on_the_desk_and_follow_up(history: History, db_url: str, tmp_path: Path) -> None:
    h = history
    h.wh.refresh(h.session, now=h.clock.now())
    h.session.commit()
    app = create_app(
        Settings(database_url=db_url, data_dir=tmp_path), clock=h.clock, schedule=False
    )
    with TestClient(app) as client:
        client.post("/login", data={"username": "sup", "password": "password-123"})
        page = client.get("/desk/topics?month=2026-11")
        assert page.status_code == 200 and 'id="topic-0101"' in page.text
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        form = {"csrf": csrf, "month": "2026-11", "category": "0101"}
        bad = client.post("/desk/topics", data={**form, "lead_unit": "NOPE"})
        assert bad.status_code == 422 and 'id="err-lead_unit"' in bad.text
        ok = client.post(
            "/desk/topics",
            data={**form, "lead_unit": "CB-CGW", "note": "夜间施工噪音源头治理"},
            follow_redirects=False,
        )
        assert ok.status_code == 303
        assert client.post("/desk/topics", data=form).status_code == 409
        listed = client.get("/desk/topics?month=2026-11").text
        assert "夜间施工噪音源头治理" in listed and "data-topic=" in listed
        client.post("/logout", data={"csrf": csrf})
        client.post("/login", data={"username": "analyst", "password": "password-123"})
        csrf = client.get("/desk/topics").text.split('name="csrf" value="')[1].split('"')[0]
        assert client.post("/desk/topics", data={**form, "csrf": csrf}).status_code == 403
    h.session.expire_all()
    topic = h.session.scalars(select(MonthlyTopic)).one()
    assert topic.adopted_by == "sup" and topic.evidence["n"] == 9
    with h.wh.connect() as con:
        f = follow_up(con, h.session, topic, upto=date(2026, 12, 2))
        with pytest.raises(Conflict):
            adopt(h.session, candidates(con, "2026-11")[0], "2026-11", actor=h.world.actor("sup"),
                  now=datetime.now())  # fmt: skip
    # August, September, October before; November the topic's month; December since.
    assert [s["n"] for s in f["series"]] == [0, 0, 6, 9, 0]
    assert f["baseline"] == 2.0 and f["since"] == 0 and f["change"] == -1.0


def test_the_cli_lists_candidates(
    history: History, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from jiesu.cli import app

    history.session.commit()
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path))
    res = CliRunner().invoke(app, ["analytics", "topics", "--month", "2026-11", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["candidates"][0]["code"] == "0101" and doc["candidates"][0]["n"] == 9
    bad = CliRunner().invoke(app, ["analytics", "topics", "--month", "11/2026"])
    assert bad.exit_code == 1 and "month" in bad.output
