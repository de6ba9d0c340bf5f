"""The second factor on the web: enrol from the account page (QR code and key), then the
sign-in form asks for the code; a role that must have one is sent to enrol and reaches no desk
until it has."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.people import totp

from factories import World

PASSWORD = "password-123"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')

PAGE = "/account/second-factor"
SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')


def _enrol(c: TestClient, clock: FixedClock) -> str:
    csrf = CSRF.search(c.get(PAGE).text)
    assert csrf
    page = c.post(PAGE + "/start", data={"csrf": csrf.group(1)})
    assert page.status_code == 200 and "<svg" in page.text  # the QR code, drawn on the server
    found = SECRET.search(page.text)
    assert found
    secret = found.group(1)
    wrong = c.post(PAGE + "/confirm", data={"csrf": csrf.group(1), "code": "000000"})
    assert wrong.status_code == 422 and "验证码不正确" in wrong.text
    code = totp.code_at(secret, totp.step_at(clock.now()))
    c.post(PAGE + "/confirm", data={"csrf": csrf.group(1), "code": code})
    return secret


def _login(c: TestClient, user: str, otp: str = "") -> object:
    data = {"username": user, "password": PASSWORD, "otp": otp}
    return c.post("/login", data=data, follow_redirects=False)


def test_enrol_on_the_account_page_then_sign_in_with_a_code(
    web_world: World, db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    with TestClient(app) as c:
        assert _login(c, "disp").status_code == 303  # type: ignore[attr-defined]
        assert "开始设置" in c.get(PAGE).text
        secret = _enrol(c, clock)
        assert "两步验证已开启" in c.get(PAGE + "?on=1").text
    with TestClient(app) as c:
        asked = _login(c, "disp")
        assert asked.status_code == 401 and "六位验证码" in asked.text  # type: ignore[attr-defined]
        clock.advance(timedelta(seconds=30))
        ok = _login(c, "disp", totp.code_at(secret, totp.step_at(clock.now())))
        assert ok.status_code == 303 and ok.headers["location"] == "/desk/dispatch"  # type: ignore[attr-defined]


def test_a_role_that_must_have_one_is_sent_to_enrol_first(
    web_world: World, db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    s = Settings(database_url=db_url, data_dir=tmp_path, totp_required_roles="admin")
    app = create_app(s, clock=clock, schedule=False)
    with TestClient(app) as c:
        first = _login(c, "admin")
        assert first.headers["location"] == PAGE  # type: ignore[attr-defined]
        desk = c.get("/desk/admin", follow_redirects=False)
        assert desk.status_code == 303 and desk.headers["location"] == PAGE
        assert "必须开启两步验证" in c.get(PAGE).text
        secret = _enrol(c, clock)
    # Enrolling ended the limited session: sign in again, now with a code, and the desk opens.
    with TestClient(app) as c:
        clock.advance(timedelta(seconds=30))
        ok = _login(c, "admin", totp.code_at(secret, totp.step_at(clock.now())))
        assert ok.headers["location"] == "/desk/admin"  # type: ignore[attr-defined]
        assert c.get("/desk/admin").status_code == 200
        # The role cannot switch it off.
        assert "关闭两步验证" not in c.get(PAGE).text
