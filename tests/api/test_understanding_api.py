"""What the machine read in a request, as the API shows it: at intake and as a preview."""

from __future__ import annotations

from jiesu.nlp.duplicates import THRESHOLD

from apiclient import Api

GAS = "东华门街道的小区楼道里燃气味很浓，家里还有老人，请马上来人处理！"


def test_intake_applies_place_and_urgency_with_reasons(api: Api) -> None:
    body = api.post("/api/v1/requests", json={"title": "", "text": GAS}).json()
    seen = body["understanding"]
    # The street is named in the text: applied, with the words and where they are.
    assert body["area"]["code"] == "110101001" and seen["area_source"] == "text"
    best = seen["place"]["best"]
    assert best["area_code"] == "110101001" and GAS[best["start"] : best["end"]] == best["text"]
    # Gas in a home sets the emergency clock; the reasons say why.
    assert body["urgency"] == "emergency"
    codes = [r["code"] for r in seen["urgency"]["reasons"]]
    assert any("gas" in c for c in codes), codes
    assert body["urgency_score"] == seen["urgency"]["score"] >= 50
    assert seen["demand"]["level"] in ("basic", "quality", "development")
    assert 0 <= seen["priority"]["score"] <= 100
    assert -1 <= seen["sentiment"]["score"] <= 1
    assert seen["duplicates"] == [] and seen["unreadable"] is None


def test_second_caller_sees_the_first_as_a_duplicate(api: Api) -> None:
    first = api.post(
        "/api/v1/requests",
        json={
            "text": "东华门街道南池子大街路口的红绿灯坏了，一直闪黄灯，车辆很乱",
            "category": "010101",
        },
    ).json()
    second = api.post(
        "/api/v1/requests",
        json={"text": "南池子大街路口红绿灯坏了一直闪黄灯，东华门这边车很乱", "category": "010101"},
    ).json()
    dups = second["understanding"]["duplicates"]
    assert [d["ticket"] for d in dups] == [first["ticket"]]
    assert dups[0]["score"] >= THRESHOLD and dups[0]["reasons"]
    listed = api.get("/api/v1/requests?sort=urgency", "disp").json()["items"]
    scores = [r["urgency_score"] for r in listed]
    assert scores == sorted(scores, reverse=True)


def test_unreadable_text_is_accepted_without_suggestions(api: Api) -> None:
    body = api.post("/api/v1/requests", json={"text": "Уличный фонарь не работает"}).json()
    assert body["status"] == "received" and body["category"] is None
    assert body["understanding"]["unreadable"] == (
        "the text is in Cyrillic, which the models do not read"
    )
    assert body["category_suggestions"] == [] and body["urgency_score"] is None


def test_preview_shows_what_intake_would_do_without_recording(api: Api) -> None:
    r = api.post("/api/v1/understanding/preview", "op", json={"text": GAS})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["area_to_apply"] == "110101001"
    assert body["category_to_apply"] == "010103"  # the taxonomy keyword 燃气
    assert body["category_suggestions"][0]["code"] == "010103"
    assert body["understanding"]["urgency"]["urgency"] == "emergency"
    assert api.get("/api/v1/requests", "disp").json()["total"] == 0
    assert (
        api.post("/api/v1/understanding/preview", "citizen", json={"text": GAS}).status_code == 403
    )
    bad = api.post("/api/v1/understanding/preview", "op", json={"text": ""})
    assert bad.status_code == 422 and "text" in bad.json()["error"]["fields"][0]["field"]


def _replied(api: Api, text: str, reply: str) -> dict:
    ticket = api.post("/api/v1/requests", json={"text": text, "category": "010101"}).json()[
        "ticket"
    ]
    api.post(f"/api/v1/requests/{ticket}/dispatch", "disp", json={"unit": "ST-110101001"})
    api.post(f"/api/v1/requests/{ticket}/accept", "h1")
    r = api.post(f"/api/v1/requests/{ticket}/reply", "h1", json={"text": reply})
    assert r.status_code == 200, r.text
    return r.json()


def test_replies_are_scored_and_weak_ones_queued_for_the_supervisor(api: Api) -> None:
    good = _replied(
        api,
        "东华门街道南池子小区5号楼下的饭馆每天夜里十二点后还在装卸货物，噪音很大",
        "您好，收到您反映的南池子小区5号楼下饭馆夜间装卸噪音问题后，我街道城管科于3月5日"
        "到现场核查属实，已责令该饭馆将装卸时间调整到晚上10点前，并安排夜间巡查一周。"
        "如仍有问题请拨打街道电话65120000。感谢您的监督。",
    )
    weak = _replied(api, "交道口那边公厕太脏了没人打扫", "已转相关部门处理。")
    good_q = good["timeline"][-1]["payload"]["quality"]
    weak_q = weak["timeline"][-1]["payload"]["quality"]
    assert good_q["overall"] > weak_q["overall"]
    assert weak_q["flagged"] and weak_q["flags"]
    queue = api.get("/api/v1/understanding/replies", "sup").json()
    assert [q["ticket"] for q in queue] == [weak["ticket"]]
    assert queue[0]["unit"] == "ST-110101001" and queue[0]["flags"] == weak_q["flags"]
    everything = api.get("/api/v1/understanding/replies?flagged=false", "sup").json()
    assert {q["ticket"] for q in everything} == {good["ticket"], weak["ticket"]}
    assert api.get("/api/v1/understanding/replies", "h1").status_code == 200
    other = api.get("/api/v1/understanding/replies?unit=ST-110101008", "h1")
    assert other.status_code == 403
