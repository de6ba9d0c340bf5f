"""Personal data is encrypted at rest, found by its blind index, and survives a key rotation."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Text, select, type_coerce
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.cli import app
from jiesu.config import Settings
from jiesu.errors import ConfigError
from jiesu.kit.clock import FixedClock
from jiesu.people import totp
from jiesu.people.models import User
from jiesu.privacy.contacts import phone_hashes
from jiesu.privacy.crypto import UnreadableValue, new_key
from jiesu.privacy.keys import (
    active_keyring,
    add_key,
    ensure_data_key,
    key_file,
    keyring_for,
    remove_keys,
    use_keyring,
    use_settings,
)
from jiesu.privacy.rotation import left_to_rotate, rotate_batch, rows_by_key
from jiesu.workflow.models import Contact, Event
from privacykit import CALLER, raw_contacts, ring, with_caller

from factories import make_world


def test_a_ciphertext_names_its_key_and_decrypts_only_in_its_own_column() -> None:
    k1, k2 = new_key(), new_key()
    one = ring(k1)
    token = one.encrypt("王建国", column="contacts.name")
    assert token.startswith(f"jx1:{one.newest.kid}:") and "王建国" not in token
    assert one.decrypt(token, column="contacts.name") == "王建国"
    assert one.encrypt("王建国", column="contacts.name") != token  # a fresh nonce every time
    with pytest.raises(UnreadableValue, match="another column"):
        one.decrypt(token, column="contacts.phone")
    with pytest.raises(UnreadableValue, match=f"under data key {one.newest.kid}"):
        ring(k2).decrypt(token, column="contacts.name")
    with pytest.raises(UnreadableValue, match="not encrypted"):
        one.decrypt("13800138000", column="contacts.phone")
    # A character in the middle of the base64: every one there carries six bits of the value
    # (the last ones may carry only padding bits, and flipping those would change nothing).
    mid = len(token) - 12
    flipped = token[:mid] + ("A" if token[mid] != "A" else "B") + token[mid + 1 :]
    with pytest.raises(UnreadableValue, match="does not decrypt"):
        one.decrypt(flipped, column="contacts.name")
    # Both keys live (a rotation): the newest encrypts, the older still decrypts.
    both = ring(k1, k2)
    assert both.newest.kid == ring(k2).newest.kid and both.kids[0] == one.newest.kid
    assert both.decrypt(token, column="contacts.name") == "王建国"


def test_the_blind_index_ignores_formatting_and_depends_on_the_key() -> None:
    k1, k2 = new_key(), new_key()
    one = ring(k1)
    h = one.blind_index("13800138000")
    assert h is not None and len(h) == 64
    for written in ("+86 138-0013-8000", "0086 13800138000", "138 0013 8000", "8613800138000"):
        assert one.blind_index(written) == h
    assert one.blind_index("13800138001") != h
    assert one.blind_index("") is None and one.blind_index("--") is None
    assert ring(k2).blind_index("13800138000") != h
    assert ring(k1, k2).blind_indexes("13800138000") == [h, ring(k2).blind_index("13800138000")]


def test_bad_keys_are_refused_naming_where_they_came_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"JIESU_DATA_KEY \(key 1\): not base64"):
        keyring_for(Settings(data_key="not-a-key!"))
    with pytest.raises(ConfigError, match=r"JIESU_DATA_KEY \(key 2\).*this one is 3"):
        keyring_for(Settings(data_key=f"{new_key()},AAAA"))
    path = tmp_path / "data.key"
    path.write_text(f"# keys\n{new_key()}\n\nAAAA\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=f"{path} line 4"):
        keyring_for(Settings(data_key=None, data_key_file=path))
    path.write_text(f"{new_key()}\n")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        keyring_for(Settings(data_key=None, data_key_file=path))
    path.write_text("# nothing here\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="holds no data key"):
        keyring_for(Settings(data_key=None, data_key_file=path))


def test_the_key_file_is_made_private_outside_production_and_required_in_production(
    tmp_path: Path, own_keys: None
) -> None:
    s = Settings(data_key=None, data_dir=tmp_path)
    path = ensure_data_key(s)
    assert path == tmp_path / "keys" / "data.key" == key_file(s)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert ensure_data_key(s) is None  # made once
    first = keyring_for(s).newest.kid
    use_settings(s)
    assert active_keyring().newest.kid == first
    second = add_key(path)
    # A key added to the file is used once the ring looks again (within a second).
    assert active_keyring(max_age=0).newest.kid == second and active_keyring().kids == [
        first,
        second,
    ]
    assert remove_keys(path, keep=second) == [first]
    assert keyring_for(s).kids == [second] and stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = "s" * 40
    with pytest.raises(ValidationError, match="JIESU_ENV=production needs the key"):
        Settings(env="production", secret_key=secret, data_key=None, data_dir=tmp_path / "new")
    assert not (tmp_path / "new").exists()  # production never makes its own key
    ok = Settings(env="production", secret_key=secret, data_key=None, data_dir=tmp_path)
    assert keyring_for(ok).kids == [second]


def test_contacts_are_stored_encrypted_and_found_by_phone(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    req = with_caller(session, world, clock.now())
    other = with_caller(session, world, clock.now(), {"name": "李", "phone": "13900001111"})
    session.commit()
    kid = active_keyring().newest.kid
    raw = {r[0]: r for r in raw_contacts(session)}[req.id]
    _, name, phone, email, phone_hash, key_id = raw
    for value in (name, phone, email):
        assert value.startswith(f"jx1:{kid}:")
    stored = json.dumps(raw, ensure_ascii=False)
    for secret in ("王建国", "13800138000", "0013 8000", "wjg@"):
        assert secret not in stored
    assert key_id == kid and phone_hash == active_keyring().blind_index("13800138000")
    session.expire_all()
    contact = session.scalar(select(Contact).where(Contact.request_id == req.id))
    assert contact is not None
    assert (contact.name, contact.phone, contact.email) == tuple(CALLER.values())
    found = session.scalars(
        select(Contact.request_id).where(Contact.phone_hash.in_(phone_hashes("+86 13800138000")))
    ).all()
    assert found == [req.id] and other.id not in found
    # The permanent log never held any of it (so purging contacts cannot break a chain).
    payloads = json.dumps(session.scalars(select(Event.payload)).all(), ensure_ascii=False)
    assert "王建国" not in payloads and "13800138000" not in payloads


def test_an_encrypted_column_cannot_be_compared_in_sql() -> None:
    with pytest.raises(TypeError, match="phone_hash"):
        select(Contact).where(Contact.phone == "13800138000")


def test_rotation_moves_every_row_to_the_newest_key_in_resumable_batches(
    session: Session, clock: FixedClock, own_keys: None
) -> None:
    k1, k2 = new_key(), new_key()
    use_keyring(ring(k1))
    world = make_world(session, clock.now())
    old = [
        with_caller(session, world, clock.now(), {"name": f"住户{i}", "phone": f"1390000000{i}"})
        for i in range(5)
    ]
    session.commit()
    kid1, kid2 = ring(k1).newest.kid, ring(k2).newest.kid
    use_keyring(ring(k1, k2))  # the new key added: it encrypts, the old one still reads
    new = with_caller(session, world, clock.now(), {"name": "新", "phone": "13900000009"})
    session.commit()
    assert rows_by_key(session) == {kid1: 5, kid2: 1}
    assert (
        session.scalar(
            select(Contact.request_id).where(Contact.phone_hash.in_(phone_hashes("13900000001")))
        )
        == old[1].id
    )
    assert left_to_rotate(session) == 5
    assert rotate_batch(session, limit=2) == 2
    session.commit()
    assert left_to_rotate(session) == 3  # stopped here, a later run carries on
    while rotate_batch(session, limit=2):
        session.commit()
    session.commit()
    assert rows_by_key(session) == {kid2: 6} and left_to_rotate(session) == 0
    use_keyring(ring(k2))  # the old key retired
    session.expire_all()
    contacts = session.scalars(select(Contact).order_by(Contact.id)).all()
    assert [c.phone for c in contacts] == [f"1390000000{i}" for i in (0, 1, 2, 3, 4, 9)]
    assert all(raw[2].startswith(f"jx1:{kid2}:") for raw in raw_contacts(session))
    for i, req in enumerate([*old, new]):
        phone = f"1390000000{i if i < 5 else 9}"
        hit = select(Contact.request_id).where(Contact.phone_hash.in_(phone_hashes(phone)))
        assert session.scalar(hit) == req.id
    use_keyring(ring(k1))
    session.expire_all()
    with pytest.raises(UnreadableValue, match=f"under data key {kid2}"):
        session.scalars(select(Contact)).all()


def test_cli_new_key_rotate_and_retire(
    session: Session,
    db_url: str,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    own_keys: None,
) -> None:
    path = tmp_path / "keys" / "data.key"
    monkeypatch.delenv("JIESU_DATA_KEY")
    monkeypatch.setenv("JIESU_DATA_KEY_FILE", str(path))
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    made = runner.invoke(app, ["privacy", "new-key"])
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    use_settings(Settings())
    first = active_keyring().newest.kid
    world = make_world(session, clock.now())
    for i in range(3):
        with_caller(session, world, clock.now(), {"name": "张", "phone": f"1370000000{i}"})
    secret = totp.new_secret()
    sup = session.scalars(select(User).where(User.username == "sup")).one()
    sup.totp_secret = secret  # an enrolled second factor: sealed like the contacts
    session.commit()
    session.close()

    def stored_secret() -> str:
        raw = type_coerce(User.totp_secret, Text)
        return str(session.scalar(select(raw).where(User.username == "sup")))

    assert stored_secret().startswith(f"jx1:{first}:") and secret not in stored_secret()
    added = runner.invoke(app, ["privacy", "new-key"])
    assert added.exit_code == 0, added.output
    second = keyring_for(Settings()).newest.kid
    assert second != first and f"added data key {second}" in added.output
    listed = runner.invoke(app, ["privacy", "keys"])
    assert f"{first}  3 contact(s), 1 second factor(s)" in listed.output
    assert f"{second}  0 contact(s), 0 second factor(s)  (newest: encrypts)" in listed.output
    rotated = runner.invoke(app, ["privacy", "rotate-key", "--batch", "2", "--retire"])
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted 4 row(s)" in rotated.output and f"older key(s) from {path}" in (
        rotated.output.replace("\n", "")
    )
    assert keyring_for(Settings()).kids == [second]
    again = runner.invoke(app, ["privacy", "rotate-key"])
    assert "re-encrypted 0 row(s)" in again.output  # idempotent
    listed = runner.invoke(app, ["privacy", "keys"])
    assert f"{second}  3 contact(s), 1 second factor(s)  (newest: encrypts)" in listed.output
    # The old key is gone and the secret still reads: it was rewritten under the new one.
    use_settings(Settings())
    assert stored_secret().startswith(f"jx1:{second}:")
    session.expire_all()
    assert session.scalars(select(User).where(User.username == "sup")).one().totp_secret == secret
    with_env = runner.invoke(app, ["privacy", "new-key"], env={"JIESU_DATA_KEY": new_key()})
    assert with_env.exit_code == 1 and "JIESU_DATA_KEY is set" in with_env.output
