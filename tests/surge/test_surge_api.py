"""/api/v1/surge: declare, the operator's script, attach by hand, dashboard, bulk reply, end,
report — and bad input answered naming the field."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from surgekit import HEAT_TEXT, call, cold_wave

from apiclient import Api


def test_a_cold_wave_through_the_api(session: Session, api: Api, clock: FixedClock) -> None:
    r = api.post("/api/v1/surge/events", "sup", json=cold_wave())
    assert r.status_code == 201, r.text
    event = r.json()
    eid, master = event["id"], event["cases"][0]["master"]
    assert event["status"] == "active" and event["cases"][0]["area"] == "110101"
    assert api.post("/api/v1/surge/events", "op", json=cold_wave()).status_code == 403

    # The operator sees the script while typing: by the words before the place is known.
    r = api.get("/api/v1/surge/scripts", "op", params={"text": HEAT_TEXT})
    assert r.status_code == 200 and [s["event"] for s in r.json()] == [eid]
    assert "place not known yet" in r.json()[0]["why"]
    r = api.get("/api/v1/surge/scripts", "op", params={"text": HEAT_TEXT, "area": "110102"})
    assert r.json() == []  # another district

    submitted = api.post(
        "/api/v1/requests",
        "op",
        json={"text": HEAT_TEXT, "area": "110101001", "contact": {"phone": "13800138000"}},
    )
    assert submitted.status_code == 201, submitted.text
    # A caller whose words did not give it away is attached by hand, with a reason.
    quiet = call(
        session, api.world, clock.now(), text="屋里太冷了，一直没人管", phone="13900139000"
    )
    session.commit()
    r = api.post(
        f"/api/v1/surge/events/{eid}/attach",
        "disp",
        json={"ticket": quiet.ticket, "reason": "寒潮"},
    )
    assert r.status_code == 200 and r.json() == {
        "ticket": quiet.ticket,
        "master": master,
        "callers": 2,
    }
    again = api.post(
        f"/api/v1/surge/events/{eid}/attach", "disp", json={"ticket": quiet.ticket, "reason": "x"}
    )
    assert again.status_code == 409

    board = api.get(f"/api/v1/surge/events/{eid}/dashboard", "analyst").json()
    assert board["callers"] == 2 and board["open"] == 2
    assert sum(board["volume"]["values"]) == 2 and board["volume"]["bucket"] == "hour"
    assert board["areas"][0]["callers"] == 2

    r = api.post(f"/api/v1/surge/events/{eid}/reply", "sup", json={"text": "已恢复供暖"})
    assert r.status_code == 200, r.text
    # The one attached by hand had no category, so nothing dispatched it: said, not hidden.
    assert r.json()["replied"] == [submitted.json()["ticket"]]
    assert r.json()["skipped"] == [{"ticket": quiet.ticket, "reason": "it is received"}]

    assert api.get(f"/api/v1/surge/events/{eid}/report", "sup").status_code == 409
    r = api.post(f"/api/v1/surge/events/{eid}/end", "sup", json={"note": "气温回升"})
    assert r.status_code == 200 and r.json()["status"] == "ended"
    assert api.post(f"/api/v1/surge/events/{eid}/end", "sup", json={}).status_code == 409
    report = api.get(f"/api/v1/surge/events/{eid}/report", "analyst").json()
    assert report["callers"] == 2 and report["replied"] == 1
    assert report["bulk_replies"] == {"sent": 1, "reached": 1}
    html = api.get(f"/api/v1/surge/events/{eid}/report", "sup", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "Event report" in html.text
    listed = api.get("/api/v1/surge/events", "h1", params={"status": "ended"}).json()
    assert [e["id"] for e in listed] == [eid]


def test_bad_input_is_answered_naming_the_field(api: Api) -> None:
    r = api.post("/api/v1/surge/events", "sup", json=cold_wave(areas=[]))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "areas"
    r = api.post("/api/v1/surge/events", "sup", json=cold_wave(areas=["nowhere"]))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "areas[0]"
    r = api.post("/api/v1/surge/events", "sup", json=cold_wave(ends_at="2026-11-01T00:00:00+08:00"))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "ends_at"
    r = api.post("/api/v1/surge/events", "sup", json=cold_wave(categories=["nope"]))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "categories[0]"
    assert api.post("/api/v1/surge/events", "sup", json=cold_wave()).status_code == 201
    r = api.post("/api/v1/surge/events", "sup", json=cold_wave())
    assert r.status_code == 409 and r.json()["error"]["fields"][0]["field"] == "areas"
    assert api.get("/api/v1/surge/events/999", "sup").status_code == 404
