"""The loop's routes fuzzed from their OpenAPI document: never a server error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.loop.endpoints import router as loop_router
from jiesu.people.service import issue_token
from loopkit import replied

from factories import make_world


@pytest.fixture
def loop_schema(session: Session, db_url: str, clock: FixedClock, tmp_path: Path) -> Any:
    world = make_world(session, clock.now())
    for _ in range(2):
        replied(session, world, clock)
    token = issue_token(session, world.users["admin"], now=clock.now())
    session.commit()
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    app.include_router(loop_router, prefix="/api/v1")
    AUTH["Authorization"] = f"Bearer {token}"
    return schemathesis.openapi.from_asgi("/openapi.json", app)


AUTH: dict[str, str] = {}
schema = schemathesis.pytest.from_fixture("loop_schema")


# Only the loop's operations: the rest of the API has its own fuzz test.
@schema.include(path_regex="callbacks|exclusion").parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors(case: Any) -> None:
    case.headers = {**(case.headers or {}), **AUTH}
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
