"""Whatever arrives, the answer is the spec's: status 200/201/400/403/404, one of the two
content types, and errors as ``errors ⇊ error ↴``. Fuzzed from the router's own OpenAPI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy.orm import Session

from intake.open311.o311city import O311, Recorder, open311_app, seed_city
from jiesu.intake.open311 import endpoints, errors
from jiesu.kit.clock import FixedClock

SPEC_STATUSES = {200, 201, 400, 403, 404}
CONTENT_TYPES = {"text/xml; charset=utf-8", "application/json; charset=utf-8"}


def assert_spec_error(status: int, ctype: str, body: bytes) -> None:
    if ctype.startswith("application/json"):
        items = json.loads(body)
        assert isinstance(items, list) and items
        assert all(set(i) == {"code", "description"} for i in items)
    else:
        root = ET.fromstring(body)
        assert root.tag == "errors" and len(root)
        assert all([e.tag for e in error] == ["code", "description"] for error in root)


def test_an_unforeseen_fault_is_a_general_error_in_the_spec_shape(
    o311: O311, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> None:
        raise RuntimeError("connection to db-primary.internal:5432 refused")

    monkeypatch.setattr(endpoints, "service_records", broken)
    recorder = Recorder()
    monkeypatch.setattr(errors, "log", recorder)
    r = o311.get("services", fmt)
    assert r.status_code == 400
    [error] = o311.parse(r)
    assert error["code"] == "500" and "db-primary" not in r.text
    assert recorder.entries == [("open311.failed", {"error": "RuntimeError"})]


FUZZ: dict[str, Any] = {}


@pytest.fixture
def open311_schema(
    session: Session,
    db_url: str,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    FUZZ["keys"] = seed_city(session, clock.now())
    FUZZ["log"] = Recorder()
    monkeypatch.setattr(errors, "log", FUZZ["log"])
    app = open311_app(db_url, clock, tmp_path)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("open311_schema").include(path_regex="^/open311/")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_whatever_arrives_the_answer_is_the_spec_shape(case: Any) -> None:
    # Half the posts carry a real key, so the fuzzing gets past the door to the form checks.
    if isinstance(case.body, dict) and len(case.body) % 2:
        case.body["api_key"] = FUZZ["keys"]["unit_key"]
    response = case.call()
    assert response.status_code in SPEC_STATUSES, (response.status_code, response.text)
    ctype = response.headers.get("content-type", [""])
    ctype = ctype[0] if isinstance(ctype, list) else ctype  # header values come as lists
    assert ctype in CONTENT_TYPES, ctype
    if response.status_code >= 400:
        assert_spec_error(response.status_code, ctype, response.content)
    assert FUZZ["log"].entries == [], FUZZ["log"].entries


@pytest.mark.parametrize(
    "path",
    [
        "requests/%00.json",
        "services/%00.json",
        "tokens/%00.json",
        "requests.json?service_code=%00",
        "requests.json?service_request_id=a%00b",
        "servicerequestupdates.json?start_date=%00",
    ],
)
def test_nul_never_reaches_the_database(
    o311: O311, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    monkeypatch.setattr(errors, "log", recorder)
    r = o311.client.get(f"/open311/v2/{path}")
    assert r.status_code == 400 and "NUL" in r.json()[0]["description"]
    for form in ({"description": "a\x00b"}, {"attribute[\x00]": "x"}):
        r = o311.new(**form)
        assert r.status_code == 400 and "NUL" in r.json()[0]["description"]
    assert recorder.entries == []
