"""Fixtures of the surge tests: the heating city and an API client signed in as its people."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.people.service import issue_token
from surgekit import make_surge_world

from apiclient import Api


@pytest.fixture
def api(session: Session, db_url: str, clock: FixedClock, tmp_path: Any) -> Iterator[Api]:
    world = make_surge_world(session, clock.now())
    tokens = {name: issue_token(session, u, now=clock.now()) for name, u in world.users.items()}
    session.commit()
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    with TestClient(app) as client:
        yield Api(client, tokens, world)
