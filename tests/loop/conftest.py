"""Fixtures of the loop tests: a test city, and an API client with the loop's routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.loop.endpoints import router as loop_router
from jiesu.people.service import issue_token

from apiclient import Api
from factories import World, make_world


@pytest.fixture
def world(session: Session, clock: FixedClock) -> World:
    return make_world(session, clock.now())


@pytest.fixture
def api(session: Session, db_url: str, clock: FixedClock, tmp_path: Any) -> Iterator[Api]:
    world = make_world(session, clock.now())
    tokens = {name: issue_token(session, u, now=clock.now()) for name, u in world.users.items()}
    session.commit()
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    # The loop's routes, as src/jiesu/api.py will include them.
    app.include_router(loop_router, prefix="/api/v1")
    with TestClient(app) as client:
        yield Api(client, tokens, world)
