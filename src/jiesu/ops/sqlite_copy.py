"""Copying a SQLite database with SQLite's online backup API, while the server writes.

The copy runs in steps (so it can show progress) inside one read transaction on the source:
in WAL mode that transaction pins a snapshot, writers carry on beside it, and the copy is the
database exactly as it was when the transaction began — without it, SQLite would restart the
copy whenever another process wrote, which under steady intake could be forever.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from jiesu.errors import BadInput, JiesuError

PAGES_PER_STEP = 1024
BUSY_MS = 30_000


def sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BadInput("JIESU_DATABASE_URL", "an in-memory SQLite database cannot be backed up")
    return Path(database).resolve()


def copy_database(
    source: Path, target: Path, progress: Callable[[int, int], None] | None = None
) -> None:
    """Copy ``source`` into ``target`` page by page; ``progress(done, total)`` in pages.

    Used both ways: live database → backup copy, and backup copy → live database (the target
    is written through SQLite's own locking, so a server that is still running sees either the
    old database or the restored one, never a mix).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source, timeout=BUSY_MS / 1000, isolation_level=None)
    dst = sqlite3.connect(target, timeout=BUSY_MS / 1000)
    try:
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # take the snapshot now

        def step(_status: int, remaining: int, total: int) -> None:
            if progress:
                progress(total - remaining, total)

        src.backup(dst, pages=PAGES_PER_STEP, progress=step)
        src.execute("COMMIT")
    except sqlite3.Error as exc:
        raise JiesuError(f"SQLite could not copy {source} to {target}: {exc}") from exc
    finally:
        dst.close()
        src.close()
