"""Dispatch over HTTP: the catalogue (admins change it, bad rules named), dispatch following
the catalogue, what a request shows about how its unit was chosen, preview and stats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from jiesu.kit.clock import FixedClock

from apiclient import Api

URBAN = {"id": "urban", "name": "城乡建设 → 街道", "match": {"categories": ["01"]}}
WATER = {"id": "water", "match": {"categories": ["010102"]}, "lead": "PS-WATER"}
CATALOGUE: dict[str, Any] = {
    "settings": {"auto_dispatch": False},
    "rules": [
        URBAN | {"lead": {"role": "street_office"}},
        WATER | {"assisting": [{"role": "street_office"}]},
    ],
    "note": "first catalogue",
}


def put(api: Api, body: dict[str, Any], who: str = "admin") -> Any:
    return api.client.put("/api/v1/dispatch/catalogue", headers=api.as_(who), json=body)


def test_only_admins_change_the_catalogue_and_bad_rules_are_named(api: Api) -> None:
    assert put(api, CATALOGUE, who="sup").status_code == 403
    bad = {"rules": [{"id": "x", "lead": "NO-SUCH-UNIT", "match": {"categories": ["77"]}}]}
    r = put(api, bad)
    assert r.status_code == 422
    text = r.text
    assert "NO-SUCH-UNIT" in text and "'77'" in text
    assert api.get("/api/v1/dispatch/catalogue").status_code == 404
    r = put(api, CATALOGUE)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["note"] == "first catalogue"
    got = api.get("/api/v1/dispatch/catalogue", who="h1").json()
    assert [x["id"] for x in got["rules"]] == ["urban", "water"]
    assert api.get("/api/v1/dispatch/catalogue", who="citizen").status_code == 403
    second = put(api, CATALOGUE | {"settings": {"auto_dispatch": True}}).json()
    assert second["version"] == 2
    back = api.post("/api/v1/dispatch/catalogue/versions/1/activate", who="admin")
    assert back.status_code == 200 and back.json()["active"]
    versions = api.get("/api/v1/dispatch/catalogue/versions").json()
    assert [(v["version"], v["active"]) for v in versions] == [(1, True), (2, False)]
    assert (
        api.post("/api/v1/dispatch/catalogue/versions/9/activate", who="admin").status_code == 404
    )


def test_dispatch_follows_the_catalogue_and_the_request_shows_why(api: Api) -> None:
    assert put(api, CATALOGUE).status_code == 200
    body = api.post(
        "/api/v1/requests",
        json={"text": "小区停水两天了", "category": "010102", "area": "110101008"},
    ).json()
    ticket = body["ticket"]
    assert body["status"] == "received" and body["dispatch"] is None
    waiting = api.get(f"/api/v1/requests/{ticket}/dispatch", who="disp").json()
    assert waiting["decision"]["unit"] == "PS-WATER" and waiting["history"] == []
    assert waiting["decision"]["suggestions"][0]["unit"] == "PS-WATER"
    r = api.post(f"/api/v1/requests/{ticket}/dispatch", who="disp", json={})
    assert r.status_code == 200, r.text
    shown = api.get(f"/api/v1/requests/{ticket}").json()
    assert shown["lead_unit"]["code"] == "PS-WATER"
    assert [u["code"] for u in shown["assisting_units"]] == ["ST-110101008"]
    info = shown["dispatch"]
    assert (info["source"], info["rule"], info["confidence"], info["catalogue_version"]) == (
        "rule", "water", 1.0, 1,
    )  # fmt: skip
    assert info["reasons"] and info["suggested_unit"] is None
    # The unit returns it; the next decision leaves the unit out.
    r = api.post(f"/api/v1/requests/{ticket}/return", who="admin", json={"reason": "不是供水问题"})
    assert r.status_code == 200, r.text
    after = api.get(f"/api/v1/requests/{ticket}/dispatch", who="disp").json()
    assert after["decision"]["unit"] == "ST-110101008"
    assert [(h["unit"], h["outcome"]) for h in after["history"]] == [("PS-WATER", "returned")]
    stats = api.get("/api/v1/dispatch/stats").json()
    water = next(x for x in stats["by_rule"] if x["rule"] == "water")
    assert (water["dispatched"], water["returned"], water["return_rate"]) == (1, 1, 1.0)


def test_preview_says_what_would_happen(api: Api) -> None:
    assert put(api, CATALOGUE).status_code == 200
    r = api.post(
        "/api/v1/dispatch/preview",
        who="disp",
        json={"text": "路灯不亮", "category": "010101", "area": "交道口街道"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["unit"], r.json()["rule"]) == ("ST-110101008", "urban")
    r = api.post("/api/v1/dispatch/preview", who="disp", json={"text": "x", "area": "火星"})
    assert r.status_code == 422 and "area" in r.text
    r = api.post("/api/v1/dispatch/preview", who="disp", json={"text": "x", "channel": "fax"})
    assert r.status_code == 422 and "channel" in r.text


def test_the_dispatchers_queue_lists_waiting_requests_with_suggestions(api: Api) -> None:
    assert put(api, CATALOGUE).status_code == 200
    calm = api.post("/api/v1/requests", json={"text": "路灯坏了", "category": "010101"}).json()
    gas = api.post(
        "/api/v1/requests",
        json={"text": "东华门街道楼道里燃气味很浓，家里有老人", "category": "010102"},
    ).json()
    assert api.get("/api/v1/dispatch/queue", who="h1").status_code == 403
    rows = api.get("/api/v1/dispatch/queue", who="disp").json()
    # The more urgent first; each with what the catalogue decides.
    assert [r["ticket"] for r in rows] == [gas["ticket"], calm["ticket"]]
    assert rows[0]["decision"]["unit"] == "PS-WATER"
    assert rows[1]["decision"]["suggestions"]
    api.post(f"/api/v1/requests/{gas['ticket']}/dispatch", who="disp", json={})
    rows = api.get("/api/v1/dispatch/queue", who="disp").json()
    assert [r["ticket"] for r in rows] == [calm["ticket"]]


def test_return_is_not_offered_after_the_window(api: Api, clock: FixedClock) -> None:
    body = api.post("/api/v1/requests", json={"text": "路灯坏了", "category": "010101"}).json()
    ticket = body["ticket"]
    r = api.post(f"/api/v1/requests/{ticket}/dispatch", who="disp", json={"unit": "ST-110101001"})
    assert r.status_code == 200, r.text
    assert "return" in api.get(f"/api/v1/requests/{ticket}", who="h1").json()["allowed_actions"]
    clock.advance(timedelta(hours=25))  # no catalogue: the default window is 24 hours
    shown = api.get(f"/api/v1/requests/{ticket}", who="h1").json()["allowed_actions"]
    assert "return" not in shown and "accept" in shown
    r = api.post(f"/api/v1/requests/{ticket}/return", who="h1", json={"reason": "不归我们"})
    assert r.status_code == 409 and "return window" in r.text
