"""Web tests: the app with the factory city, and browsers signed in as its users."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock

from factories import World, make_world

PASSWORD = "password-123"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


class Browser:
    """A TestClient with its own cookie jar, like one browser tab."""

    def __init__(self, client: TestClient):
        self.client = client

    def sign_in(self, username: str) -> Browser:
        r = self.client.post(
            "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        return self

    def csrf(self, page: str = "/desk/requests") -> str:
        found = CSRF.search(self.client.get(page).text)
        assert found, f"no CSRF value on {page}"
        return found.group(1)

    def post_form(self, url: str, data: dict[str, str], page: str | None = None) -> object:
        return self.client.post(
            url, data={**data, "csrf": self.csrf(page or "/desk/requests")}, follow_redirects=False
        )


@pytest.fixture
def web_world(session: Session, clock: FixedClock) -> World:
    world = make_world(session, clock.now())
    session.commit()
    return world


@pytest.fixture
def browser(
    web_world: World, db_url: str, clock: FixedClock, tmp_path: Path
) -> Iterator[Callable[[str | None], Browser]]:
    """browser("disp") → a client signed in as that factory user; browser(None) → anonymous."""
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    clients: list[TestClient] = []

    def make(username: str | None) -> Browser:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        b = Browser(client)
        return b.sign_in(username) if username else b

    yield make
    for c in clients:
        c.__exit__(None, None, None)
