"""`jiesu backup` and `jiesu restore` on real SQLite files and real PostgreSQL databases."""

from __future__ import annotations

import io
import json
import tarfile
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.cli import app
from jiesu.config import Settings
from jiesu.db.engine import make_engine
from jiesu.db.migrate import current, head_revision, upgrade
from jiesu.ops import sqlite_copy
from jiesu.ops.archive import read_manifest
from jiesu.ops.backup import backup, restore
from jiesu.ops.serving import serving
from jiesu.people.models import User
from jiesu.workflow.models import Event, ServiceRequest
from opskit import NOW, counts, data_files, populate, request_count, tree

from factories import World, make_request

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def use(monkeypatch: pytest.MonkeyPatch, url: str, data_dir: Path) -> None:
    monkeypatch.setenv("JIESU_DATABASE_URL", url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(data_dir))


def add_request(url: str, text: str) -> str:
    """A submission through the real intake on a restored database."""
    from jiesu.city.service import city_context

    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            users = {u.username: u for u in s.scalars(select(User))}
            req = make_request(s, World(city_context(s), users), NOW + timedelta(days=5), text=text)
            s.commit()
            return req.ticket
    finally:
        engine.dispose()


@pytest.mark.parametrize("logical", [False, True], ids=["native", "logical"])
def test_backup_restore_over_changed_data_and_into_an_empty_database(
    scratch: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logical: bool
) -> None:
    url, data = scratch("live"), tmp_path / "data"
    populate(url)
    data_files(data)
    before, files_before = counts(url), tree(data)
    use(monkeypatch, url, data)
    file = tmp_path / "nightly.jiesu"
    code, out = invoke("backup", "--out", str(file), *(["--logical"] if logical else []))
    assert code == 0, out
    assert "12 requests" in out and "warehouse/" in out
    manifest = read_manifest(file)
    assert manifest.row_counts == before
    assert manifest.schema_revision == head_revision()
    expected_method = "logical" if logical else ("sqlite" if "sqlite" in url else "pg_dump")
    assert manifest.database["method"] == expected_method
    assert "files/models/category/20261101T000000-abc/model.json" in manifest.members
    assert not any("warehouse" in m for m in manifest.members)

    # Life goes on after the backup: a new request, a tampered event, a lost model, a new report.
    late = add_request(url, "备份之后才来的诉求")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(Event).where(Event.seq == 1, Event.id == 1).values(actor="mallory"))
    engine.dispose()
    (data / "models/category/20261101T000000-abc/model.json").unlink()
    (data / "reports/daily/2026-11-02").mkdir()
    (data / "reports/daily/2026-11-02/report.json").write_text("{}")
    code, out = invoke("audit", "verify")
    assert code == 1

    # Without --yes the command says what it would replace, and replaces nothing.
    code, out = invoke("restore", "--from", str(file))
    assert code == 1
    flat = " ".join(out.split())
    assert "--yes" in flat and "13 requests" in flat and "reports/ (2 files)" in flat, out
    assert request_count(url) == 13

    code, out = invoke("restore", "--from", str(file), "--yes")
    assert code == 0, out
    assert "audit chain intact: 12 requests" in out
    assert counts(url) == before
    assert tree(data) == {k: v for k, v in files_before.items() if not k.startswith("warehouse")}
    assert not (data / "warehouse").exists()
    code, out = invoke("audit", "verify")
    assert code == 0, out
    engine = make_engine(url)
    with Session(engine) as s:
        assert s.scalar(select(ServiceRequest).where(ServiceRequest.ticket == late)) is None
    engine.dispose()
    # New work gets fresh ids after the restored ones (sequences moved past them).
    add_request(url, "恢复之后的新诉求")
    assert request_count(url) == 13

    # Into an empty database on another machine: no --yes needed.
    empty, data2 = scratch("fresh"), tmp_path / "data2"
    use(monkeypatch, empty, data2)
    code, out = invoke("restore", "--from", str(file))
    assert code == 0, out
    assert counts(empty) == before
    code, out = invoke("audit", "verify")
    assert code == 0, out


