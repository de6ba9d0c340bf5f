"""Property-based fuzzing of every API operation from its own OpenAPI document:
whatever arrives, the answer is never a server error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.people.models import ApiToken
from jiesu.people.service import issue_token, token_hash

from factories import make_request, make_world


@pytest.fixture
def api_schema(session: Session, db_url: str, clock: FixedClock, tmp_path: Path) -> Any:
    world = make_world(session, clock.now())
    for _ in range(3):
        make_request(session, world, clock.now())
    spare = issue_token(session, world.users["admin"], now=clock.now(), name="spare")
    token = issue_token(session, world.users["admin"], now=clock.now())
    session.commit()
    SPARE["id"] = (
        session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(spare))).one().id
    )
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    AUTH["Authorization"] = f"Bearer {token}"
    return schemathesis.openapi.from_asgi("/openapi.json", app)


AUTH: dict[str, str] = {}
# Revoking a token is an operation too: the fuzzer may revoke this one, not the one it uses.
SPARE: dict[str, int] = {}
schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors(case: Any) -> None:
    # The schema declares bearer auth, so generated cases carry random tokens: use a real one.
    case.headers = {**(case.headers or {}), **AUTH}
    if case.method == "DELETE" and case.path.startswith("/api/v1/me/tokens/"):
        case.path_parameters = {"token_id": SPARE["id"]}
    response = case.call()
    # Signed in as admin: a 401 here would mean the fuzzing never got past the door.
    if not case.path.endswith("/auth/token"):
        assert response.status_code != 401, response.text
    case.validate_response(response, checks=[not_a_server_error])
