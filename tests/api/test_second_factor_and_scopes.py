"""Sign-in hardening: argon2 hashes (older scrypt ones upgraded at sign-in), the TOTP second
factor (RFC 6238, codes used once, required per role when configured), and API tokens with
scopes and an expiry."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.errors import BadInput
from jiesu.kit.clock import FixedClock
from jiesu.people import totp
from jiesu.people.models import User
from jiesu.people.passwords import check_password
from jiesu.people.scopes import parse_scopes

from apiclient import Api
from factories import make_world

PW = "password-123"


def _sign_in(c: TestClient, user: str, otp: str | None = None, scope: str = "") -> object:
    data = {"username": user, "password": PW}
    if otp is not None:
        data["otp"] = otp
    if scope:
        data["scope"] = scope
    return c.post("/api/v1/auth/token", data=data)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_codes_match_the_rfc_6238_vectors(at: int, expected: str) -> None:
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp.code_at(secret, at // 30, digits=8) == expected


def test_enrol_then_every_sign_in_needs_a_fresh_code(
    api: Api, session: Session, clock: FixedClock
) -> None:
    c, me = api.client, api.as_("disp")
    start = c.post("/api/v1/me/second-factor", headers=me).json()
    assert start["uri"].startswith("otpauth://totp/Jiesu:disp?")
    # Not on until a code of the new secret is shown back; a wrong one is refused by name.
    assert _sign_in(c, "disp").status_code == 200
    bad = c.post("/api/v1/me/second-factor/confirm", headers=me, json={"code": "000000"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "code"
    code = totp.code_at(start["secret"], totp.step_at(clock.now()))
    assert c.post("/api/v1/me/second-factor/confirm", headers=me, json={"code": code}).json() == {
        "enabled": True
    }
    assert c.get("/api/v1/me", headers=me).json()["second_factor"] is True

    no_code = _sign_in(c, "disp")
    assert no_code.status_code == 401 and no_code.json()["error"]["code"] == "otp_required"
    # The code that confirmed enrolment was used: it cannot sign anyone in.
    assert _sign_in(c, "disp", otp=code).json()["error"]["code"] == "otp_wrong"
    clock.advance(timedelta(seconds=30))
    fresh = totp.code_at(start["secret"], totp.step_at(clock.now()))
    assert _sign_in(c, "disp", otp=fresh).status_code == 200
    assert _sign_in(c, "disp", otp=fresh).status_code == 401  # replayed
    session.expire_all()
    # The success reset the count; the replay after it counts as a wrong code.
    assert session.query(User).filter_by(username="disp").one().failed_logins == 1


def test_wrong_codes_count_towards_the_lockout(api: Api, clock: FixedClock) -> None:
    c, me = api.client, api.as_("disp")
    secret = c.post("/api/v1/me/second-factor", headers=me).json()["secret"]
    code = totp.code_at(secret, totp.step_at(clock.now()))
    c.post("/api/v1/me/second-factor/confirm", headers=me, json={"code": code})
    for _ in range(5):
        assert _sign_in(c, "disp", otp="123456").status_code == 401
    clock.advance(timedelta(seconds=30))
    right = totp.code_at(secret, totp.step_at(clock.now()))
    assert "locked" in _sign_in(c, "disp", otp=right).json()["error"]["message"]


def test_a_role_that_must_have_a_second_factor_reaches_only_its_enrolment(
    session: Session, db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    make_world(session, clock.now())
    session.commit()
    s = Settings(database_url=db_url, data_dir=tmp_path, totp_required_roles="admin")
    with TestClient(create_app(s, clock=clock, schedule=False)) as c:
        first = _sign_in(c, "admin").json()
        assert first["scopes"] == "account"
        limited = _bearer(first["access_token"])
        refused = c.get("/api/v1/requests", headers=limited)
        assert refused.status_code == 403 and "second factor" in refused.json()["error"]["message"]
        assert (
            c.post(
                "/api/v1/me/tokens", headers=limited, json={"name": "x", "scopes": ["*:*"]}
            ).status_code
            == 422
        )
        secret = c.post("/api/v1/me/second-factor", headers=limited).json()["secret"]
        code = totp.code_at(secret, totp.step_at(clock.now()))
        c.post("/api/v1/me/second-factor/confirm", headers=limited, json={"code": code})
        # The limited token stays limited; a new sign-in with a code opens everything.
        assert c.get("/api/v1/requests", headers=limited).status_code == 403
        clock.advance(timedelta(seconds=30))
        full = _sign_in(c, "admin", otp=totp.code_at(secret, totp.step_at(clock.now()))).json()
        assert full["scopes"] is None
        assert c.get("/api/v1/requests", headers=_bearer(full["access_token"])).status_code == 200
        # And the role may not switch it off again.
        clock.advance(timedelta(seconds=30))
        off = c.post(
            "/api/v1/me/second-factor/off",
            headers=_bearer(full["access_token"]),
            json={"code": totp.code_at(secret, totp.step_at(clock.now()))},
        )
        assert off.status_code == 403
        # Other roles are not asked.
        assert _sign_in(c, "op").json()["scopes"] is None


def test_scoped_tokens_reach_only_their_scopes_and_expire(api: Api, clock: FixedClock) -> None:
    c = api.client
    made = c.post(
        "/api/v1/me/tokens",
        headers=api.as_("op"),
        json={"name": "wall screen", "scopes": ["requests:read"], "expires_in_days": 7},
    )
    assert made.status_code == 201, made.text
    tok = made.json()
    assert tok["scopes"] == "requests:read" and "token" in tok
    h = _bearer(tok["token"])
    assert c.get("/api/v1/requests", headers=h).status_code == 200
    post = c.post(
        "/api/v1/requests", headers=h, json={"description": "路灯不亮", "channel": "phone"}
    )
    assert post.status_code == 403 and "requests:write" in post.json()["error"]["message"]
    assert c.get("/api/v1/rates", headers=h).status_code == 403
    # A scoped token cannot mint a wider one.
    wider = c.post("/api/v1/me/tokens", headers=h, json={"name": "x", "scopes": ["*:*"]})
    assert wider.status_code == 422
    listed = c.get("/api/v1/me/tokens", headers=api.as_("op")).json()
    assert [t["name"] for t in listed if t["id"] == tok["id"]] == ["wall screen"]
    clock.advance(timedelta(days=8))
    assert c.get("/api/v1/requests", headers=h).status_code == 401
    assert all(
        t["id"] != tok["id"] for t in c.get("/api/v1/me/tokens", headers=api.as_("op")).json()
    )


def test_a_token_can_be_revoked_by_its_owner_only(api: Api) -> None:
    c = api.client
    tok = c.post(
        "/api/v1/me/tokens", headers=api.as_("op"), json={"name": "s", "scopes": ["*:read"]}
    ).json()
    assert c.delete(f"/api/v1/me/tokens/{tok['id']}", headers=api.as_("disp")).status_code == 404
    assert c.get("/api/v1/requests", headers=_bearer(tok["token"])).status_code == 200
    assert c.delete(f"/api/v1/me/tokens/{tok['id']}", headers=api.as_("op")).status_code == 204
    assert c.get("/api/v1/requests", headers=_bearer(tok["token"])).status_code == 401


def test_sign_in_may_ask_for_a_narrower_token(api: Api) -> None:
    r = _sign_in(api.client, "op", scope="requests:read")
    assert r.json()["scopes"] == "requests:read"
    bad = _sign_in(api.client, "op", scope="everything")
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "scopes"


def test_bad_scopes_are_named() -> None:
    with pytest.raises(BadInput, match="'requests:delete' is not a scope"):
        parse_scopes("requests:read requests:delete")
    with pytest.raises(BadInput, match="'paintings:read'"):
        parse_scopes(["paintings:read"])
    assert parse_scopes("requests:* ,*:read") == {"requests:*", "*:read"}


def test_passwords_are_argon2_and_old_scrypt_hashes_are_upgraded(
    api: Api, session: Session
) -> None:
    user = session.query(User).filter_by(username="op").one()
    assert user.password_hash.startswith("$argon2id$")
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(PW.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    b64 = base64.b64encode
    user.password_hash = f"scrypt$16384$8$1${b64(salt).decode()}${b64(digest).decode()}"
    session.commit()
    assert _sign_in(api.client, "op").status_code == 200
    session.expire_all()
    upgraded = session.query(User).filter_by(username="op").one().password_hash
    assert upgraded.startswith("$argon2id$") and check_password(PW, upgraded)
    assert not check_password("wrong-password", upgraded)
