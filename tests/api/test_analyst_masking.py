"""Analysts study requests, they do not call anyone: the caller's contact is masked for them
and so is personal data said inside the words — in the request's title, text, address and
timeline, in the API's list and detail and on the web request page. Staff who handle the
request still read it as written."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock

from apiclient import Api
from factories import make_request

SAID = "13812345678"  # a mobile number the caller says inside the complaint


def test_analysts_read_requests_with_personal_data_masked(
    api: Api, session: Session, clock: FixedClock
) -> None:
    text = f"楼下饭店夜里施工噪音很大，请回电{SAID}，车牌京A12345也被堵住"
    req = make_request(
        session, api.world, clock.now(), text=text, address=f"东华门小区 联系{SAID}",
        contact={"name": "王小明", "phone": "13900001111"},
    )  # fmt: skip
    note = {"text": f"来电人补充：手机{SAID}"}
    session.commit()
    assert api.post(f"/api/v1/requests/{req.ticket}/notes", "op", json=note).status_code == 200

    seen = api.get(f"/api/v1/requests/{req.ticket}", "analyst").json()
    body = str(seen)
    assert SAID not in body and "13900001111" not in body and "京A12345" not in body
    assert "138****5678" in seen["text"] and seen["contact"]["masked"] is True
    listed = api.get("/api/v1/requests", "analyst").json()["items"]
    assert all(SAID not in (r["title"] or "") for r in listed)

    # The operator, who calls back, reads it as said.
    full = api.get(f"/api/v1/requests/{req.ticket}", "op").json()
    assert SAID in full["text"] and any(SAID in str(e["payload"]) for e in full["timeline"])

    c = api.client
    login = {"username": "analyst", "password": "password-123"}
    assert c.post("/login", data=login, follow_redirects=False).status_code == 303
    page = c.get(f"/desk/requests/{req.ticket}").text
    assert SAID not in page and "13900001111" not in page
    assert SAID not in c.get("/desk/requests").text
