"""One runner at a time for a scheduled job, across every process on one database.

Several `jiesu serve` processes (and a `jiesu workflow tick` from cron) may share a database,
and each runs the schedule. A run first claims its job; whoever does not get the claim skips
this round, since the next round comes within a minute. The jobs are idempotent anyway (an
overdue request is flagged once, a report written twice is the same report): the claim stops
two processes doing the same work at the same moment — racing digests, double warning scans,
two refreshes fighting over the warehouse — rather than being the only guard of correctness.

- PostgreSQL: `pg_try_advisory_xact_lock`, keyed by the schema and the job's name, taken on the
  run's own transaction, so it is released when that transaction commits or rolls back — also
  when the process dies, since the server ends the session. No table, no migration.
- SQLite can only be shared by processes on one host, so an exclusive `flock` on a file next to
  the database file is the same guarantee; the kernel drops it when the process dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

_JOB_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def lock_key(schema: str, job: str) -> int:
    """The advisory lock's 64-bit key: stable across processes and versions (not hash())."""
    digest = hashlib.sha256(f"jiesu.job:{schema}:{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_file(database: str, job: str) -> Path:
    return Path(f"{database}.job-{job}.lock")


@contextmanager
def claim(session: Session, job: str) -> Iterator[bool]:
    """Whether this process runs ``job`` now (False: another process is running it).

    Commit the job's work inside the block: on PostgreSQL the claim lasts until the session's
    transaction ends, on SQLite until the block ends.
    """
    if not _JOB_NAME.match(job):
        raise ValueError(f"job name {job!r}: use lower-case letters, digits, '.', '_' or '-'")
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        schema = session.scalar(text("SELECT current_schema()")) or "public"
        got = session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key(schema, job)}
        )
        yield bool(got)
        return
    database = bind.engine.url.database
    if not database or database == ":memory:":
        yield True  # a database in memory belongs to this process alone
        return
    path = lock_file(str(Path(database).resolve()), job)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            got = True
        except BlockingIOError:
            got = False
        # Closing the file releases the lock too; unlocking first says so explicitly.
        try:
            yield got
        finally:
            if got:
                fcntl.flock(fh, fcntl.LOCK_UN)
