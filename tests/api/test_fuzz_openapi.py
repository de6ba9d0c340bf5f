"""Property-based fuzzing of every operation in the OpenAPI document, the native API and
Open311 alike: whatever arrives, the answer is never a server error, its status is one the
document declares for that operation, its content type is the declared one and its body
matches the declared schema (errors included: the one error shape of jiesu.errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.deliberation.service import Opening, open_consultation
from jiesu.evidence.service import Limits, add_file
from jiesu.evidence.storage import LocalStorage
from jiesu.intake.open311.keys import create_key
from jiesu.kit.clock import FixedClock
from jiesu.people.models import ApiToken
from jiesu.people.service import issue_token, token_hash
from jiesu.workflow.service import apply_action

from evidencekit import png
from factories import make_request, make_world

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]
# What exists in the fuzzed city: random tickets and ids only ever meet 404, so half the
# cases use these instead and reach the actions, their checks and their real answers.
REAL: dict[str, Any] = {}


@pytest.fixture
def api_schema(session: Session, db_url: str, clock: FixedClock, tmp_path: Path) -> Any:
    now = clock.now()
    world = make_world(session, now)
    tickets = [make_request(session, world, now).ticket for _ in range(3)]
    dispatched = make_request(session, world, now)
    disp = world.actor("disp")
    unit = {"unit": "ST-110101001"}
    apply_action(session, dispatched, "dispatch", actor=disp, now=now, ctx=world.ctx, params=unit)
    photo = add_file(
        session, LocalStorage(tmp_path / "evidence"), Limits(2**20, 10**6, 10), dispatched,
        actor=world.actor("op"), now=now, stage="request", name="p.png", data=png(),
    )  # fmt: skip
    spare = issue_token(session, world.users["admin"], now=now, name="spare")
    token = issue_token(session, world.users["admin"], now=now)
    # A consultation to take part in and to decide, so its routes meet their real checks.
    consultation = open_consultation(
        session,
        Opening(title="议题", question="问题", options=["甲", "乙"]),
        actor=world.actor("sup"),
        now=now,
    )
    REAL.clear()
    REAL.update(
        consultation=consultation.id,
        tickets=[*tickets, dispatched.ticket],
        file=photo.public_id,
        api_key=create_key(session, "fuzzing-client", now=now)[1],
        auth={"Authorization": f"Bearer {token}"},
        # Revoking a token is an operation too: the fuzzer may revoke this one, not its own.
        spare=session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(spare)))
        .one()
        .id,
    )
    session.commit()
    # Open311 is fuzzed too, far faster than its per-client rate limit allows.
    s = Settings(database_url=db_url, data_dir=tmp_path, open311_rate_per_minute=1_000_000)
    app = create_app(s, clock=clock, schedule=False)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


def use_real_ids(case: Any, pick: int) -> None:
    """Known tickets, formats and codes in the path, a repeated Idempotency-Key, a valid
    Open311 key in the arguments."""
    path = case.path_parameters or {}
    for name in ("ticket", "service_request_id"):
        if name in path:
            path[name] = REAL["tickets"][pick % len(REAL["tickets"])]
    if "file_id" in path:
        path["file_id"] = REAL["file"]
    if "fmt" in path:
        path["fmt"] = ("json", "xml")[pick % 2]
    if "service_code" in path:
        path["service_code"] = "010101"
    if "consultation_id" in path:
        path["consultation_id"] = REAL["consultation"]
    for name in ("version", "task_id", "exclusion_id"):
        if name in path:
            path[name] = 1
    if case.headers and "idempotency-key" in case.headers:
        case.headers["idempotency-key"] = "fuzzing"  # a key seen before: the repeat's answer
    if case.path.startswith("/open311/"):
        if isinstance(case.body, dict):
            case.body["api_key"] = REAL["api_key"]
        elif case.method == "GET":
            case.query = {**(case.query or {}), "api_key": REAL["api_key"]}


@schema.given(real=st.booleans(), pick=st.integers(0, 3))
@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_matches_the_schema(case: Any, real: bool, pick: int) -> None:
    # The schema declares bearer auth, so generated cases carry random tokens: use a real one.
    case.headers = {**(case.headers or {}), **REAL["auth"]}
    if real:
        use_real_ids(case, pick)
    if case.method == "DELETE" and case.path.startswith("/api/v1/me/tokens/"):
        case.path_parameters = {"token_id": REAL["spare"]}
    response = case.call()
    # Signed in as admin: a 401 here would mean the fuzzing never got past the door.
    if not case.path.endswith("/auth/token"):
        assert response.status_code != 401, response.text
    case.validate_response(response, checks=CHECKS)
