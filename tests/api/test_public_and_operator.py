"""Operator intake by phone and public web submission go through the same door."""

from __future__ import annotations

from jiesu.kit.clock import FixedClock

from apiclient import Api

PHONE_CALL = {
    "channel": "phone",
    "text": "来电人反映交道口街道某小区垃圾三天没人清运，气味很大",
    "area": "交道口街道",
    "category": "010101",
    "contact": {"name": "李四", "phone": "19900005678"},
}


def test_operator_phone_intake_keeps_contact_and_channel(api: Api) -> None:
    r = api.post("/api/v1/requests", "op", json=PHONE_CALL)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["channel"] == "phone" and body["area"]["code"] == "110101008"
    assert body["contact"]["phone"] == "19900005678"
    assert body["timeline"][0]["actor"] == "op"


def test_idempotency_key_header_makes_retries_safe(api: Api) -> None:
    headers = {**api.as_("op"), "Idempotency-Key": "call-42"}
    first = api.client.post("/api/v1/requests", json=PHONE_CALL, headers=headers)
    again = api.client.post("/api/v1/requests", json=PHONE_CALL, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["ticket"] == again.json()["ticket"]
    other_user = api.client.post(
        "/api/v1/requests",
        json=PHONE_CALL,
        headers={**api.as_("sup"), "Idempotency-Key": "call-42"},
    )
    assert other_user.status_code == 201  # keys are per account


def test_public_submission_and_tracking_reveal_nothing_personal(
    api: Api, clock: FixedClock
) -> None:
    body = {
        "text": "东华门街道路灯不亮",
        "area": "110101001",
        "contact": {"name": "王五", "phone": "19900009999"},
    }
    r = api.client.post("/api/v1/public/requests", json=body, headers={"Idempotency-Key": "f1"})
    assert r.status_code == 201, r.text
    ticket = r.json()["ticket"]
    again = api.client.post("/api/v1/public/requests", json=body, headers={"Idempotency-Key": "f1"})
    assert again.status_code == 200 and again.json()["ticket"] == ticket
    staff = api.get(f"/api/v1/requests/{ticket}").json()
    assert staff["channel"] == "web" and staff["contact"]["name"] == "王五"
    api.post(f"/api/v1/requests/{ticket}/notes", "disp", json={"text": "内部备注：来电人情绪激动"})
    api.post(f"/api/v1/requests/{ticket}/dispatch", "disp",
             json={"unit": "ST-110101001", "category": "010101"})  # fmt: skip
    api.post(f"/api/v1/requests/{ticket}/accept", "h1")
    api.post(f"/api/v1/requests/{ticket}/reply", "h1", json={"text": "路灯已修复"})
    public = api.client.get(f"/api/v1/public/requests/{ticket}")
    assert public.status_code == 200
    text = public.text
    assert "王五" not in text and "19900009999" not in text and "内部备注" not in text
    kinds = [m["kind"] for m in public.json()["timeline"]]
    assert kinds == ["received", "dispatch", "accept", "reply"]
    assert public.json()["timeline"][-1]["text"] == "路灯已修复"
    assert public.json()["status_label"] == "已答复，待回访"


def test_public_errors_name_the_field(api: Api) -> None:
    r = api.client.post("/api/v1/public/requests", json={"text": "", "lat": 95})
    assert r.status_code == 422
    fields = {f["field"] for f in r.json()["error"]["fields"]}
    assert {"text", "lat"} <= fields
    assert api.client.get("/api/v1/public/requests/NOPE").status_code == 404


def test_public_half_a_position_is_a_field_error(api: Api) -> None:
    r = api.client.post("/api/v1/public/requests", json={"text": "路灯坏了", "lat": 39.9})
    assert r.status_code == 422
    assert "lat and lon" in r.json()["error"]["message"]
