"""The knowledge base's API: public search and articles, feedback, editing with versions,
consultations counted apart from work orders, and the knowledge owners' lists."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jiesu.workflow.models import ServiceRequest

from apiclient import Api

HEATING = {
    "title": "供暖期暖气不热怎么办",
    "body": "# 供暖期暖气不热怎么办\n\n室温低于18℃时可拨打供热单位热线报修。"
    "<script>alert(1)</script>",
    "owner_unit": "ST-110101001",
    "categories": ["010102"],
    "status": "published",
}


def _create(api: Api, who: str = "sup", **changes: Any) -> dict[str, Any]:
    r = api.post("/api/v1/kb/articles", who=who, json=HEATING | changes)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_public_search_and_article_need_no_sign_in(api: Api) -> None:
    a = _create(api)
    assert "<script" not in a["body_html"] and a["version"] == 1
    r = api.client.get("/api/v1/kb/search", params={"q": "家里暖气不热"})
    assert r.status_code == 200
    hits = r.json()["articles"]
    assert hits[0]["id"] == a["id"] and hits[0]["owner_unit_name"] == "东华门街道办事处"
    assert hits[0]["updated_on"] == "2026-11-02" and r.json()["past_answers"] == []
    art = api.client.get(f"/api/v1/kb/articles/{a['id']}")
    assert art.status_code == 200 and art.json()["title"] == HEATING["title"]
    assert api.client.get("/api/v1/kb/search", params={"q": ""}).json()["articles"] == []


def test_drafts_are_not_public(api: Api) -> None:
    a = _create(api, status="draft")
    assert api.client.get(f"/api/v1/kb/articles/{a['id']}").status_code == 404
    assert api.client.get("/api/v1/kb/search", params={"q": "暖气不热"}).json()["articles"] == []


def test_feedback_is_counted_per_article(api: Api) -> None:
    a = _create(api)
    url = f"/api/v1/kb/articles/{a['id']}/feedback"
    assert api.client.post(url, json={"helpful": True, "query": "暖气"}).json()["helpful"] == 1
    out = api.client.post(url, json={"helpful": False}).json()
    assert (out["helpful"], out["not_helpful"]) == (1, 1)
    bad = api.client.post(url, json={"helpful": "maybe"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "helpful"


def test_editing_makes_versions_and_names_bad_fields(api: Api) -> None:
    a = _create(api)
    url = f"/api/v1/kb/articles/{a['id']}"
    r = api.client.put(
        url, headers=api.as_("h1"), json=HEATING | {"body": "新的正文", "note": "改写"}
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    versions = api.get(f"{url}/versions", who="h1").json()
    assert [(v["version"], v["edited_by"], v["note"]) for v in versions] == [
        (1, "sup", "created"),
        (2, "h1", "改写"),
    ]
    # Another unit's handler may not edit it.
    assert api.client.put(url, headers=api.as_("h2"), json=HEATING).status_code == 403
    bad = api.post("/api/v1/kb/articles", who="sup", json=HEATING | {"categories": ["nope"]})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "categories"


def test_a_consultation_is_not_a_work_order(api: Api) -> None:
    a = _create(api)
    r = api.post(
        "/api/v1/kb/consultations",
        who="op",
        json={"question": "暖气不热找谁", "article_id": a["id"], "top_match": 0.9},
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["outcome"], c["article_id"], c["article_version"], c["operator"]) == (
        "answered", a["id"], 1, "op",
    )  # fmt: skip
    assert api.get("/api/v1/requests", who="sup").json()["items"] == []
    missing = api.post("/api/v1/kb/consultations", who="op", json={"question": "暖气"})
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "article_id"


def test_gaps_list_questions_asked_again_without_a_good_article(api: Api) -> None:
    for q in ("小区电梯坏了谁来修", "小区电梯坏了找谁修", "电梯坏了谁来修？"):
        api.post("/api/v1/kb/consultations", who="op", json={"question": q, "outcome": "no_answer"})
    api.post(
        "/api/v1/kb/consultations",
        who="op",
        json={"question": "公园几点开门", "outcome": "no_answer"},
    )
    gaps = api.get("/api/v1/kb/gaps", who="sup").json()
    assert len(gaps) == 1 and gaps[0]["count"] == 3 and gaps[0]["no_answer"] == 3
    assert api.get("/api/v1/kb/gaps?min_count=1", who="sup").json()[1]["count"] == 1


def test_expiring_articles_by_owner_unit(api: Api) -> None:
    _create(api, valid_until="2026-11-20")
    _create(api, owner_unit="ST-110101008", valid_until="2026-11-01")
    rows = api.get("/api/v1/kb/expiring", who="sup").json()
    assert [(r["unit"], r["days_left"]) for r in rows] == [
        ("ST-110101001", 18),
        ("ST-110101008", -1),
    ]
    mine = api.get("/api/v1/kb/expiring", who="h2").json()
    assert [r["unit"] for r in mine] == ["ST-110101008"]


def test_a_public_request_carries_the_self_service_search(api: Api, session: Session) -> None:
    a = _create(api)
    body = {
        "text": "暖气还是不热，热线打不通",
        "self_service": {"query": "暖气不热", "articles_seen": [a["id"]], "not_helpful": [a["id"]]},
    }
    r = api.client.post("/api/v1/public/requests", json=body)
    assert r.status_code == 201, r.text
    session.expire_all()
    req = session.query(ServiceRequest).filter_by(ticket=r.json()["ticket"]).one()
    assert req.attributes["self_service"]["not_helpful"] == [a["id"]]
    bad = api.client.post(
        "/api/v1/public/requests", json={"text": "x", "self_service": {"query": ""}}
    )
    assert bad.status_code == 422 and "self_service" in bad.json()["error"]["fields"][0]["field"]
