"""Sign-in throttling: five wrong passwords in a row lock the account for a quarter of an hour
(even the right password is refused meanwhile), through the API and the web form alike; a
success resets the count; unknown usernames answer as before."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.people.models import User
from jiesu.people.service import LOCKOUT, MAX_FAILED_LOGINS

from apiclient import Api


def _token(client: TestClient, username: str, password: str) -> int:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    return r.status_code


def test_lockout_after_repeated_wrong_passwords(
    api: Api, session: Session, clock: FixedClock
) -> None:
    c = api.client
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert _token(c, "disp", "wrong") == 401
    assert _token(c, "disp", "password-123") == 200  # a success resets the count
    for _ in range(MAX_FAILED_LOGINS):
        assert _token(c, "disp", "wrong") == 401
    r = c.post("/api/v1/auth/token", data={"username": "disp", "password": "password-123"})
    assert r.status_code == 401 and "locked until" in r.json()["error"]["message"]
    session.expire_all()
    assert session.query(User).filter_by(username="disp").one().locked_until is not None
    # The web form says so too, in the person's language.
    page = c.post("/login", data={"username": "disp", "password": "password-123"})
    assert "账号已暂时锁定" in page.text
    # Other accounts and unknown names are unaffected.
    assert _token(c, "op", "password-123") == 200
    assert _token(c, "nobody", "x") == 401
    clock.advance(LOCKOUT + timedelta(seconds=1))
    assert _token(c, "disp", "password-123") == 200
    session.expire_all()
    user = session.query(User).filter_by(username="disp").one()
    assert user.failed_logins == 0 and user.locked_until is None


def test_switching_an_account_back_on_lifts_the_lock(api: Api, session: Session) -> None:
    from jiesu.people.accounts import set_active

    for _ in range(MAX_FAILED_LOGINS):
        assert _token(api.client, "h1", "wrong") == 401
    assert _token(api.client, "h1", "password-123") == 401
    session.expire_all()
    admin = api.world.actor("admin")
    set_active(session, "h1", False, by=admin)
    set_active(session, "h1", True, by=admin)
    session.commit()
    assert _token(api.client, "h1", "password-123") == 200
