"""`jiesu backup` and `jiesu restore`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import OperationalError

from jiesu.city.service import city_context
from jiesu.clikit import console, err_console, fail, settings, unit_of_work
from jiesu.errors import ConfigError, JiesuError
from jiesu.ops.backup import WAREHOUSE, backup, check, restore, summary
from jiesu.privacy.audit import verify


class _Bars:
    """Steps on a rich Progress: each new step completes the one before."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.last: TaskID | None = None

    def start(self, what: str, total: int | None) -> Callable[[int], None]:
        self._finish()
        task = self.bar.add_task(what, total=total)
        self.last = task
        return lambda n: self.bar.update(task, advance=n)

    def _finish(self) -> None:
        if self.last is not None:
            t = self.bar.tasks[self.last]
            self.bar.update(self.last, total=t.total or 1, completed=t.total or 1)


@contextmanager
def _steps() -> Iterator[_Bars]:
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        yield _Bars(bar)


def _how(db: dict[str, object]) -> str:
    method = db.get("method")
    if method == "sqlite":
        return "SQLite, online backup API"
    if method == "pg_dump":
        return f"PostgreSQL, pg_dump {db.get('tool_version')}"
    return f"{db.get('backend')}, logical dump of every table"


def backup_cmd(
    out: Path = typer.Option(..., "--out", help="the backup file to write (replaced if it exists)"),
    logical: bool = typer.Option(
        False,
        "--logical",
        help="dump every table as JSON Lines instead of SQLite's copy or pg_dump: slower, "
        "but restorable into either SQLite or PostgreSQL",
    ),
) -> None:
    """Back up the database and the data dir's own files into one file, while the server runs.

    The database is copied consistently while requests keep coming in: SQLite through its
    online backup API, PostgreSQL through pg_dump on one snapshot (or, when pg_dump's version
    does not match the server's, a logical dump of every table). From the data dir: models/
    (trained classifiers and routers), reports/, imports/ (rejects files) and rates.yaml.
    Left out: the Parquet warehouse (warehouse/), a copy of the database that `jiesu analytics
    refresh --full` rebuilds. A manifest records the format, the schema revision, the
    time, every table's row count and each part's SHA-256, so `jiesu restore` refuses a damaged
    file.
    """
    s = settings()
    try:
        with _steps() as steps:
            manifest = backup(s, out, logical_dump=logical, steps=steps)
    except JiesuError as exc:
        fail(exc.message)
    except OperationalError as exc:
        fail(f"the database cannot be read: {exc.orig}")
    db = manifest.database
    how = _how(db) + (f" ({db['why']})" if db.get("why") else "")
    files = sum(1 for m in manifest.members if m.startswith("files/"))
    console.print(
        f"backup written: {out} ({out.stat().st_size / 2**20:.1f} MB), schema "
        f"{manifest.schema_revision}: {summary(manifest.row_counts)}"
    )
    console.print(f"database: {how}; data dir files: {files}")
    console.print(f"left out: {'; '.join(manifest.left_out)}")


def restore_cmd(
    src: Path = typer.Option(..., "--from", help="the backup file written by `jiesu backup`"),
    yes: bool = typer.Option(
        False, "--yes", help="replace a database or data files that already hold something"
    ),
    only_check: bool = typer.Option(
        False, "--check", help="only read the file whole against its manifest; change nothing"
    ),
    check_audit: bool = typer.Option(
        True, "--verify/--no-verify", help="verify the audit chain after restoring"
    ),
) -> None:
    """Replace the database and the data dir's own files with a backup's.

    Stop `jiesu serve` first. A damaged file, a file of another format or of a newer schema is
    refused before anything changes; a database or data dir that holds anything is replaced
    only with --yes (without it, the command says what would be replaced). After loading,
    every table's row count is checked against the backup, an older schema is migrated to this
    version's, the warehouse is deleted (the next refresh rebuilds it) and the audit chain is
    verified.
    """
    s = settings()
    try:
        with _steps() as steps:
            if only_check:
                manifest = check(src, steps=steps)
            else:
                done = restore(s, src, yes=yes, steps=steps)
                manifest = done.manifest
    except JiesuError as exc:
        fail(exc.message)
    except OperationalError as exc:
        fail(f"the database cannot be written: {exc.orig}")
    described = (
        f"backup of {manifest.created_at}, schema {manifest.schema_revision}, "
        f"{_how(manifest.database)}"
    )
    if only_check:
        console.print(f"{src}: intact; {described}: {summary(manifest.row_counts)}")
        return
    console.print(f"restored {src} ({described}): {summary(manifest.row_counts)}")
    if done.upgraded_to:
        console.print(f"schema migrated from {manifest.schema_revision} to {done.upgraded_to}")
    console.print(
        f"data dir: {', '.join(done.replaced) or 'no files in the backup'}; "
        f"{WAREHOUSE}/ removed: `jiesu analytics refresh --full` rebuilds it"
    )
    if check_audit:
        _verify_audit()


def _verify_audit() -> None:
    with unit_of_work() as session, Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("verifying the audit chain", total=None)
        try:
            tz = city_context(session).tz
        except ConfigError:
            console.print("no city in the backup: nothing to verify")
            return
        report = verify(session, tz=tz, progress=lambda n: bar.update(task, completed=n))
    if not report.ok:
        fail(f"audit chain broken after restore: {report.breaks[0]}")
    console.print(f"audit chain intact: {report.requests} requests, {report.events} events")
