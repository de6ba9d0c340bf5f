"""The loop's routes: roles, the queue, attempts, the private link, exclusions, bad input."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.loop.callbacks import current_task
from loopkit import replied

from apiclient import Api


def _task_id(session: Session, api: Api, clock: FixedClock, **fields: object) -> tuple[int, str]:
    req = replied(session, api.world, clock, **fields)
    task = current_task(session, req)
    assert task is not None
    session.commit()
    return task.id, req.ticket


def test_queue_attempts_and_answer(session: Session, api: Api, clock: FixedClock) -> None:
    first, _ = _task_id(session, api, clock)
    second, ticket = _task_id(session, api, clock)
    r = api.get("/api/v1/callbacks", "op")
    assert r.status_code == 200 and [t["id"] for t in r.json()] == [first, second]  # due first
    assert api.get("/api/v1/callbacks", "h1").status_code == 403
    assert api.get("/api/v1/callbacks", "citizen").status_code == 403

    r = api.post(f"/api/v1/callbacks/{second}/attempts", "op", json={"reached": False})
    assert r.status_code == 200 and r.json()["attempts"] == 1 and r.json()["status"] == "open"
    r = api.post(f"/api/v1/callbacks/{second}/attempts", "h1", json={"reached": False})
    assert r.status_code == 403
    r = api.post(
        f"/api/v1/callbacks/{second}/attempts",
        "op",
        json={"reached": True, "resolution": "partly", "satisfaction": "excellent"},
    )
    assert r.status_code == 422 and "satisfaction" in r.text
    r = api.post(
        f"/api/v1/callbacks/{second}/attempts", "op", json={"reached": True, "resolution": "partly"}
    )
    assert r.status_code == 422 and "satisfaction" in r.text
    r = api.post(
        f"/api/v1/callbacks/{second}/attempts",
        "op",
        json={"reached": True, "resolution": "partly", "satisfaction": "basically", "note": "ok"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["request_status"], body["attempts"]) == ("done", "closed", 2)
    r = api.get(f"/api/v1/requests/{ticket}", "sup").json()
    assert (r["solved"], r["satisfaction"]) == (False, "basically")
    # A second answer for the same cycle is refused; nothing is counted twice.
    r = api.post(
        f"/api/v1/callbacks/{second}/attempts",
        "op",
        json={"reached": True, "resolution": "solved", "satisfaction": "satisfied"},
    )
    assert r.status_code == 409
    r = api.post(
        f"/api/v1/requests/{ticket}/call-back",
        "op",
        json={"solved": True, "satisfaction": "satisfied"},
    )
    assert r.status_code == 409
    assert api.get("/api/v1/callbacks?status=done", "op").json()[0]["id"] == second
    assert (
        api.post("/api/v1/callbacks/9999/attempts", "op", json={"reached": False}).status_code
        == 404
    )


def test_generic_call_back_takes_resolution(session: Session, api: Api, clock: FixedClock) -> None:
    fresh = api.post(
        "/api/v1/requests",
        "op",
        json={"text": "路灯不亮", "category": "010101", "area": "110101001"},
    )
    ticket = fresh.json()["ticket"]
    r = api.post(
        f"/api/v1/requests/{ticket}/call-back",
        "op",
        json={"resolution": "solved", "satisfaction": "satisfied"},
    )
    assert r.status_code == 409  # never replied to
    _, ticket = _task_id(session, api, clock)
    r = api.post(
        f"/api/v1/requests/{ticket}/call-back",
        "op",
        json={"resolution": "mostly", "satisfaction": "satisfied"},
    )
    assert r.status_code == 422 and "resolution" in r.text
    r = api.post(
        f"/api/v1/requests/{ticket}/call-back",
        "op",
        json={"resolution": "partly", "satisfaction": "satisfied"},
    )
    assert r.status_code == 200 and r.json()["status"] == "called_back"
    assert r.json()["timeline"][-1]["payload"]["resolution"] == "partly"


def test_private_link_answers_once(session: Session, api: Api, clock: FixedClock) -> None:
    task_id, ticket = _task_id(session, api, clock)
    assert api.post(f"/api/v1/callbacks/{task_id}/link", "citizen").status_code == 403
    r = api.post(f"/api/v1/callbacks/{task_id}/link", "op")
    assert r.status_code == 200
    token = r.json()["token"]
    assert token not in str(current_task(session, _req(session, ticket)).link_token_hash)
    url = f"/api/v1/public/callbacks/{token}"
    bad = api.client.post(url, json={"resolution": "solved", "satisfaction": "10"})
    assert bad.status_code == 422 and "satisfaction" in bad.text
    r = api.client.post(
        url, json={"resolution": "solved", "satisfaction": "satisfied", "comment": "谢谢"}
    )
    assert r.status_code == 200 and r.json() == {
        "ticket": ticket,
        "status": "closed",
        "message": "thank you",
    }
    again = api.client.post(url, json={"resolution": "unsolved", "satisfaction": "unsatisfied"})
    assert again.status_code == 410
    assert (
        api.client.post(
            "/api/v1/public/callbacks/nope",
            json={"resolution": "solved", "satisfaction": "satisfied"},
        ).status_code
        == 404
    )
    timeline = api.get(f"/api/v1/requests/{ticket}", "sup").json()["timeline"]
    assert timeline[-2]["payload"]["channel"] == "link"


def test_expired_link_is_gone(session: Session, api: Api, clock: FixedClock) -> None:
    task_id, _ = _task_id(session, api, clock)
    token = api.post(f"/api/v1/callbacks/{task_id}/link", "op").json()["token"]
    clock.advance(timedelta(days=8))
    r = api.client.post(
        f"/api/v1/public/callbacks/{token}",
        json={"resolution": "solved", "satisfaction": "satisfied"},
    )
    assert r.status_code == 410


def test_exclusion_roles_and_decision(session: Session, api: Api, clock: FixedClock) -> None:
    _, ticket = _task_id(session, api, clock)
    url = f"/api/v1/requests/{ticket}/exclusion"
    assert api.post(url, "h1", json={"reason": ""}).status_code == 422
    assert api.post(url, "h1", json={"evidence": []}).status_code == 422
    assert api.post(url, "h2", json={"reason": "不是我们的"}).status_code == 403  # not lead
    assert api.post(url, "op", json={"reason": "x"}).status_code == 403
    r = api.post(
        url,
        "h1",
        json={
            "reason": "诉求超出法定职责",
            "evidence": [{"note": "见答复"}, {"url": "https://x.cn/a"}],
        },
    )
    assert r.status_code == 201, r.text
    xid = r.json()["id"]
    assert api.post(url, "h1", json={"reason": "again"}).status_code == 409
    pending = api.get("/api/v1/exclusions?status=pending", "sup").json()
    assert [x["id"] for x in pending] == [xid]
    assert api.get("/api/v1/exclusions", "h2").json() == []  # another unit's
    assert api.get("/api/v1/exclusions", "citizen").status_code == 403
    decide = f"/api/v1/exclusions/{xid}/decision"
    assert api.post(decide, "h1", json={"decision": "approved", "note": "ok"}).status_code == 403
    assert api.post(decide, "sup", json={"decision": "approved", "note": ""}).status_code == 422
    assert api.post(decide, "sup", json={"decision": "maybe", "note": "x"}).status_code == 422
    r = api.post(decide, "sup", json={"decision": "approved", "note": "核实"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert api.post(decide, "sup", json={"decision": "refused", "note": "x"}).status_code == 409
    # In the staff timeline, not on the public tracking page.
    staff = [e["kind"] for e in api.get(f"/api/v1/requests/{ticket}", "sup").json()["timeline"]]
    assert staff[-2:] == ["exclusion_requested", "exclusion_approved"]
    public = api.client.get(f"/api/v1/public/requests/{ticket}").json()
    assert "exclusion" not in str(public)


def _req(session: Session, ticket: str):  # type: ignore[no-untyped-def]
    from jiesu.workflow.service import get_by_ticket

    return get_by_ticket(session, ticket)
