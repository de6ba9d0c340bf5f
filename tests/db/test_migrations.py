"""Migrations carry existing data forward on both databases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from jiesu.db.engine import make_engine
from jiesu.db.migrate import alembic_config, current, upgrade
from jiesu.privacy.keys import active_keyring

PG_URL = os.environ.get("JIESU_TEST_PG_URL", "")


def _urls(tmp_path: Path) -> list[str]:
    urls = [f"sqlite:///{tmp_path / 'm.db'}"]
    if PG_URL:
        schema = f"jiesu_migrate_{os.getpid()}"
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        urls.append(url.render_as_string(hide_password=False))
    elif os.environ.get("JIESU_REQUIRE_PG") == "1":
        pytest.fail("JIESU_REQUIRE_PG=1 but JIESU_TEST_PG_URL is not set")
    return urls


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""


def test_upgrade_from_first_revision_keeps_rows(tmp_path: Path) -> None:
    for url in _urls(tmp_path):
        upgrade(url, "0001")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO categories (code, level, name, path, urgency, response_limit,"
                    " handling_limit, keywords, active, updated_at) VALUES ('01', 1, '城建',"
                    " '01/', 'general', '24h', '7wd', '[]', true, '2026-01-01 00:00:00')"
                )
            )
        upgrade(url, "0002")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO city (code, name, name_en, timezone, jurisdiction_id, hotline,"
                    " urgency_classes, updated_at) VALUES ('bj', '北京', '', 'Asia/Shanghai', '',"
                    " '12345', '{}', '2026-01-01 00:00:00')"
                )
            )
        upgrade(url)
        assert current(url) == _head()
        with engine.connect() as conn:
            row = conn.execute(text("SELECT code, attributes FROM categories")).one()
            city = conn.execute(text("SELECT code, understanding FROM city")).one()
        assert row[0] == "01" and row[1] in ([], "[]")
        assert city[0] == "bj" and city[1] in ({}, "{}")
        engine.dispose()
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS jiesu_migrate_{os.getpid()} CASCADE"))
        engine.dispose()


def test_0010_encrypts_the_contacts_already_stored_and_0009_gets_them_back(
    tmp_path: Path,
) -> None:
    ring = active_keyring()  # the run's key (JIESU_DATA_KEY), which the migration uses too
    callers = [("王建国", "138 0013 8000", "wjg@example.cn"), ("", "13900001111", ""), ("", "", "")]
    for url in _urls(tmp_path):
        upgrade(url, "0009")
        engine = make_engine(url)
        with engine.begin() as conn:
            for n, (name, phone, email) in enumerate(callers, start=1):
                conn.execute(
                    text(
                        "INSERT INTO service_requests (id, ticket, channel, received_at, title,"
                        " text, address, category_confirmed, urgency, status, response_overdue,"
                        " handling_overdue, return_count, reopen_count, synthetic, event_count,"
                        " chain_head, updated_at) VALUES (:n, :t, 'phone', '2026-01-01 00:00:00',"
                        " '路灯', '路灯坏了', '', false, 'general', 'received', false, false, 0,"
                        " 0, false, 0, '', '2026-01-01 00:00:00')"
                    ),
                    {"n": n, "t": f"T-{n}"},
                )
                conn.execute(
                    text(
                        "INSERT INTO contacts (request_id, name, phone, email, wants_reply)"
                        " VALUES (:n, :name, :phone, :email, true)"
                    ),
                    {"n": n, "name": name, "phone": phone, "email": email},
                )
        upgrade(url, "0010")
        select_all = text(
            "SELECT name, phone, email, phone_hash, key_id FROM contacts ORDER BY request_id"
        )
        with engine.connect() as conn:
            rows = conn.execute(select_all).fetchall()
        kid = ring.newest.kid
        for (name, phone, email), (c_name, c_phone, c_email, c_hash, c_kid) in zip(
            callers, rows, strict=True
        ):
            assert c_kid == kid and c_hash == ring.blind_index(phone)
            for clear, stored, column in (
                (name, c_name, "name"),
                (phone, c_phone, "phone"),
                (email, c_email, "email"),
            ):
                if not clear:
                    assert stored == ""
                    continue
                assert stored.startswith(f"jx1:{kid}:") and clear not in stored
                assert ring.decrypt(stored, column=f"contacts.{column}") == clear
        assert rows[0][3] == ring.blind_index("+8613800138000")  # found however it is written
        upgrade(url)  # nothing left to encrypt: a second pass changes nothing
        with engine.connect() as conn:
            assert conn.execute(select_all).fetchall() == rows
        command.downgrade(alembic_config(url), "0009")
        with engine.connect() as conn:
            back = conn.execute(
                text("SELECT name, phone, email FROM contacts ORDER BY request_id")
            ).fetchall()
        assert [tuple(r) for r in back] == callers
        engine.dispose()
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS jiesu_migrate_{os.getpid()} CASCADE"))
        engine.dispose()


def test_0011_encrypts_the_second_factor_secrets_and_0010_gets_them_back(
    tmp_path: Path,
) -> None:
    ring = active_keyring()
    users = [("sup", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", None), ("adm", None, "KRSXG5CTMVRXEZLU")]
    select_all = text("SELECT username, totp_secret, totp_pending FROM users ORDER BY username")
    for url in _urls(tmp_path):
        upgrade(url, "0010")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (username, display_name, role, password_hash, active,"
                    " created_at, failed_logins, totp_secret, totp_pending) VALUES (:u, '',"
                    " 'admin', '', true, '2026-01-01 00:00:00', 0, :s, :p)"
                ),
                [{"u": u, "s": s, "p": p} for u, s, p in users],
            )
        upgrade(url, "0011")
        with engine.connect() as conn:
            rows = conn.execute(select_all).fetchall()
        for (user, secret, pending), (_, s_secret, s_pending) in zip(
            sorted(users), rows, strict=True
        ):
            for clear, stored, column in ((secret, s_secret, "totp_secret"),
                                          (pending, s_pending, "totp_pending")):  # fmt: skip
                if clear is None:
                    assert stored is None, user
                    continue
                assert stored.startswith(f"jx1:{ring.newest.kid}:") and clear not in stored
                assert ring.decrypt(stored, column=f"users.{column}") == clear
        command.downgrade(alembic_config(url), "0010")
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(select_all)] == sorted(users)
        engine.dispose()
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS jiesu_migrate_{os.getpid()} CASCADE"))
        engine.dispose()
