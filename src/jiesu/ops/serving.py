"""Whether a server is serving an installation: a lease every `jiesu serve` holds while it runs.

A restore replaces the database underneath whatever is connected to it: a server still running
would keep answering from connections into the old file (SQLite) or write into tables being
reloaded (PostgreSQL), and requests it accepted would be lost. So each `jiesu serve` holds a
shared lease for its whole life, and `jiesu restore` asks for the exclusive one first: any
server, on any host using the same PostgreSQL, makes it refuse. The kernel or the database
drops a lease when its process dies, so a crashed server never blocks a restore.

- PostgreSQL: a session-level advisory lock on a connection of its own, shared by the servers
  (`pg_advisory_lock_shared`), tried exclusively by the restore.
- SQLite: `flock` on a file next to the database file, shared by the servers, tried
  exclusively by the restore (SQLite is only shared on one host, where flock reaches).
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from jiesu.db.engine import is_sqlite, make_engine

log = structlog.get_logger()


def lease_key(schema: str) -> int:
    digest = hashlib.sha256(f"jiesu.serving:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lease_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None  # a database in memory belongs to one process alone
    return Path(f"{Path(database).resolve()}.serving.lock")


@contextmanager
def serving(url: str) -> Iterator[None]:
    """Hold the installation's serving lease (shared with the other servers) until the end."""
    if is_sqlite(url):
        path = _lease_file(url)
        if path is None:
            yield
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_SH)  # waits only while a restore is running
            yield
        return
    engine = make_engine(url)
    try:
        try:
            conn = engine.connect()
            schema = conn.scalar(text("SELECT current_schema()")) or "public"
            conn.execute(text("SELECT pg_advisory_lock_shared(:k)"), {"k": lease_key(schema)})
            conn.commit()
        except OperationalError as exc:
            # The server starts anyway and answers 503 until the database is back: serving
            # matters more than the lease, which a restore cannot be run without either.
            log.warning("serving.lease_not_taken", reason=str(exc.orig or exc).strip())
            yield
            return
        with conn:
            yield
    finally:
        engine.dispose()


def served(url: str) -> bool:
    """Whether any server holds the lease now (a restore must not start then)."""
    if is_sqlite(url):
        path = _lease_file(url)
        if path is None or not path.exists():
            return False
        with path.open("a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
            return False
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            schema = conn.scalar(text("SELECT current_schema()")) or "public"
            key = lease_key(schema)
            if not conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
                return True
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            return False
    except OperationalError:
        return False  # not reachable (e.g. not made yet): nothing can be serving it
    finally:
        engine.dispose()
