"""Scratch databases for backup and restore: whole databases of their own, made and dropped here.

A restore replaces a database's Jiesu tables, so these tests never point it at the shared test
database: SQLite files in the test's folder, and on PostgreSQL databases named
``jiesu_backup_test_<pid>_<name>`` created for the test and dropped after it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from jiesu.city.service import forget_city_context
from jiesu.db.engine import make_engine
from jiesu.kit.cache import forget_everything

PG_URL = os.environ.get("JIESU_TEST_PG_URL", "")
REQUIRE_PG = os.environ.get("JIESU_REQUIRE_PG") == "1"

Scratch = Callable[[str], str]


def pg_admin_url() -> str:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("JIESU_REQUIRE_PG=1 but JIESU_TEST_PG_URL is not set")
        pytest.skip("PostgreSQL tests need JIESU_TEST_PG_URL")
    # The server's own URL without the test run's search_path: databases are made here.
    return make_url(PG_URL).set(query={}).render_as_string(hide_password=False)


@pytest.fixture
def pg_scratch() -> Iterator[Scratch]:
    admin = pg_admin_url()
    engine = make_engine(admin, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def create(name: str) -> str:
        db = f"jiesu_backup_test_{os.getpid()}_{name}"
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        made.append(db)
        return make_url(admin).set(database=db).render_as_string(hide_password=False)

    yield create
    with engine.connect() as conn:
        for db in made:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def sqlite_scratch(tmp_path: Path) -> Scratch:
    def create(name: str) -> str:
        return f"sqlite:///{tmp_path / name / 'jiesu.db'}"

    return create


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def scratch(request: pytest.FixtureRequest) -> Scratch:
    """Fresh, empty databases of the parametrized backend, by name."""
    name = "sqlite_scratch" if request.param == "sqlite" else "pg_scratch"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _forget_caches() -> Iterator[None]:
    # Each test replaces databases underneath this process.
    forget_city_context()
    forget_everything()
    yield
    forget_city_context()
    forget_everything()
