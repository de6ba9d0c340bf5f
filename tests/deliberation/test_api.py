"""The deliberation API on both databases: a supervisor opens, a citizen verifies and votes,
a second vote is refused (also when both arrive at once), and the decision is followed."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from deliberationkit import INSIDE, OUTSIDE, SECRET, code_from_outbox
from jiesu.deliberation.models import ConsultationVote
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.public import track_code

from apiclient import Api

POLL = {
    "title": "东华门夜间施工噪音怎么管",
    "question": "您支持哪种办法？",
    "area": "110101",
    "category": "0101",
    "options": ["限定施工时段", "设立噪音监测点"],
}


def _open(api: Api, **kw: Any) -> dict[str, Any]:
    r = api.post("/api/v1/consultations", who="sup", json={**POLL, **kw})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _pass(api: Api, session: Session, cid: int, phone: str = INSIDE) -> Any:
    r = api.client.post(f"/api/v1/public/consultations/{cid}/codes", json={"phone": phone})
    assert r.status_code == 202, r.text
    session.expire_all()
    body = {"method": "phone", "phone": phone, "code": code_from_outbox(session)}
    return api.client.post(f"/api/v1/public/consultations/{cid}/passes", json=body)


def test_open_vote_decide_follow(api: Api, session: Session) -> None:
    c = _open(api)
    assert c["phase"] == "open" and c["background"]["requests"] == 1
    r = _pass(api, session, c["id"])
    assert r.status_code == 201 and r.json()["voted"] is False
    token = r.json()["pass"]
    option = c["options"][1]["id"]
    vote = {"pass": token, "option_id": option}
    r = api.client.post(f"/api/v1/public/consultations/{c['id']}/votes", json=vote)
    assert r.status_code == 201 and r.json()["votes"] == 1
    again = api.client.post(f"/api/v1/public/consultations/{c['id']}/votes", json=vote)
    assert again.status_code == 409 and again.json()["error"]["fields"][0]["field"] == "pass"
    # The supervisor cannot decide while it is open; ends it, decides, opens a work order.
    d = {"decision": "设立监测点", "reasons": "多数支持", "option_id": option}
    early = api.post(f"/api/v1/consultations/{c['id']}/decision", who="sup", json=d)
    assert early.status_code == 409 and early.json()["error"]["fields"][0]["field"] == "status"
    assert api.post(f"/api/v1/consultations/{c['id']}/end", who="sup").status_code == 200
    late = api.client.post(f"/api/v1/public/consultations/{c['id']}/votes", json=vote)
    assert late.status_code == 409
    assert (
        api.post(f"/api/v1/consultations/{c['id']}/decision", who="sup", json=d).status_code == 200
    )
    wo = api.post(
        f"/api/v1/consultations/{c['id']}/work-orders", who="sup", json={"text": "安装噪音监测点"}
    )
    assert wo.status_code == 201 and wo.json()["stage"] == "planned", wo.text
    public = api.client.get(f"/api/v1/public/consultations/{c['id']}").json()
    assert (
        public["decision"]["option"] == "设立噪音监测点"
        and public["decision"]["decided_by"] is None
    )
    assert public["results"]["options"][1]["votes"] == 1
    assert public["follow_up"]["stages"]["planned"] == 1
    assert public["created_by"] is None
    staff = api.get(f"/api/v1/consultations/{c['id']}", who="analyst").json()
    assert staff["decision"]["decided_by"] == "sup"


def test_bad_input_names_the_field(api: Api, session: Session) -> None:
    for body, field in (
        ({**POLL, "options": []}, "options"),
        ({**POLL, "options": ["一个"]}, "options"),
        ({**POLL, "area": "nowhere"}, "area"),
    ):
        r = api.post("/api/v1/consultations", who="sup", json=body)
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == field, r.text
    c = _open(api)
    r = api.client.post(
        f"/api/v1/public/consultations/{c['id']}/passes",
        json={"method": "phone", "phone": INSIDE, "code": "123456"},
    )
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "code"
    out = _pass(api, session, c["id"], OUTSIDE)
    assert out.status_code == 403 and out.json()["error"]["fields"][0]["field"] == "phone"
    forged = {"pass": "1.phone.abc.9999999999.xyz", "option_id": c["options"][0]["id"]}
    r = api.client.post(f"/api/v1/public/consultations/{c['id']}/votes", json=forged)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "pass"


def test_ticket_and_account_verify_the_same_caller_once(api: Api, session: Session) -> None:
    c = _open(api)
    req = session.scalars(select(ServiceRequest).order_by(ServiceRequest.id)).first()
    assert req is not None
    body = {"method": "ticket", "ticket": req.ticket, "code": track_code(req.ticket, SECRET)}
    r = api.client.post(f"/api/v1/public/consultations/{c['id']}/passes", json=body)
    assert r.status_code == 201, r.text
    vote = {"pass": r.json()["pass"], "option_id": c["options"][0]["id"]}
    assert (
        api.client.post(f"/api/v1/public/consultations/{c['id']}/votes", json=vote).status_code
        == 201
    )
    # The phone of that ticket's caller is the same person: voted already.
    assert _pass(api, session, c["id"]).json()["voted"] is True
    # A citizen account with no request in 东城 is out of scope; staff never take part.
    acc = api.post(f"/api/v1/public/consultations/{c['id']}/passes/account", who="citizen")
    assert acc.status_code == 403 and acc.json()["error"]["fields"][0]["field"] == "account"
    staff = api.post(f"/api/v1/public/consultations/{c['id']}/passes/account", who="sup")
    assert staff.status_code == 403


def test_two_votes_at_once_count_once(api: Api, session: Session) -> None:
    c = _open(api)
    token = _pass(api, session, c["id"]).json()["pass"]
    url = f"/api/v1/public/consultations/{c['id']}/votes"
    app = api.client.app

    async def race() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            sends = [
                client.post(url, json={"pass": token, "option_id": o["id"]}) for o in c["options"]
            ]
            return [r.status_code for r in await asyncio.gather(*sends)]

    with ThreadPoolExecutor(1) as pool:
        codes = pool.submit(asyncio.run, race()).result()
    assert sorted(codes) == [201, 409], codes
    session.expire_all()
    votes = session.scalars(
        select(ConsultationVote).where(ConsultationVote.consultation_id == c["id"])
    ).all()
    assert len(votes) == 1


def test_moderation_shows_the_reason_in_public(api: Api, session: Session) -> None:
    c = _open(api, kind="proposals", options=[])
    token = _pass(api, session, c["id"]).json()["pass"]
    base = f"/api/v1/public/consultations/{c['id']}"
    p = api.client.post(f"{base}/proposals", json={"pass": token, "label": "加装隔音屏"})
    assert p.status_code == 201, p.text
    m = api.client.post(f"{base}/comments", json={"pass": token, "body": "广告：代办一切"})
    assert m.status_code == 201
    hide = {"target": "comment", "id": m.json()["id"], "reason": "广告"}
    assert (
        api.post(f"/api/v1/consultations/{c['id']}/moderation", who="sup", json=hide).status_code
        == 200
    )
    shown = api.client.get(base).json()["comments"][0]
    assert shown["body"] is None and shown["hidden_reason"] == "广告"
    assert (
        api.post(
            f"/api/v1/consultations/{c['id']}/moderation", who="analyst", json=hide
        ).status_code
        == 403
    )


def test_one_address_cannot_text_many_phones(api: Api) -> None:
    c = _open(api)
    url = f"/api/v1/public/consultations/{c['id']}/codes"
    codes = [api.client.post(url, json={"phone": f"1360000{i:04d}"}).status_code for i in range(6)]
    assert codes == [202] * 5 + [429]
    r = api.client.post(url, json={"phone": "13600009999"})
    assert (
        r.json()["error"]["fields"][0]["field"] == "phone" and r.json()["error"]["retry_after"] >= 1
    )
    # And one phone gets at most three codes an hour, from wherever it is asked.
    app = api.client.app
    app.state.consult_code_limits = None  # type: ignore[attr-defined]
    same = [api.client.post(url, json={"phone": INSIDE}).status_code for _ in range(4)]
    assert same == [202, 202, 202, 409]


def test_a_survey_over_the_api(api: Api, session: Session) -> None:
    qs = [
        {"text": "几点停工？", "options": ["20点", "22点"]},
        {"text": "设监测点？", "options": ["要", "不要"]},
    ]
    c = _open(api, kind="survey", options=[], questions=qs)
    assert c["questions"] == ["几点停工？", "设监测点？"]
    token = _pass(api, session, c["id"]).json()["pass"]
    url = f"/api/v1/public/consultations/{c['id']}/votes"
    r = api.client.post(url, json={"pass": token, "option_id": c["options"][0]["id"]})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "answers"
    answers = [c["options"][1]["id"], c["options"][2]["id"]]
    r = api.client.post(url, json={"pass": token, "answers": answers})
    assert r.status_code == 201 and r.json()["votes"] == 1, r.text
    assert api.client.post(url, json={"pass": token, "answers": answers}).status_code == 409
    one = [{"text": "q", "options": ["a"]}]
    body = {**POLL, "kind": "survey", "options": [], "questions": one}
    bad = api.post("/api/v1/consultations", who="sup", json=body)
    assert (
        bad.status_code == 422
        and bad.json()["error"]["fields"][0]["field"] == "questions.1.options"
    )
