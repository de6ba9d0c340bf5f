"""Test databases: every DB test runs on SQLite and on PostgreSQL.

PostgreSQL comes from JIESU_TEST_PG_URL; with JIESU_REQUIRE_PG=1 (CI) a missing or unreachable
server fails the run instead of skipping, so the PostgreSQL half can never silently vanish.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from jiesu.city.service import forget_city_context
from jiesu.db.base import Base
from jiesu.db.engine import is_sqlite, make_engine
from jiesu.db.migrate import upgrade
from jiesu.kit.cache import forget_everything
from jiesu.kit.clock import FixedClock
from jiesu.nlp.duplicates import forget as forget_duplicates
from jiesu.nlp.suggest import forget as forget_suggestions

PG_URL = os.environ.get("JIESU_TEST_PG_URL", "")
REQUIRE_PG = os.environ.get("JIESU_REQUIRE_PG") == "1"
# One data key for the whole run, this process and every command it starts: rows written by a
# test's session decrypt in the server and CLI it drives. A published key, only for tests.
TEST_DATA_KEY = "dGVzdC1vbmx5LWRhdGEta2V5LWZvci1qaWVzdS10ZXM="
os.environ.setdefault("JIESU_DATA_KEY", TEST_DATA_KEY)

# Property tests (hypothesis, schemathesis) draw the same examples on every run by default, so
# a red run is the change's doing, not the draw's; the examples that once found a fault are
# kept as @example. JIESU_HYPOTHESIS=explore draws new ones each run, to hunt for more.
hypothesis_settings.register_profile("repeatable", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("JIESU_HYPOTHESIS", "repeatable"))


def _private_schema(url: str) -> str:
    """A schema of this test run's own, so parallel runs on one database never collide."""
    schema = f"jiesu_test_{os.getpid()}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    u = make_url(url)
    return u.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def _drop_schema(url: str) -> None:
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS jiesu_test_{os.getpid()} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        if not PG_URL:
            if REQUIRE_PG:
                pytest.fail("JIESU_REQUIRE_PG=1 but JIESU_TEST_PG_URL is not set")
            pytest.skip("PostgreSQL tests need JIESU_TEST_PG_URL")
        try:
            url = _private_schema(PG_URL)
        except Exception as exc:  # a down server must fail loudly in CI
            if REQUIRE_PG:
                pytest.fail(f"PostgreSQL at {url} is not usable: {exc}")
            pytest.skip(f"PostgreSQL not reachable: {exc}")
    upgrade(url)
    if request.param == "postgresql":
        request.addfinalizer(lambda: _drop_schema(url))
    return url


@pytest.fixture(scope="session")
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def wipe(engine: Engine) -> None:
    forget_city_context()
    forget_everything()
    forget_suggestions()
    forget_duplicates()
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if is_sqlite(str(engine.url)):
            for table in tables:
                conn.execute(table.delete())
        else:
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session on a clean database; the test decides when to commit."""
    wipe(db_engine)
    with Session(db_engine, expire_on_commit=False) as s:
        yield s
        s.rollback()


@pytest.fixture
def clock() -> FixedClock:
    # A Monday morning in Beijing, well inside the built-in calendar.
    return FixedClock(datetime(2026, 11, 2, 1, 30, tzinfo=UTC))


@pytest.fixture
def tmp_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "jiesu-data"
