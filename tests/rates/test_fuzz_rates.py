"""Property-based fuzzing of the rates routes from their OpenAPI document: never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.people.service import issue_token
from jiesu.rates.endpoints import router

from factories import make_request, make_world


def test_no_server_errors(session: Session, db_url: str, clock: FixedClock, tmp_path: Path) -> None:
    world = make_world(session, clock.now())
    make_request(session, world, clock.now())
    auth = {
        "Authorization": f"Bearer {issue_token(session, world.users['admin'], now=clock.now())}"
    }
    session.commit()
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    if not any(getattr(r, "path", "") == "/api/v1/rates" for r in app.routes):
        app.include_router(router, prefix="/api/v1")
    # Only this package's routes: the whole API is fuzzed by tests/api/test_fuzz_openapi.py.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(tag="rates")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 4

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        def check(case: Any) -> None:
            case.headers = {**(case.headers or {}), **auth}
            response = case.call()
            assert response.status_code != 401, response.text
            case.validate_response(response, checks=[not_a_server_error])

        check()
