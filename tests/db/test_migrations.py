"""Migrations carry existing data forward on both databases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from jiesu.db.engine import make_engine
from jiesu.db.migrate import current, upgrade

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
        upgrade(url)
        assert current(url) == "0002"
        with engine.connect() as conn:
            row = conn.execute(text("SELECT code, attributes FROM categories")).one()
        assert row[0] == "01" and row[1] in ([], "[]")
        engine.dispose()
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS jiesu_migrate_{os.getpid()} CASCADE"))
        engine.dispose()