def test_backup_is_consistent_while_requests_keep_coming(
    scratch: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = scratch("busy")
    populate(url, requests=6)
    settings = Settings(database_url=url, data_dir=tmp_path / "data")
    # Small steps, so the copy of SQLite takes many steps with writes landing between them.
    monkeypatch.setattr(sqlite_copy, "PAGES_PER_STEP", 4)
    written, stop = [0], threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop.is_set():
                add_request(url, f"并发写入{written[0]}")
                written[0] += 1
        except BaseException as exc:  # surfaced below: a writer that died proves nothing
            failures.append(exc)

    class WaitForWrites:
        """Holds each dump step until the writer has committed more requests meanwhile."""

        def start(self, what: str, total: int | None) -> Callable[[int], None]:
            self._wait()
            return lambda _n: self._wait()

        def _wait(self) -> None:
            target = written[0] + 2
            for _ in range(200):
                if written[0] >= target or failures:
                    return
                stop.wait(0.05)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        manifest = backup(settings, tmp_path / "busy.jiesu", steps=WaitForWrites())
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not failures, failures
    in_backup = manifest.row_counts["service_requests"]
    total = request_count(url)
    assert 6 <= in_backup < total, "writes landed while the backup ran, after its snapshot"
    target = scratch("copy")
    restore(Settings(database_url=target, data_dir=tmp_path / "d2"), tmp_path / "busy.jiesu")
    assert counts(target) == manifest.row_counts
    use(monkeypatch, target, tmp_path / "d2")
    code, out = invoke("audit", "verify")
    assert code == 0, out


# --- refusals (the file's format is the same for both backends: SQLite suffices) ------------


@pytest.fixture
def good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'live' / 'jiesu.db'}"
    populate(url, requests=4)
    use(monkeypatch, url, tmp_path / "data")
    code, out = invoke("backup", "--out", str(tmp_path / "good.jiesu"))
    assert code == 0, out
    return tmp_path / "good.jiesu", url


