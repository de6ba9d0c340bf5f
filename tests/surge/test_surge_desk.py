"""The surge desk without a browser: declaring through the form (errors beside their fields),
the dashboard and the bulk reply, and the script on the operator's intake panel."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from surgekit import HEAT_TEXT, HEATING, make_surge_world

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
FORM = {
    "name": "十一月寒潮",
    "kind": "cold_wave",
    "areas": "110101",
    "ends_at": "2026-11-05T00:00",
    "keywords": "暖气，供暖",
    "categories": HEATING,
    "script": "热力集团已加派人员，24小时内上门。",
    "handling_limit": "12h",
    "rules": f"- id: heat\n  name: 寒潮\n  match: {{categories: ['{HEATING}']}}\n  lead: PS-HEAT\n",
    "auto_dispatch": "on",
}


@pytest.fixture
def client(
    session: Session, db_url: str, clock: FixedClock, tmp_path: Path
) -> Iterator[TestClient]:
    make_surge_world(session, clock.now())
    session.commit()
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    with TestClient(app) as c:
        yield c


def _sign_in(c: TestClient, who: str) -> str:
    r = c.post("/login", data={"username": who, "password": "password-123"}, follow_redirects=False)
    assert r.status_code == 303
    found = CSRF.search(c.get("/desk/surge").text)
    assert found
    return found.group(1)


def test_declare_on_the_desk_then_watch_reply_and_end(client: TestClient) -> None:
    csrf = _sign_in(client, "sup")
    bad = client.post("/desk/surge", data=FORM | {"areas": "", "csrf": csrf})
    assert bad.status_code == 422 and 'id="err-areas"' in bad.text
    bad = client.post("/desk/surge", data=FORM | {"ends_at": "2026-11-01T00:00", "csrf": csrf})
    assert bad.status_code == 422 and 'id="err-ends_at"' in bad.text
    bad = client.post("/desk/surge", data=FORM | {"rules": "- [", "csrf": csrf})
    assert bad.status_code == 422 and 'id="err-rules"' in bad.text
    bad = client.post("/desk/surge", data=FORM | {"categories": "0199", "csrf": csrf})
    assert bad.status_code == 422 and 'id="err-categories"' in bad.text
    r = client.post("/desk/surge", data=FORM | {"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/desk/surge/1?done=declared")
    page = client.get("/desk/surge/1").text
    assert "十一月寒潮" in page and 'id="k-callers">0<' in page

    # The operator's panel shows the script as the caller describes the cold flat.
    op = TestClient(client.app)
    with op:
        op_csrf = _sign_in(op, "op")
        panel = op.post(
            "/desk/intake/read", data={"text": HEAT_TEXT}, headers={"X-CSRF-Token": op_csrf}
        ).text
        assert "surge-script" in panel and "热力集团已加派人员" in panel
        assert "关键词 暖气" in panel and "地点未定" in panel  # why, in the desk's language
        quiet = op.post(
            "/desk/intake/read", data={"text": "路灯坏了"}, headers={"X-CSRF-Token": op_csrf}
        ).text
        assert "surge-script" not in quiet
        call = {"text": HEAT_TEXT, "area": "110101001", "phone": "13800138000", "csrf": op_csrf}
        assert op.post("/desk/intake", data=call, follow_redirects=False).status_code == 303

    page = client.get("/desk/surge/1").text
    assert 'id="k-callers">1<' in page and 'id="k-open">1<' in page
    r = client.post("/desk/surge/1/reply", data={"text": "", "csrf": csrf})
    assert r.status_code == 422 and 'id="err-text"' in r.text
    r = client.post("/desk/surge/1/reply", data={"text": "已恢复供暖", "csrf": csrf})
    assert r.status_code == 200 and 'id="bulk-result"' in r.text and "1 位来电人" in r.text
    r = client.post(
        "/desk/surge/1/end", data={"note": "回暖", "csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get("/desk/surge/1").text
    assert 'id="report-link"' in page and 'id="bulk-form"' not in page
    report = client.get("/desk/surge/1/report")
    assert report.status_code == 200 and "Event report" in report.text
    assert client.get("/desk/surge/x").status_code == 404


def test_who_may_act_on_the_desk(client: TestClient) -> None:
    csrf = _sign_in(client, "analyst")
    assert client.get("/desk/surge").status_code == 200
    assert 'id="declare-form"' not in client.get("/desk/surge").text
    r = client.post("/desk/surge", data=FORM | {"csrf": csrf})
    assert r.status_code == 403
