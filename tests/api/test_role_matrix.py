"""The permission matrix: every API operation and every desk page, called as every role, is
allowed or refused exactly as written here. The table is the policy in one place: a new
endpoint fails this test until its row says who may use it.

"Allowed" means the call got past the door — any answer but 401/403 (a 404 for an unknown
id, a 409 for the wrong state or a 422 for the body still show the role was let in); a
citizen asking for someone else's ticket gets 404, which counts as refused. Each call that
acts on a request gets a fresh request, dispatched to h1's unit, so calls do not disturb
each other; no answer may be a server error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.evidence.service import Limits, add_file
from jiesu.evidence.storage import LocalStorage
from jiesu.kit.clock import FixedClock
from jiesu.people.service import issue_token
from jiesu.workflow.service import apply_action

from evidencekit import png
from factories import World, make_request, make_world

ROLES = ("anon", "citizen", "op", "disp", "h1", "h2", "sup", "analyst", "admin")
# h1 handles the request under test (its unit leads it); h2 is a handler of another unit.
EVERYONE = " ".join(ROLES)
SIGNED_IN = "citizen op disp h1 h2 sup analyst admin"
STAFF = "op disp h1 h2 sup analyst admin"

API: dict[str, str] = {
    "POST /api/v1/auth/token": EVERYONE,
    "GET /api/v1/me": SIGNED_IN,
    "POST /api/v1/me/second-factor": SIGNED_IN,
    "POST /api/v1/me/second-factor/confirm": SIGNED_IN,
    "POST /api/v1/me/second-factor/off": SIGNED_IN,
    "GET /api/v1/me/tokens": SIGNED_IN,
    "POST /api/v1/me/tokens": SIGNED_IN,
    "DELETE /api/v1/me/tokens/{token_id}": SIGNED_IN,
    "POST /api/v1/requests": "citizen op disp h1 h2 sup admin",
    "GET /api/v1/requests": STAFF,
    "GET /api/v1/requests/{ticket}": "op disp h1 sup analyst admin",
    "POST /api/v1/requests/{ticket}/dispatch": "op disp sup admin",
    "GET /api/v1/requests/{ticket}/dispatch": "op disp h1 sup analyst admin",
    "POST /api/v1/requests/{ticket}/accept": "h1 sup admin",
    "POST /api/v1/requests/{ticket}/return": "h1 sup admin",
    "POST /api/v1/requests/{ticket}/transfer": "op disp sup admin",
    "POST /api/v1/requests/{ticket}/reply": "h1 sup admin",
    "POST /api/v1/requests/{ticket}/call-back": "op sup admin",
    "POST /api/v1/requests/{ticket}/close": "op sup admin",
    "POST /api/v1/requests/{ticket}/answer": "op sup admin",
    "POST /api/v1/requests/{ticket}/reopen": "op sup admin",
    "POST /api/v1/requests/{ticket}/merge": "op disp sup admin",
    "POST /api/v1/requests/{ticket}/categorize": "op disp sup admin",
    "POST /api/v1/requests/{ticket}/mark-invalid": "op disp h1 sup admin",
    "POST /api/v1/requests/{ticket}/confirm-invalid": "sup admin",
    "POST /api/v1/requests/{ticket}/reject-invalid": "sup admin",
    "POST /api/v1/requests/{ticket}/notes": "op disp h1 sup admin",
    "POST /api/v1/requests/{ticket}/redispatch": "h1 sup admin",
    "POST /api/v1/requests/{ticket}/contest": "h1 sup admin",
    "POST /api/v1/requests/{ticket}/uphold-dispute": "sup admin",
    "POST /api/v1/requests/{ticket}/reject-dispute": "sup admin",
    "POST /api/v1/requests/{ticket}/whistle": "h1 sup admin",
    "POST /api/v1/requests/{ticket}/report": "h1 sup admin",
    "GET /api/v1/areas": EVERYONE,
    "GET /api/v1/categories": EVERYONE,
    "GET /api/v1/units": EVERYONE,
    # The public channel: anyone may submit, and follow a ticket's milestones (nothing personal).
    "POST /api/v1/public/requests": EVERYONE,
    "GET /api/v1/public/requests/{ticket}": EVERYONE,
    # The knowledge base: public search and articles; the desks' search with past answers.
    "GET /api/v1/kb/search": EVERYONE,
    "GET /api/v1/kb/articles/{article_id}": EVERYONE,
    "POST /api/v1/kb/articles/{article_id}/feedback": EVERYONE,
    "GET /api/v1/kb/answers": STAFF,
    "POST /api/v1/kb/articles": "h1 h2 sup admin",
    "PUT /api/v1/kb/articles/{article_id}": "h1 h2 sup admin",
    "GET /api/v1/kb/articles/{article_id}/versions": "h1 h2 sup admin",
    "POST /api/v1/kb/consultations": "op sup admin",
    "GET /api/v1/kb/gaps": "h1 h2 sup admin",
    "GET /api/v1/kb/expiring": "h1 h2 sup admin",
    "POST /api/v1/understanding/preview": "op disp sup analyst admin",
    "GET /api/v1/understanding/replies": "h1 h2 sup analyst admin",
    "GET /api/v1/understanding/models": "sup analyst admin",
    "POST /api/v1/understanding/models/{version}/activate": "admin",
    "GET /api/v1/rates": "h1 h2 sup analyst admin",
    "GET /api/v1/rates/ontime": "h1 h2 sup analyst admin",
    "GET /api/v1/rates/ranking": "h1 h2 sup analyst admin",
    "GET /api/v1/rates/export": "h1 h2 sup analyst admin",
    "GET /api/v1/callbacks": "op sup admin",
    "POST /api/v1/callbacks/{task_id}/attempts": "op sup admin",
    "POST /api/v1/callbacks/{task_id}/link": "op sup admin",
    # The caller's own answer, through the private link's token.
    "POST /api/v1/public/callbacks/{token}": EVERYONE,
    "POST /api/v1/requests/{ticket}/exclusion": "h1 sup admin",
    "POST /api/v1/exclusions/{exclusion_id}/decision": "sup admin",
    "GET /api/v1/exclusions": "h1 h2 sup analyst admin",
    "GET /api/v1/dispatch/catalogue": STAFF,
    "PUT /api/v1/dispatch/catalogue": "admin",
    "GET /api/v1/dispatch/catalogue/versions": STAFF,
    "POST /api/v1/dispatch/catalogue/versions/{version}/activate": "admin",
    "GET /api/v1/dispatch/queue": "op disp sup admin",
    "POST /api/v1/dispatch/preview": "op disp sup analyst admin",
    "GET /api/v1/dispatch/stats": "sup analyst admin",
    "GET /api/v1/analytics/heat": "sup analyst admin",
    "GET /api/v1/analytics/warehouse": "sup analyst admin",
    # Evidence files: who may view the request (a file of h1's request is made for each call).
    "POST /api/v1/requests/{ticket}/files": "op disp h1 sup admin",
    "GET /api/v1/requests/{ticket}/files": "op disp h1 sup analyst admin",
    "GET /api/v1/files/{file_id}": "op disp h1 sup analyst admin",
    "GET /api/v1/files/{file_id}/thumbnail": "op disp h1 sup analyst admin",
    "GET /api/v1/consultations": "sup analyst admin",
    "POST /api/v1/consultations": "sup admin",
    "GET /api/v1/consultations/{consultation_id}": "sup analyst admin",
    "POST /api/v1/consultations/{consultation_id}/end": "sup admin",
    "POST /api/v1/consultations/{consultation_id}/decision": "sup admin",
    "POST /api/v1/consultations/{consultation_id}/work-orders": "sup admin",
    "POST /api/v1/consultations/{consultation_id}/moderation": "sup admin",
    # Deliberation in public: anyone reads; taking part needs a pass, not a role.
    "GET /api/v1/public/consultations": EVERYONE,
    "GET /api/v1/public/consultations/{consultation_id}": EVERYONE,
    "POST /api/v1/public/consultations/{consultation_id}/codes": EVERYONE,
    "POST /api/v1/public/consultations/{consultation_id}/passes": EVERYONE,
    "POST /api/v1/public/consultations/{consultation_id}/passes/account": SIGNED_IN,
    "POST /api/v1/public/consultations/{consultation_id}/votes": EVERYONE,
    "POST /api/v1/public/consultations/{consultation_id}/proposals": EVERYONE,
    "POST /api/v1/public/consultations/{consultation_id}/comments": EVERYONE,
    "GET /api/v1/audit/models": "sup analyst admin",
    "POST /api/v1/audit/models": "sup analyst admin",
    "GET /api/v1/equity": "sup analyst admin",
    "POST /api/v1/surge/events": "sup admin",
    "GET /api/v1/surge/events": STAFF,
    "GET /api/v1/surge/events/{event_id}": STAFF,
    "POST /api/v1/surge/events/{event_id}/end": "sup admin",
    "POST /api/v1/surge/events/{event_id}/reply": "h1 h2 sup admin",
    "POST /api/v1/surge/events/{event_id}/attach": "op disp sup admin",
    "GET /api/v1/surge/events/{event_id}/dashboard": "op disp sup analyst admin",
    "GET /api/v1/surge/events/{event_id}/report": "op disp sup analyst admin",
    "GET /api/v1/surge/scripts": "op sup admin",
    "GET /api/v1/requests/{ticket}/caller": "op disp sup analyst admin",
    "POST /api/v1/requests/{ticket}/caller-flags": "op sup admin",
    "POST /api/v1/requests/{ticket}/caller-flags/{flag_id}/remove": "op sup admin",
    "GET /api/v1/health": EVERYONE,
    "GET /api/v1/ready": EVERYONE,
}

DESKS: dict[str, str] = {
    "/desk/admin": "admin",
    "/desk/admin/city": "admin",
    "/desk/admin/dispatch": "admin",
    "/desk/admin/models": "admin",
    "/desk/admin/outbox": "admin",
    "/desk/admin/sensors": "admin",
    "/desk/admin/sensors/edit": "admin",
    "/desk/admin/users": "admin",
    "/desk/audit": "sup analyst admin",
    "/desk/callbacks": "op sup admin",
    "/desk/consult": "sup analyst admin",
    "/desk/dispatch": "op disp sup admin",
    "/desk/dispatch/categories": "op disp sup admin",
    "/desk/dispatch/returned": "op disp sup admin",
    "/desk/equity": "sup analyst admin",
    "/desk/heat": "sup analyst admin",
    "/desk/hot": "sup analyst admin",
    "/desk/intake": "op sup admin",
    "/desk/knowledge": "h1 h2 sup admin",
    "/desk/knowledge/new": "h1 h2 sup admin",
    "/desk/knowledge/synonyms": "sup admin",
    "/desk/overview": "sup analyst admin",
    "/desk/rates": "h1 h2 sup analyst admin",
    "/desk/surge": "op disp sup analyst admin",
    "/desk/reports": "sup analyst admin",
    "/desk/requests": STAFF,
    "/desk/review": "sup admin",
    "/desk/topics": "sup analyst admin",
    "/desk/unit": "h1 h2",
    "/desk/unit/exclusions": "h1 h2",
    "/desk/warnings": "sup analyst admin",
}

# Bodies that pass validation, so that the role check inside is what answers.
BODIES: dict[str, Any] = {
    "/me/second-factor/confirm": {"code": "123456"},
    "/me/second-factor/off": {"code": "123456"},
    "/me/tokens": {"name": "t", "scopes": ["requests:read"]},
    "/api/v1/requests": {"text": "路灯坏了", "category": "010101", "area": "110101001"},
    "/return": {"reason": "不属于本单位"},
    "/transfer": {"unit": "ST-110101008", "reason": "属地"},
    "/reply": {"text": "已处理完毕"},
    "/call-back": {"satisfaction": "satisfied"},
    "/answer": {"text": "答复"},
    "/reopen": {"reason": "未解决"},
    "/merge": {"into": "20990101-NOSUCH"},
    "/categorize": {"category": "010102"},
    "/mark-invalid": {"reason": "骚扰"},
    "/reject-invalid": {"reason": "有效"},
    "/notes": {"text": "备注"},
    "/redispatch": {"unit": "ST-110101008"},
    "/contest": {"reason": "不属于"},
    "/uphold-dispute": {"note": "n"},
    "/reject-dispute": {"note": "n"},
    "/whistle": {"units": ["PS-WATER"], "reason": "需要协助"},
    "/report": {"text": "报到"},
    "/public/requests": {"text": "路灯坏了"},
    "/understanding/preview": {"text": "路灯坏了"},
    "/attempts": {"reached": False},
    "/public/callbacks/{token}": {"resolution": "solved", "satisfaction": "satisfied"},
    "/exclusion": {"reason": "不可抗力"},
    "/decision": {"decision": "approved", "note": "ok"},
    "/dispatch/catalogue": {"rules": []},
    "/dispatch/preview": {"text": "路灯坏了"},
    "/kb/articles": {"title": "供暖", "body": "供暖期"},
    "/kb/articles/{article_id}": {"title": "供暖", "body": "供暖期"},
    "/feedback": {"helpful": True},
    "/kb/consultations": {"question": "暖气不热", "outcome": "no_answer"},
    "/api/v1/consultations": {"title": "t", "question": "q", "options": ["a", "b"]},
    "/{consultation_id}/decision": {"decision": "d", "reasons": "r"},
    "/work-orders": {"text": "t"},
    "/moderation": {"target": "comment", "id": 1, "reason": "r"},
    "/codes": {"phone": "13800138000"},
    "/passes": {"method": "phone", "phone": "13800138000", "code": "123456"},
    "/votes": {"pass": "x", "option_id": 1},
    "/proposals": {"pass": "x", "label": "l"},
    "/comments": {"pass": "x", "body": "b"},
    "/surge/events": {
        "name": "停水",
        "kind": "water_outage",
        "areas": ["110101008"],
        "ends_at": "2026-11-03T00:00:00+08:00",
        "keywords": ["停水"],
    },
    "/attach": {"ticket": "20990101-NOSUCH", "reason": "r"},
    "/caller-flags": {"kind": "elderly_alone", "reason": "独居", "consent": True},
    "/remove": {"reason": "已搬走"},
}


# Multipart bodies (a real photo, so the role check is what answers).
FILES: dict[str, Any] = {"/files": {"file": ("p.png", png(), "image/png")}}


def _file_of(session: Session, req: Any, data_dir: Path, world: World, now: Any) -> str:
    storage = LocalStorage(data_dir / "evidence")
    f = add_file(
        session, storage, Limits(2**20, 10**6, 10), req, actor=world.actor("op"), now=now,
        stage="request", name="p.png", data=png(),
    )  # fmt: skip
    return f.public_id


def _body(path: str) -> Any:
    for suffix in sorted(BODIES, key=len, reverse=True):
        if path.endswith(suffix):
            return BODIES[suffix]
    return {}


def _refused(status: int, role: str, path: str) -> bool:
    return status in (401, 403) or (
        status == 404 and role == "citizen" and ("{ticket}" in path or "{file_id}" in path)
    )


@pytest.fixture
def city(
    session: Session, db_url: str, clock: FixedClock, tmp_path: Path
) -> Iterator[tuple[FastAPI, World, dict[str, str]]]:
    world = make_world(session, clock.now())
    tokens = {n: issue_token(session, u, now=clock.now()) for n, u in world.users.items()}
    session.commit()
    s = Settings(database_url=db_url, data_dir=tmp_path, open311_rate_per_minute=1_000_000)
    yield create_app(s, clock=clock, schedule=False), world, tokens


def test_every_api_operation_is_allowed_exactly_to_its_roles(
    city: tuple[FastAPI, World, dict[str, str]],
    session: Session,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    app, world, tokens = city
    ops = {
        f"{m.upper()} {p}"
        for p, item in app.openapi()["paths"].items()
        if not p.startswith("/open311/")  # Open311 has keys, not roles: its own tests
        for m in item
    }
    assert ops == set(API), f"rows missing: {ops - set(API)}; rows for nothing: {set(API) - ops}"
    wrong: list[str] = []
    with TestClient(app) as c:
        for op, allowed in API.items():
            method, path = op.split(" ", 1)
            for role in ROLES:
                req = make_request(session, world, clock.now())
                unit = {"unit": "ST-110101001"}
                apply_action(
                    session, req, "dispatch", actor=world.actor("disp"), now=clock.now(),
                    ctx=world.ctx, params=unit,
                )  # fmt: skip
                if "{file_id}" in path:
                    fid = _file_of(session, req, tmp_path, world, clock.now())
                    path_ = path.replace("{file_id}", fid)
                else:
                    path_ = path
                session.commit()
                url = path_.replace("{ticket}", req.ticket).replace("{token}", "no-such-link")
                for name in (
                    "{version}",
                    "{task_id}",
                    "{exclusion_id}",
                    "{token_id}",
                    "{consultation_id}",
                ):
                    url = url.replace(name, "999")
                url = url.replace("{article_id}", "999")
                for name in ("{event_id}", "{flag_id}"):  # surge events, caller flags
                    url = url.replace(name, "999")
                kw: dict[str, Any] = {}
                if role != "anon":
                    kw["headers"] = {"Authorization": f"Bearer {tokens[role]}"}
                if path.endswith("/auth/token"):
                    kw["data"] = {"username": "op", "password": "password-123"}
                elif path.endswith(tuple(FILES)) and method == "POST":
                    kw["files"] = next(v for k, v in FILES.items() if path.endswith(k))
                elif method in ("POST", "PUT"):
                    kw["json"] = _body(path)
                r = c.request(method, url, **kw)
                assert r.status_code < 500, f"{op} as {role}: {r.status_code} {r.text}"
                if _refused(r.status_code, role, path) == (role in allowed.split()):
                    wrong.append(f"{op} as {role}: {r.status_code} {r.text[:120]}")
    assert not wrong, "\n".join(wrong)


def _desk_pages(app: FastAPI) -> set[str]:
    def walk(router: Any) -> Iterator[APIRoute]:
        for route in router.routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):
                yield from walk(route.original_router)

    return {
        r.path
        for r in walk(app.router)
        if "GET" in (r.methods or set()) and r.path.startswith("/desk/") and "{" not in r.path
    }


def test_every_desk_page_opens_exactly_for_its_roles(
    city: tuple[FastAPI, World, dict[str, str]],
) -> None:
    app = city[0]
    assert _desk_pages(app) == set(DESKS), set(DESKS) ^ _desk_pages(app)
    wrong: list[str] = []
    for role in ROLES:
        with TestClient(app) as c:
            if role != "anon":
                login = {"username": role, "password": "password-123"}
                assert c.post("/login", data=login, follow_redirects=False).status_code == 303
            for page, allowed in DESKS.items():
                r = c.get(page, follow_redirects=False)
                assert r.status_code < 500, f"{page} as {role}: {r.status_code}"
                opened = r.status_code == 200
                if role == "anon":
                    assert r.status_code == 303 and r.headers["location"].startswith("/login")
                elif opened != (role in allowed.split()):
                    wrong.append(f"{page} as {role}: {r.status_code}")
    assert not wrong, "\n".join(wrong)


def test_the_admin_user_search_takes_wildcards_as_characters(
    city: tuple[FastAPI, World, dict[str, str]], session: Session
) -> None:
    from jiesu.people.accounts import list_users

    assert list_users(session, q="%") == []
    assert list_users(session, q="_") == []
    assert [u.username for u in list_users(session, q="disp")] == ["disp"]