def _rewrite(src: Path, dst: Path, change: Callable[[str, bytes], bytes]) -> None:
    """Copy a backup member by member, passing each member's bytes through ``change``."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for info in tin.getmembers():
            fh = tin.extractfile(info)
            assert fh is not None
            body = change(info.name, fh.read())
            info.size = len(body)
            tout.addfile(info, io.BytesIO(body))


def _manifest_with(**changes: object) -> Callable[[str, bytes], bytes]:
    def change(name: str, body: bytes) -> bytes:
        if name != "manifest.json":
            return body
        return json.dumps(json.loads(body) | changes).encode()

    return change


def _flip_in_database(name: str, body: bytes) -> bytes:
    if not name.startswith("db/"):
        return body
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]


def test_restore_refuses_while_the_installation_is_being_served(
    scratch: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, data = scratch("served"), tmp_path / "data"
    populate(url)
    use(monkeypatch, url, data)
    file = tmp_path / "b.jiesu"
    assert invoke("backup", "--out", str(file))[0] == 0
    add_request(url, "服务中收到的诉求")
    with serving(url):  # what `jiesu serve` holds while it runs
        code, out = invoke("restore", "--from", str(file), "--yes")
        assert code == 1 and "being served" in " ".join(out.split()), out
        assert request_count(url) == 13  # nothing replaced
    code, out = invoke("restore", "--from", str(file), "--yes")
    assert code == 0, out
    assert request_count(url) == 12


def test_restore_refuses_damaged_foreign_and_newer_files_and_changes_nothing(
    good: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file, source = good
    target = f"sqlite:///{tmp_path / 'target' / 'jiesu.db'}"
    populate(target, requests=2)
    target_counts = counts(target)
    use(monkeypatch, target, tmp_path / "target-data")
    raw = file.read_bytes()
    cases: dict[str, tuple[Path, str]] = {}

    def case(name: str, expect: str) -> Path:
        cases[name] = (tmp_path / f"{name}.jiesu", expect)
        return cases[name][0]

    case("truncated", "damaged").write_bytes(raw[: len(raw) // 2])
    middle = len(raw) // 2
    case("bit-rot", "damaged").write_bytes(
        raw[:middle] + bytes([raw[middle] ^ 0x55]) + raw[middle + 1 :]
    )
    _rewrite(file, case("member-changed", "does not match its SHA-256"), _flip_in_database)
    case("not-a-backup", "not a Jiesu backup").write_bytes(b"SQLite format 3\x00" + bytes(4000))
    with tarfile.open(case("no-manifest", "not a Jiesu backup"), "w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    _rewrite(file, case("newer-format", "format version 2"), _manifest_with(format_version=2))
    _rewrite(
        file,
        case("newer-schema", "newer than this Jiesu knows"),
        _manifest_with(schema_revision="0999", jiesu_version="9.0.0"),
    )
    _rewrite(
        file,
        case("other-backend", "take a backup with --logical"),
        _manifest_with(database={"backend": "postgresql", "method": "pg_dump"}),
    )
    for name, (path, expect) in cases.items():
        code, out = invoke("restore", "--from", str(path), "--yes")
        assert code == 1, (name, out)
        assert expect in " ".join(out.split()), (name, out)
        assert counts(target) == target_counts, f"{name}: the database was changed"
        if name != "other-backend":  # a sound file, only not for this database
            code, out = invoke("restore", "--from", str(path), "--check")
            assert code == 1, (name, out)
    code, out = invoke("restore", "--from", str(file), "--check")
    assert code == 0 and "intact" in out, out
    assert counts(source) != target_counts  # the good file would have changed something


def test_a_backup_of_an_older_schema_is_restored_and_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = "0008"
    url = f"sqlite:///{tmp_path / 'old' / 'jiesu.db'}"
    (tmp_path / "old").mkdir()
    upgrade(url, older)
    use(monkeypatch, url, tmp_path / "old-data")
    code, out = invoke("backup", "--out", str(tmp_path / "old.jiesu"))
    assert code == 0, out
    assert read_manifest(tmp_path / "old.jiesu").schema_revision == older
    target = f"sqlite:///{tmp_path / 'new' / 'jiesu.db'}"
    use(monkeypatch, target, tmp_path / "new-data")
    code, out = invoke("restore", "--from", str(tmp_path / "old.jiesu"))
    assert code == 0, out
    assert f"schema migrated from {older} to {head_revision()}" in " ".join(out.split())
    assert current(target) == head_revision()


@pytest.mark.pg
def test_a_logical_backup_moves_an_installation_from_sqlite_to_postgresql(
    sqlite_scratch: Callable[[str], str],
    pg_scratch: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = sqlite_scratch("small")
    populate(url)
    use(monkeypatch, url, tmp_path / "data")
    code, out = invoke("backup", "--logical", "--out", str(tmp_path / "move.jiesu"))
    assert code == 0, out
    code, out = invoke("backup", "--out", str(tmp_path / "native.jiesu"))
    assert code == 0, out
    pg = pg_scratch("moved")
    use(monkeypatch, pg, tmp_path / "data")
    code, out = invoke("restore", "--from", str(tmp_path / "native.jiesu"), "--yes")
    assert code == 1 and "--logical" in out
    code, out = invoke("restore", "--from", str(tmp_path / "move.jiesu"), "--yes")
    assert code == 0, out
    assert counts(pg) == counts(url)
    code, out = invoke("audit", "verify")
    assert code == 0, out
    add_request(pg, "迁移之后的新诉求")


def test_a_backup_inside_the_data_dir_leaves_itself_out_and_help_says_what_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, data = f"sqlite:///{tmp_path / 'db' / 'jiesu.db'}", tmp_path / "data"
    populate(url, requests=1)
    data_files(data)
    use(monkeypatch, url, data)
    inside = data / "reports" / "nightly.jiesu"
    code, out = invoke("backup", "--out", str(inside))
    assert code == 0, out
    names = set(read_manifest(inside).members)
    assert "files/reports/daily/2026-11-01/report.json" in names
    assert not [n for n in names if "nightly" in n or ".jiesu-backup-" in n]
    code, out = invoke("restore", "--from", str(inside), "--yes")
    assert code == 1 and "which it replaces" in " ".join(out.split())
    code, out = invoke("backup", "--help")
    assert code == 0 and "warehouse" in out and "refresh --full" in " ".join(out.split())
    code, out = invoke("restore", "--help")
    assert code == 0 and "--yes" in out and "Stop" in out
