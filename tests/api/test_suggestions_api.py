"""Intake suggestions as the API shows them."""

from __future__ import annotations

from apiclient import Api


def test_api_shows_suggestions_and_dispatch_confirms(api: Api) -> None:
    r = api.post("/api/v1/requests", json={"text": "楼下夜里施工噪音很大"})
    body = r.json()
    assert body["category"]["code"] == "010101" and body["category_confirmed"] is False
    assert body["category_suggestions"][0]["why"] == ["噪音"]
    ticket = body["ticket"]
    done = api.post(f"/api/v1/requests/{ticket}/dispatch", "disp", json={"unit": "ST-110101001"})
    assert done.json()["category_confirmed"] is True
