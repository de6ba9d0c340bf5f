"""`backup()` and `restore()` of one installation: its database and its data dir's own files.

What a backup holds:

- the database, consistent while the server writes: SQLite through its online backup API;
  PostgreSQL through pg_dump on an exported snapshot when pg_dump matches the server, else (or
  with ``logical=True``) through the logical dump of every Jiesu table;
- the data dir's files that cannot be rebuilt (`DATA_ENTRIES`);
- a manifest: format, schema revision, time, the row count of every table, each member's
  SHA-256 (see ops.archive).

Left out: the Parquet warehouse, a copy of the database that `jiesu analytics refresh --full`
rebuilds (a restore deletes it, so that the next refresh rebuilds it from the restored data).

A restore refuses a damaged file, a file of another format and a file of a newer schema before
it changes anything; refuses to replace a database or files that hold anything unless told
``yes``; after loading, checks every table's row count against the manifest and brings an
older schema up to this version's.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, func, inspect, select, table
from sqlalchemy.engine import make_url

from jiesu import __version__
from jiesu.analytics.library import reports_root
from jiesu.city.service import forget_city_context
from jiesu.config import Settings
from jiesu.db import models as _models  # noqa: F401  (every table in Base.metadata)
from jiesu.db.base import Base
from jiesu.db.engine import is_sqlite, make_engine
from jiesu.db.migrate import current, head_revision, known_revisions, upgrade
from jiesu.errors import BadInput, Conflict, JiesuError
from jiesu.evidence.storage import ENTRY as EVIDENCE
from jiesu.kit.cache import forget_everything
from jiesu.kit.clock import utcnow
from jiesu.ops import archive, logical, pg_copy
from jiesu.ops.archive import Manifest
from jiesu.ops.serving import served
from jiesu.ops.sqlite_copy import copy_database, sqlite_file
from jiesu.rates.definitions import DEFAULT_FILE as RATES_FILE

# The data dir's entries that the database refers to or that were delivered, and that no
# command can make again as they were: trained classifier and router versions (the database
# names the active ones; retraining gives another model), the reports as produced, the rejects
# files of imports, the city's own rate definitions.
# Evidence files (photos, documents) are what citizens and units sent: nothing makes them again.
DATA_ENTRIES = ("models", reports_root(Path()).name, "imports", RATES_FILE, EVIDENCE)
WAREHOUSE = "warehouse"
LEFT_OUT = [f"{WAREHOUSE}/: a copy of the database; `jiesu analytics refresh --full` rebuilds it"]
# Tables whose counts the command line shows; the manifest has every table's.
MAIN_TABLES = {
    "service_requests": "requests",
    "events": "events",
    "contacts": "contacts",
    "users": "users",
    "audit_digests": "daily digests",
}
ALEMBIC = "alembic_version"
DB_MEMBER = {"sqlite": "db/jiesu.sqlite", "pg_dump": "db/jiesu.pgdump"}


class Steps(Protocol):
    """How long steps report progress: `start(what, total)` returns an `advance(n)`."""

    def start(self, what: str, total: int | None) -> Callable[[int], None]: ...


class _Quiet:
    def start(self, what: str, total: int | None) -> Callable[[int], None]:
        return lambda _n: None


@dataclass
class Restored:
    manifest: Manifest
    replaced: list[str] = field(default_factory=list)
    upgraded_to: str | None = None


def summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(t, 0):,} {label}" for t, label in MAIN_TABLES.items())


# --- what is where ----------------------------------------------------------------------


def jiesu_tables(conn: Connection) -> list[str]:
    """Jiesu's tables that exist here, parents first (other applications' tables ignored)."""
    present = set(inspect(conn).get_table_names())
    return [t.name for t in Base.metadata.sorted_tables if t.name in present]


def count_rows(conn: Connection, tables: list[str]) -> dict[str, int]:
    return {t: int(conn.scalar(select(func.count()).select_from(table(t))) or 0) for t in tables}


def _data_files(data_dir: Path, *, besides: Path) -> list[Path]:
    """The files of `DATA_ENTRIES`, without the backup being written (should ``--out`` point
    inside the data dir) and its staging folder."""
    out: list[Path] = []
    for entry in DATA_ENTRIES:
        path = data_dir / entry
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file()))
    return [p for p in out if not _ours(p, besides)]


def _ours(path: Path, out: Path) -> bool:
    if out.parent not in path.parents:
        return False
    top = path.relative_to(out.parent).parts[0]
    return top in (out.name, f".{out.name}.partial") or top.startswith(".jiesu-backup-")


def _describe_files(data_dir: Path) -> list[str]:
    held = []
    for entry in DATA_ENTRIES:
        path = data_dir / entry
        if path.is_file():
            held.append(entry)
        elif path.is_dir():
            n = sum(1 for p in path.rglob("*") if p.is_file())
            if n:
                held.append(f"{entry}/ ({n} file{'s' if n > 1 else ''})")
    return held


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- backup -----------------------------------------------------------------------------


def backup(
    settings: Settings, out: Path, *, logical_dump: bool = False, steps: Steps | None = None
) -> Manifest:
    """Write a backup of the installation to ``out`` (replaced atomically if it exists)."""
    steps = steps or _Quiet()
    url = settings.db_url
    out = out.resolve()
    if out.is_dir():
        raise BadInput("--out", f"{out} is a folder; name the backup file")
    if not out.parent.is_dir():
        raise BadInput("--out", f"folder {out.parent} does not exist")
    revision = current(url)
    if revision is None:
        raise BadInput("JIESU_DATABASE_URL", "the database has no Jiesu schema: nothing to back up")
    staged = Path(tempfile.mkdtemp(prefix=".jiesu-backup-", dir=out.parent))
    try:
        database, counts, members = _dump_database(url, staged, logical_dump, steps)
        data_dir = settings.data_dir.resolve()
        files = _data_files(data_dir, besides=out)
        advance = steps.start("copying data files", sum(p.stat().st_size for p in files))
        for path in files:
            name = "files/" + path.relative_to(data_dir).as_posix()
            members[name] = archive.hash_copy(path, staged / name, advance)
        manifest = Manifest(
            created_at=utcnow().isoformat(timespec="seconds"),
            jiesu_version=__version__,
            schema_revision=revision,
            database=database,
            row_counts=counts,
            members=members,
            left_out=LEFT_OUT,
        )
        total = sum(m.bytes for m in members.values())
        archive.write_archive(out, manifest, staged, steps.start("writing the backup", total))
        return manifest
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _dump_database(
    url: str, staged: Path, logical_dump: bool, steps: Steps
) -> tuple[dict[str, object], dict[str, int], dict[str, archive.Member]]:
    (staged / "db").mkdir()
    if is_sqlite(url):
        copy = staged / DB_MEMBER["sqlite"]
        _copy_sqlite(sqlite_file(url), copy, steps, "copying the SQLite database")
        copy_url = f"sqlite:///{copy}"
        if logical_dump:
            db, counts = _logical_dump(copy_url, staged, steps)
            copy.unlink()
            db["from"] = "sqlite"
        else:
            db, counts = {"backend": "sqlite", "method": "sqlite"}, _counts(copy_url)
        return db, counts, _hash_members(staged)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            major, schema = pg_copy.server_major(conn), pg_copy.current_schema(conn)
        tool = pg_copy.find_tool("pg_dump")
        why = None
        if logical_dump:
            why = "asked for"
        elif tool is None:
            why = "pg_dump not found"
        elif tool.major != major:
            why = f"pg_dump {tool.version} does not match the server (PostgreSQL {major})"
        if why is not None:
            db, counts = _logical_dump(url, staged, steps)
            db["why"] = why
            return db, counts, _hash_members(staged)
        assert tool is not None
        with pg_copy.exported_snapshot(engine) as (conn, snapshot):
            tables = jiesu_tables(conn)
            counts = count_rows(conn, tables)
            advance = steps.start(f"pg_dump {tool.version} (schema {schema})", None)
            pg_copy.dump(
                url,
                tool,
                schema=schema,
                tables=[*tables, ALEMBIC],
                snapshot=snapshot,
                out=staged / DB_MEMBER["pg_dump"],
            )
        advance(1)
        db = {
            "backend": "postgresql",
            "method": "pg_dump",
            "schema": schema,
            "tool_version": tool.version,
            "server_major": major,
        }
        return db, counts, _hash_members(staged)
    finally:
        engine.dispose()


def _copy_sqlite(source: Path, target: Path, steps: Steps, what: str) -> None:
    advance = steps.start(what, None)
    last = [0]

    def progress(done: int, total: int) -> None:
        advance(done - last[0])
        last[0] = done

    copy_database(source, target, progress)


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return count_rows(conn, jiesu_tables(conn))
    finally:
        engine.dispose()


def _logical_dump(url: str, staged: Path, steps: Steps) -> tuple[dict[str, object], dict[str, int]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One snapshot for every table, read-only: consistent while the server writes.
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                tables = jiesu_tables(conn)
                meta = logical.reflect(conn, tables)
                counts = count_rows(conn, tables)
                advance = steps.start("dumping tables", sum(counts.values()))
                for name in tables:
                    logical.dump_table(
                        conn, meta.tables[name], staged / f"db/{name}.jsonl", advance
                    )
            backend = conn.dialect.name
    finally:
        engine.dispose()
    return {"backend": backend, "method": "logical"}, counts


def _hash_members(staged: Path) -> dict[str, archive.Member]:
    return {
        p.relative_to(staged).as_posix(): archive.hash_file(p)
        for p in sorted((staged / "db").iterdir())
    }


# --- restore ----------------------------------------------------------------------------


def check(src: Path, *, steps: Steps | None = None) -> Manifest:
    """Read the whole backup and check every member against the manifest; change nothing."""
    steps = steps or _Quiet()
    manifest = archive.read_manifest(src)
    _check_schema(manifest)
    with tempfile.TemporaryDirectory(prefix=".jiesu-check-", dir=src.resolve().parent) as tmp:
        archive.extract(src, Path(tmp), steps.start("checking the backup", _size(manifest)))
    return manifest


def restore(
    settings: Settings, src: Path, *, yes: bool = False, steps: Steps | None = None
) -> Restored:
    """Replace the installation's database and data files with the backup's."""
    steps = steps or _Quiet()
    url = settings.db_url
    src = src.resolve()
    manifest = archive.read_manifest(src)
    _check_schema(manifest)
    method = manifest.database.get("method")
    _check_target(manifest, url)
    if served(url):
        raise Conflict(
            "the installation is being served: stop every `jiesu serve` on this database "
            "first (a restore under a live server would lose what it accepts meanwhile)"
        )
    data_dir = settings.data_dir.resolve()
    for entry in DATA_ENTRIES:
        if (data_dir / entry) in src.parents:
            raise BadInput(
                "--from", f"the backup lies inside {data_dir / entry}, which it replaces"
            )
    data_dir.mkdir(parents=True, exist_ok=True)
    if is_sqlite(url):
        sqlite_file(url).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".jiesu-restore-", dir=data_dir))
    try:
        archive.extract(src, tmp, steps.start("checking and unpacking", _size(manifest)))
        _refuse_unless(yes, url, data_dir, manifest)
        if method == "sqlite":
            target = sqlite_file(url)
            _copy_sqlite(tmp / DB_MEMBER["sqlite"], target, steps, "restoring the database")
        elif method == "pg_dump":
            steps.start("pg_restore", None)
            _pg_restore(url, tmp / DB_MEMBER["pg_dump"])
        else:
            rows = sum(manifest.row_counts.values())
            _logical_restore(url, tmp, manifest, steps.start("restoring the tables", rows))
        _check_counts(url, manifest)
        result = Restored(manifest)
        if manifest.schema_revision != head_revision():
            upgrade(url)
            result.upgraded_to = head_revision()
        result.replaced = _replace_files(data_dir, tmp / "files")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        # Whatever this process cached describes the database that is gone.
        forget_city_context()
        forget_everything()
    return result


def _size(manifest: Manifest) -> int:
    return sum(m.bytes for m in manifest.members.values())


def _check_schema(manifest: Manifest) -> None:
    rev = manifest.schema_revision
    if rev not in known_revisions():
        raise BadInput(
            "--from",
            f"the backup's schema revision {rev!r} is newer than this Jiesu knows "
            f"(up to {head_revision()}; it comes from Jiesu {manifest.jiesu_version}): "
            "upgrade Jiesu, then restore",
        )


def _check_target(manifest: Manifest, url: str) -> None:
    method = manifest.database.get("method")
    target = "sqlite" if is_sqlite(url) else "postgresql"
    if method == "logical":
        return
    if method not in DB_MEMBER:
        raise BadInput("--from", f"unknown database method {method!r} in the manifest")
    if manifest.database.get("backend") != target:
        raise BadInput(
            "--from",
            f"this is a {manifest.database.get('backend')} backup and the database is {target}; "
            "take a backup with --logical to move between SQLite and PostgreSQL",
        )
    if method != "pg_dump":
        return
    tool = pg_copy.find_tool("pg_restore")
    dumped = str(manifest.database.get("tool_version", "?"))
    if tool is None or tool.major < int(dumped.split(".")[0]):
        have = f"pg_restore {tool.version}" if tool else "no pg_restore"
        raise BadInput(
            "--from",
            f"the backup was written by pg_dump {dumped}; {have} here cannot read it "
            "(install that version's PostgreSQL client tools)",
        )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            schema = pg_copy.current_schema(conn)
    finally:
        engine.dispose()
    if schema != manifest.database.get("schema"):
        raise BadInput(
            "--from",
            f"the backup was taken from schema {manifest.database.get('schema')!r} and the "
            f"database uses schema {schema!r}; restore into that schema, or take the backup "
            "with --logical",
        )


def _refuse_unless(yes: bool, url: str, data_dir: Path, manifest: Manifest) -> None:
    if is_sqlite(url) and not sqlite_file(url).exists():
        counts: dict[str, int] = {}
    else:
        counts = _counts(url)
    rows = sum(counts.values())
    files = _describe_files(data_dir)
    if yes or (not rows and not files):
        return
    held = []
    if rows:
        held.append(f"the database {_safe_url(url)} holds {rows:,} rows ({summary(counts)})")
    if files:
        held.append(f"{data_dir} holds {', '.join(files)}")
    raise Conflict(
        "; ".join(held)
        + f". Restoring replaces all of it with the backup of {manifest.created_at} "
        f"({summary(manifest.row_counts)}); run again with --yes to do so"
    )


def _drop_jiesu_tables(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            tables = [*jiesu_tables(conn)]
            if inspect(conn).has_table(ALEMBIC):
                tables.append(ALEMBIC)
            logical.reflect(conn, tables).drop_all(conn)
    finally:
        engine.dispose()


def _pg_restore(url: str, dump: Path) -> None:
    tool = pg_copy.find_tool("pg_restore")
    assert tool is not None  # checked before anything was changed
    _drop_jiesu_tables(url)
    try:
        pg_copy.restore(url, tool, dump)
    except JiesuError as exc:
        raise JiesuError(
            f"{exc.message}\nthe database's Jiesu tables are now empty; fix the cause and "
            "restore again"
        ) from exc


def _logical_restore(
    url: str, tmp: Path, manifest: Manifest, advance: Callable[[int], None]
) -> None:
    _drop_jiesu_tables(url)
    if manifest.schema_revision is not None:
        upgrade(url, manifest.schema_revision)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            tables = jiesu_tables(conn)
            meta = logical.reflect(conn, tables)
            ordered = [t for t in meta.sorted_tables if t.name in manifest.row_counts]
            for t in ordered:
                logical.load_table(conn, t, tmp / f"db/{t.name}.jsonl", advance)
            logical.reset_sequences(conn, ordered)
    finally:
        engine.dispose()


def _check_counts(url: str, manifest: Manifest) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            got = count_rows(conn, list(manifest.row_counts))
    finally:
        engine.dispose()
    wrong = [
        f"{t}: {got[t]} rows, the backup has {n}"
        for t, n in manifest.row_counts.items()
        if got[t] != n
    ]
    if wrong:
        raise JiesuError("the restored database does not match the backup: " + "; ".join(wrong))


def _replace_files(data_dir: Path, restored: Path) -> list[str]:
    """Put the backup's data entries in place of the current ones; drop the warehouse."""
    replaced = []
    for entry in DATA_ENTRIES:
        target, source = data_dir / entry, restored / entry
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        if source.exists():
            source.replace(target)
            replaced.append(entry)
    shutil.rmtree(data_dir / WAREHOUSE, ignore_errors=True)
    return replaced
