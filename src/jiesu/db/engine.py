"""Engines and sessions for SQLite (default) and PostgreSQL (psycopg 3).

Sync engines serve the CLI, jobs and tests; async engines serve the HTTP hot path. Services are
written once, against a sync ``Session``; async endpoints run them with
``AsyncSession.run_sync`` so that database I/O stays non-blocking (see docs/decisions/0002).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (reports, the web UI) run while intake writes; FKs are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sync_url(url: str) -> str:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)
    if u.get_backend_name() == "postgresql":
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {u.get_backend_name()!r}: use sqlite or postgresql")


def async_url(url: str) -> str:
    u = make_url(sync_url(url))
    driver = "sqlite+aiosqlite" if u.get_backend_name() == "sqlite" else "postgresql+psycopg"
    return u.set(drivername=driver).render_as_string(hide_password=False)


def pool_options(settings: Any) -> dict[str, Any]:
    """The server's pool. On SQLite every connection is a thread of its own (aiosqlite) with
    its own page cache (up to 2 MB): connections opened at a peak and closed after it made
    threads come and go, and their memory, freed in per-thread allocator arenas, was not given
    back — the server's memory crept up under a steady load (the soak test). A fixed pool keeps
    the same threads and caches: memory is bounded by the pool's size. SQLite writes one at a
    time anyway, so more connections buy nothing. PostgreSQL connections are sockets and may
    grow at peaks."""
    size = int(settings.db_pool_size)
    if is_sqlite(settings.db_url):
        database = make_url(settings.db_url).database
        if not database or database == ":memory:":
            return {}  # one connection, shared (SQLAlchemy's static pool): nothing to size
        return {"pool_size": size, "max_overflow": 0}
    return {"pool_size": size, "max_overflow": size}


def make_engine(url: str, **kwargs: Any) -> Engine:
    engine = create_engine(sync_url(url), **kwargs)
    if is_sqlite(url):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_async_engine(url: str, **kwargs: Any) -> AsyncEngine:
    engine = create_async_engine(async_url(url), **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_async_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error. Services never commit."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
