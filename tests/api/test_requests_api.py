"""The REST API end to end: create, read with timeline, list, every action, errors."""

from __future__ import annotations

from datetime import timedelta

from jiesu.kit.clock import FixedClock

from apiclient import Api

NEW = {
    "text": "东华门街道某小区楼下饭店每天夜里施工，噪音很大，影响休息",
    "category": "010101",
    "area": "110101001",
    "address": "东华门街道某小区3号楼",
    "contact": {"name": "张三", "phone": "19900001234"},
}


def create(api: Api, **changes: object) -> dict:
    r = api.post("/api/v1/requests", json=NEW | changes)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_and_read_with_timeline(api: Api) -> None:
    made = create(api)
    assert made["status"] == "received"
    assert made["category"]["path"] == ["城乡建设", "市政管理", "噪音扰民"]
    assert made["received_at"].endswith("+08:00")  # city time zone
    r = api.get(f"/api/v1/requests/{made['ticket']}")
    body = r.json()
    assert body["timeline"][0]["kind"] == "received"
    assert body["contact"] == {"name": "张三", "phone": "19900001234", "email": "", "masked": False}
    assert "dispatch" in body["allowed_actions"]


def test_whole_loop_over_http(api: Api, clock: FixedClock) -> None:
    t = create(api)["ticket"]
    base = f"/api/v1/requests/{t}"
    assert api.post(f"{base}/dispatch", "disp", json={"unit": "ST-110101001"}).status_code == 200
    clock.advance(timedelta(hours=1))
    assert api.post(f"{base}/accept", "h1").status_code == 200
    assert api.post(f"{base}/reply", "h1", json={"text": "已处理"}).status_code == 200
    r = api.post(f"{base}/call-back", "op", json={"solved": True, "satisfaction": "satisfied"})
    assert r.status_code == 200, r.text
    r = api.post(f"{base}/close", "op", json={})
    assert r.json()["status"] == "closed"
    kinds = [e["kind"] for e in r.json()["timeline"]]
    assert kinds == ["received", "dispatch", "accept", "reply", "call_back", "close"]


def test_illegal_action_is_409_with_allowed_actions(api: Api) -> None:
    t = create(api)["ticket"]
    r = api.post(f"/api/v1/requests/{t}/reply", "sup", json={"text": "x"})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "illegal_action" and "dispatch" in err["allowed_actions"]


def test_return_without_reason_names_the_field(api: Api) -> None:
    t = create(api)["ticket"]
    api.post(f"/api/v1/requests/{t}/dispatch", "disp", json={"unit": "ST-110101001"})
    r = api.post(f"/api/v1/requests/{t}/return", "h1", json={})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "reason"


def test_unknown_category_is_422_with_hints(api: Api) -> None:
    r = api.post("/api/v1/requests", json=NEW | {"category": "噪音"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["fields"][0]["field"] == "category"
    assert any("010101" in h for h in err["hints"])


def test_text_over_limit_is_refused_clearly(api: Api) -> None:
    r = api.post("/api/v1/requests", json=NEW | {"text": "长" * 10_001})
    assert r.status_code == 422
    field = r.json()["error"]["fields"][0]
    assert field["field"] == "text" and "10,000" in field["problem"]


def test_time_without_zone_is_refused(api: Api) -> None:
    r = api.post("/api/v1/requests", json=NEW | {"received_at": "2026-11-01T10:00:00"})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "received_at"


def test_source_key_is_idempotent(api: Api) -> None:
    first = create(api, source_key="line-7")
    r = api.post("/api/v1/requests", json=NEW | {"source_key": "line-7"})
    assert r.status_code == 200 and r.json()["ticket"] == first["ticket"]


def test_list_filters_and_paging(api: Api) -> None:
    for _ in range(3):
        create(api)
    create(api, category="010102", text="家里停水一整天了")
    r = api.get("/api/v1/requests", params={"page_size": 2})
    page = r.json()
    assert page["total"] == 4 and len(page["items"]) == 2
    r = api.get("/api/v1/requests", params={"category": "0101", "q": "停水"})
    assert r.json()["total"] == 1
    r = api.get("/api/v1/requests", params={"status": "dispatched"})
    assert r.json()["total"] == 0


def test_handler_sees_only_own_unit_and_masked_contacts(api: Api) -> None:
    mine = create(api)["ticket"]
    other = create(api)["ticket"]
    api.post(f"/api/v1/requests/{mine}/dispatch", "disp", json={"unit": "ST-110101001"})
    api.post(f"/api/v1/requests/{other}/dispatch", "disp", json={"unit": "ST-110101008"})
    listed = api.get("/api/v1/requests", "h1").json()
    assert [i["ticket"] for i in listed["items"]] == [mine]
    assert api.get(f"/api/v1/requests/{other}", "h1").status_code == 403
    contact = api.get(f"/api/v1/requests/{mine}", "h1").json()["contact"]
    assert contact["masked"] and contact["phone"] == "199****1234" and contact["name"] == "张*"


def test_no_token_is_401(api: Api) -> None:
    r = api.client.get("/api/v1/requests")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


def test_password_login(api: Api) -> None:
    r = api.client.post("/api/v1/auth/token", data={"username": "op", "password": "password-123"})
    assert r.status_code == 200
    token = r.json()["access_token"]
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "operator"
    bad = api.client.post("/api/v1/auth/token", data={"username": "op", "password": "nope-nope"})
    assert bad.status_code == 401


def test_openapi_lists_every_action(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for action in (
        "dispatch",
        "accept",
        "return",
        "transfer",
        "reply",
        "call-back",
        "close",
        "reopen",
        "merge",
        "mark-invalid",
        "confirm-invalid",
        "reject-invalid",
    ):
        assert f"/api/v1/requests/{{ticket}}/{action}" in paths


def test_unstorable_values_are_client_errors(api: Api) -> None:
    # PostgreSQL cannot store NUL characters; the answer must still be a clear 4xx, never a 500.
    r = api.client.post("/api/v1/auth/token", data={"username": "a\x00b", "password": "x"})
    assert r.status_code in (401, 422)
    r = api.post("/api/v1/requests", json={"text": "路灯\x00坏了", "category": "010101"})
    assert r.status_code in (201, 422)
    r = api.get("/api/v1/categories", params={"level": 2147483648})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "level"
