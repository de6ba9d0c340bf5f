"""Fixtures of the Open311 tests: every test runs on SQLite and PostgreSQL (``session``) and
most in both formats (``fmt``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from intake.open311.o311city import O311, open311_app, seed_city
from jiesu.city.service import city_context
from jiesu.kit.clock import FixedClock


@pytest.fixture
def o311(session: Session, db_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[O311]:
    keys = seed_city(session, clock.now())
    app = open311_app(db_url, clock, tmp_path)
    with TestClient(app) as client:
        yield O311(client, app, session, clock, city_context(session), **keys)


@pytest.fixture(params=["xml", "json"])
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)
