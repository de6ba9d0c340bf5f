"""PostgreSQL's own tools: pg_dump and pg_restore, in custom format, for Jiesu's tables only.

Only Jiesu's tables (and `alembic_version`) of the schema Jiesu uses are dumped, by name, so a
database shared with other applications keeps their tables out of the backup and out of the
restore's way. pg_dump runs on a snapshot exported by a transaction that also counts the rows,
so the manifest's counts are those of the dump, however busy the server is.

pg_dump refuses a server newer than itself, and its archive is only readable by a pg_restore at
least as new: the versions are checked first, and `ops.backup` falls back to the logical dump
when the tools do not match the server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from jiesu.errors import JiesuError

TOOL_DIRS = ("/usr/bin", "/usr/local/bin")


@dataclass(frozen=True)
class Tool:
    path: str
    version: str  # e.g. "15.20"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def find_tool(name: str) -> Tool | None:
    path = shutil.which(name) or next(
        (p for d in TOOL_DIRS if os.access(p := f"{d}/{name}", os.X_OK)), None
    )
    if path is None:
        return None
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(\d+(?:\.\d+)?)", out)
    return Tool(path, found.group(1)) if found else None


def server_major(conn: Connection) -> int:
    return int(conn.scalar(text("SHOW server_version_num")) or 0) // 10000


def current_schema(conn: Connection) -> str:
    return str(conn.scalar(text("SELECT current_schema()")))


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL as a libpq connection string for the tools, and the password as PGPASSWORD
    (never on a command line, where any user on the host could read it)."""
    u = make_url(url)
    params: dict[str, str] = {
        k: v if isinstance(v, str) else v[-1] for k, v in u.query.items() if k != "driver"
    }
    for key, value in (
        ("host", u.host),
        ("port", u.port),
        ("user", u.username),
        ("dbname", u.database),
    ):
        if value is not None:
            params[key] = str(value)
    env = {**os.environ, "PGPASSWORD": u.password} if u.password else dict(os.environ)
    return make_conninfo("", **params), env


def _qualified(schema: str, table: str) -> str:
    # Double quotes make pg_dump take the name literally (no pattern, no case folding).
    return f'"{schema}"."{table}"'


@contextmanager
def exported_snapshot(engine: Engine) -> Iterator[tuple[Connection, str]]:
    """A repeatable-read transaction and its snapshot's id, for pg_dump --snapshot."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = str(conn.scalar(text("SELECT pg_export_snapshot()")))
            yield conn, snapshot


def dump(url: str, tool: Tool, *, schema: str, tables: list[str], snapshot: str, out: Path) -> None:
    conninfo, env = libpq(url)
    args = [tool.path, "--format=custom", f"--snapshot={snapshot}", f"--file={out}"]
    args += [f"--table={_qualified(schema, t)}" for t in tables]
    _run([*args, f"--dbname={conninfo}"], env, "pg_dump")


def restore(url: str, tool: Tool, archive: Path) -> None:
    """Load a custom-format archive in one transaction (all of it or nothing)."""
    conninfo, env = libpq(url)
    args = [
        tool.path,
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        f"--dbname={conninfo}",
        str(archive),
    ]
    _run(args, env, "pg_restore")


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    except OSError as exc:
        raise JiesuError(f"{what} could not be started: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise JiesuError(f"{what} failed (exit {done.returncode}):\n{tail}")
