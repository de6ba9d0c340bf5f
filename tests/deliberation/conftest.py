"""Fixtures of the deliberation tests: the factory city with callers in and out of scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from deliberationkit import SECRET, plant_callers
from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.people.service import issue_token

from apiclient import Api
from factories import World, make_world


@pytest.fixture
def world(session: Session, clock: FixedClock) -> World:
    w = make_world(session, clock.now())
    plant_callers(session, w, clock)
    session.commit()
    return w


@pytest.fixture
def api(
    world: World, session: Session, db_url: str, clock: FixedClock, tmp_path: Path
) -> Iterator[Api]:
    tokens = {name: issue_token(session, u, now=clock.now()) for name, u in world.users.items()}
    session.commit()
    s = Settings(database_url=db_url, data_dir=tmp_path, secret_key=SECRET)
    app = create_app(s, clock=clock, schedule=False)
    with TestClient(app) as client:
        yield Api(client, tokens, world)
