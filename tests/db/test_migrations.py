"""Migrations carry existing data forward on both databases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from jiesu.db.engine import make_engine
from jiesu.db.migrate import alembic_config, current, upgrade

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
