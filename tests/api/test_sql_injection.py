"""Classic SQL injection strings through every search, filter and path parameter of the API and
Open311 are harmless: no server error, no extra rows (a search for them finds nothing, as a
search for any text nobody wrote), the tables and the audit chain intact. Every query is built
by SQLAlchemy with bound parameters; this shows it from the outside, on both databases."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.intake.open311.keys import create_key
from jiesu.kit.clock import FixedClock
from jiesu.people.models import User
from jiesu.privacy.audit import verify
from jiesu.workflow.models import Event, ServiceRequest

from apiclient import Api
from factories import make_request

INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "1 OR 1=1",
    "'; DROP TABLE service_requests; --",
    "'); DELETE FROM events; --",
    "' UNION SELECT username, password_hash FROM users --",
    "admin'--",
    "1; SELECT pg_sleep(5)",
    "%' OR '%'='",
    "\\'; UPDATE users SET role='admin'; --",
]
# LIKE's own wildcards are no way in either: a search for them is a search for the character.
WILDCARDS = ["%", "_", "%%", "[a-z]%"]
TABLES = (ServiceRequest, Event, User, Area, Category, HandlingUnit)


def _counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES
    }


@pytest.fixture
def seeded(api: Api, session: Session, clock: FixedClock) -> tuple[Api, str]:
    for text in ("楼下饭店每天夜里施工，噪音很大", "路灯不亮", "井盖缺失"):
        make_request(session, api.world, clock.now(), text=text)
    key = create_key(session, "a-client", now=clock.now())[1]
    session.commit()
    return api, key


@pytest.mark.parametrize("bad", INJECTIONS + WILDCARDS)
def test_injection_strings_in_parameters_are_only_text(
    seeded: tuple[Api, str], session: Session, bad: str
) -> None:
    api, key = seeded
    before = _counts(session)
    everything = api.get("/api/v1/requests").json()["total"]
    assert everything == 3

    # Searches: nothing matches text nobody wrote.
    found = api.get("/api/v1/requests", params={"q": bad})
    assert found.status_code == 200 and found.json()["total"] == 0, found.text
    for path in ("/api/v1/areas", "/api/v1/categories", "/api/v1/units"):
        r = api.get(path, params={"q": bad})
        assert r.status_code == 200 and r.json() == [], (path, r.text)

    # Filters: a refusal naming the parameter (an unknown code), or nothing more than before.
    for params in (
        {"status": bad}, {"channel": bad}, {"urgency": bad}, {"category": bad}, {"area": bad},
        {"unit": bad}, {"sort": bad},
    ):  # fmt: skip
        r = api.get("/api/v1/requests", params=params)
        assert r.status_code in (200, 404, 422), (params, r.status_code, r.text)
        if r.status_code == 200:
            assert r.json()["total"] == 0, (params, r.text)
    for path, params in (
        ("/api/v1/areas", {"parent": bad}),
        ("/api/v1/areas", {"level": bad}),
        ("/api/v1/categories", {"parent": bad}),
        ("/api/v1/units", {"kind": bad}),
        ("/api/v1/rates", {"period": bad}),
        ("/api/v1/rates", {"by": "unit", "code": bad}),
        ("/api/v1/dispatch/stats", {"period": bad}),
        ("/api/v1/understanding/replies", {"unit": bad}),
        ("/api/v1/understanding/models", {"kind": bad}),
        ("/api/v1/exclusions", {"status": bad}),
        ("/api/v1/callbacks", {"status": bad}),
    ):
        r = api.get(path, params=params, who="admin")
        assert r.status_code < 500, (path, params, r.status_code, r.text)
        if r.status_code == 200 and isinstance(r.json(), list):
            assert r.json() == [], (path, params, r.text)

    # Paths: the ticket is a value, never a statement.
    for path in (
        f"/api/v1/requests/{quote(bad, safe='')}",
        f"/api/v1/requests/{quote(bad, safe='')}/dispatch",
        f"/api/v1/public/requests/{quote(bad, safe='')}",
    ):
        r = api.get(path)
        assert r.status_code == 404, (path, r.status_code, r.text)
    r = api.post(f"/api/v1/requests/{quote(bad, safe='')}/accept", who="admin")
    assert r.status_code == 404, r.text

    # Signing in: an injected name or password is a wrong login.
    for form in ({"username": bad, "password": "x"}, {"username": "admin", "password": bad}):
        r = api.client.post("/api/v1/auth/token", data=form)
        assert r.status_code == 401, (form, r.text)

    # Open311: the same strings in its arguments and resource names.
    o311 = "/open311/v2"
    r = api.client.get(f"{o311}/requests.json", params={"service_request_id": bad})
    assert r.status_code == 200 and r.json() == [], r.text
    for params in ({"service_code": bad}, {"status": bad}):
        r = api.client.get(f"{o311}/requests.json", params=params)
        assert r.status_code in (200, 400), (params, r.text)
        if r.status_code == 200:
            assert r.json() == [], (params, r.text)
    # Beside a real code, the string adds nothing to what the real code finds.
    real = api.client.get(f"{o311}/requests.json", params={"service_code": "010101"}).json()
    mixed = api.client.get(f"{o311}/requests.json", params={"service_code": f"010101,{bad}"})
    assert mixed.status_code == 200 and mixed.json() == real and len(real) == 3
    for path in ("services", "requests", "tokens"):
        r = api.client.get(f"{o311}/{path}/{quote(bad, safe='')}.json")
        assert r.status_code == 404, (path, r.status_code, r.text)
    posted = api.client.post(
        f"{o311}/requests.json", data={"api_key": bad, "service_code": "010101", "lat": "39.9",
                                       "long": "116.4", "description": "路灯不亮"},
    )  # fmt: skip
    assert posted.status_code == 403, posted.text
    posted = api.client.post(
        f"{o311}/requests.json", data={"api_key": key, "service_code": bad, "lat": "39.9",
                                       "long": "116.4", "description": bad},
    )  # fmt: skip
    assert posted.status_code in (400, 404), posted.text

    # Nothing was added, removed or changed behind the answers.
    assert _counts(session) == before
    assert api.get("/api/v1/requests").json()["total"] == everything
    assert verify(session, tz=api.world.ctx.tz).ok


def test_an_injection_string_is_stored_and_found_as_text(seeded: tuple[Api, str]) -> None:
    # The strings are ordinary input too: kept as written and found by searching for them.
    api, _ = seeded
    bad = INJECTIONS[4]
    made = api.post("/api/v1/requests", json={"text": f"有人写了 {bad} 在墙上"})
    assert made.status_code == 201, made.text
    found = api.get("/api/v1/requests", params={"q": bad}).json()
    assert [r["ticket"] for r in found["items"]] == [made.json()["ticket"]]
    assert bad in api.get(f"/api/v1/requests/{made.json()['ticket']}").json()["text"]
    percent = api.post("/api/v1/requests", json={"text": "水费一下涨了 50%"}).json()["ticket"]
    for wildcard in ("%", "50%"):
        found = api.get("/api/v1/requests", params={"q": wildcard}).json()
        assert [r["ticket"] for r in found["items"]] == [percent], wildcard
