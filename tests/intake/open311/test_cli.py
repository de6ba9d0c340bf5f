"""`jiesu open311 keys …` on the test database: the key is printed once and works."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from intake.open311.o311city import UNIT
from jiesu.city.service import apply_pack
from jiesu.intake.models import ApiKey
from jiesu.intake.open311.cli import app
from jiesu.intake.open311.errors import Open311Error
from jiesu.intake.open311.keys import authenticate
from jiesu.kit.clock import FixedClock

from factories import city_pack

runner = CliRunner()


@pytest.fixture
def env(
    session: Session,
    db_url: str,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Session:
    apply_pack(session, city_pack(), now=clock.now())
    session.commit()
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    return session


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_create_prints_the_key_once_and_stores_its_hash(env: Session, clock: FixedClock) -> None:
    code, out, err = invoke("keys", "create", "fixmystreet")
    assert code == 0, out + err
    key = out.strip()
    assert len(key) >= 40 and "\n" not in key
    assert "not shown again" in err
    row = env.scalar(select(ApiKey).where(ApiKey.name == "fixmystreet"))
    assert row is not None and row.unit_id is None
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert authenticate(env, key, now=clock.now(), doing="test").id == row.id
    code, out, err = invoke("keys", "list")
    assert code == 0 and "fixmystreet" in out and "active" in out and key not in out


def test_a_key_bound_to_a_unit(env: Session) -> None:
    code, out, err = invoke("keys", "create", "east", "--unit", UNIT)
    assert code == 0, out + err
    assert "for unit ST-110101001" in err
    code, out, _ = invoke("keys", "list")
    assert "east" in out and UNIT in out


def test_revoke_refuses_the_key_from_then_on(env: Session, clock: FixedClock) -> None:
    key = invoke("keys", "create", "old-app")[1].strip()
    code, out, _ = invoke("keys", "revoke", "old-app")
    assert code == 0 and "revoked" in out
    env.expire_all()
    with pytest.raises(Open311Error) as caught:
        authenticate(env, key, now=clock.now(), doing="create_request")
    assert caught.value.status == 403
    assert "revoked" in invoke("keys", "list")[1]


def test_clear_failures(env: Session) -> None:
    assert invoke("keys", "create", "twice")[0] == 0
    code, _, err = invoke("keys", "create", "twice")
    assert code == 1 and "exists already" in err
    code, _, err = invoke("keys", "create", "x", "--unit", "NO-SUCH-UNIT")
    assert code == 1 and "NO-SUCH-UNIT" in err
    code, _, err = invoke("keys", "revoke", "nobody")
    assert code == 1 and "no api key named 'nobody'" in err


def test_mounted_under_the_root_command_when_wired(env: Session) -> None:
    from jiesu.cli import app as root

    names = {group.name for group in root.registered_groups}
    if "open311" not in names:
        pytest.skip("`jiesu open311` is not wired into jiesu/cli.py yet")
    result = runner.invoke(root, ["open311", "keys", "create", "via-root"])
    assert result.exit_code == 0 and len(result.stdout.strip()) >= 40
