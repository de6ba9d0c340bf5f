"""Intake suggestions as the API shows them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.nlp import registry
from jiesu.nlp.model import TextClassifier

from apiclient import Api


def test_api_shows_suggestions_and_dispatch_confirms(api: Api) -> None:
    r = api.post("/api/v1/requests", json={"text": "楼下夜里施工噪音很大"})
    body = r.json()
    assert body["category"]["code"] == "010101" and body["category_confirmed"] is False
    assert body["category_suggestions"][0]["why"] == ["噪音"]
    ticket = body["ticket"]
    done = api.post(f"/api/v1/requests/{ticket}/dispatch", "disp", json={"unit": "ST-110101001"})
    assert done.json()["category_confirmed"] is True


def test_human_check_queue_and_correction(api: Api) -> None:
    unsure = api.post("/api/v1/requests", json={"text": "想咨询一下这件事怎么办"}).json()
    sure = api.post("/api/v1/requests", json={"text": "小区燃气管道有燃气味"}).json()
    confirmed = api.post(
        "/api/v1/requests", json={"text": "楼下施工噪音", "category": "010101"}
    ).json()
    assert unsure["category"] is None and sure["category"]["code"] == "010103"
    queue = api.get("/api/v1/requests?category_confirmed=false", "disp").json()
    assert {r["ticket"] for r in queue["items"]} == {unsure["ticket"], sure["ticket"]}
    fixed = api.post(
        f"/api/v1/requests/{sure['ticket']}/categorize", "disp", json={"category": "010102"}
    ).json()
    assert fixed["category"]["code"] == "010102" and fixed["category_confirmed"] is True
    assert fixed["timeline"][-1]["payload"]["corrected"] is True
    queue = api.get("/api/v1/requests?category_confirmed=false", "disp").json()
    assert [r["ticket"] for r in queue["items"]] == [unsure["ticket"]]
    done = api.get("/api/v1/requests?category_confirmed=true", "disp").json()
    assert {r["ticket"] for r in done["items"]} == {sure["ticket"], confirmed["ticket"]}
    assert all(r["heat"] == 1 for r in done["items"])
    handler = api.post(
        f"/api/v1/requests/{unsure['ticket']}/categorize", "h1", json={"category": "010101"}
    )
    assert handler.status_code == 403
    bad = api.post(f"/api/v1/requests/{unsure['ticket']}/categorize", "disp", json={})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"].endswith("category")


def test_merge_adds_heat_and_lists_by_heat(api: Api) -> None:
    first = api.post("/api/v1/requests", json={"text": "小区门口路灯坏了", "category": "010101"})
    t1 = first.json()["ticket"]
    for _ in range(2):
        dup = api.post("/api/v1/requests", json={"text": "门口路灯不亮", "category": "010101"})
        merged = api.post(
            f"/api/v1/requests/{dup.json()['ticket']}/merge", "disp", json={"into": t1}
        )
        assert merged.status_code == 200, merged.text
    hot = api.get("/api/v1/requests?sort=heat&min_heat=2", "disp").json()
    assert [(r["ticket"], r["heat"]) for r in hot["items"]] == [(t1, 3)]


def test_classifier_versions_listed_and_activated_by_admin(
    api: Api, session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    assert api.get("/api/v1/understanding/models", "sup").json() == []
    model = TextClassifier().fit(
        ["楼上噪音", "夜里噪音大", "家里停水", "停水两天"], ["010101"] * 2 + ["010102"] * 2
    )
    row = registry.register(
        session, model, kind="category", data_dir=tmp_path, now=clock.now(), source="test"
    )
    session.commit()
    listed = api.get("/api/v1/understanding/models", "analyst").json()
    assert [(m["version"], m["active"], m["n"]) for m in listed] == [(row.version, False, 4)]
    assert api.get("/api/v1/understanding/models", "h1").status_code == 403
    path = f"/api/v1/understanding/models/{row.version}/activate"
    assert api.post(path, "sup").status_code == 403
    assert api.post(path, "admin").json()["active"] is True
    assert api.post("/api/v1/understanding/models/nope/activate", "admin").status_code == 404
    body = api.post("/api/v1/requests", json={"text": "家里停水了"}).json()
    assert body["category_suggestions"][0]["why"] == [f"model {row.version}"]


def test_list_refuses_absurd_dates(api: Api) -> None:
    r = api.get("/api/v1/requests?received_from=0001-01-01T00:00:00%2B01:00", "disp")
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "received_from"
