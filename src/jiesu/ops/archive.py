"""The backup file: a tar archive (gzip) whose first member is a manifest.

    manifest.json        format, format version, schema revision, when, row counts, and the
                         size and SHA-256 of every other member
    db/…                 the database: one SQLite file, one pg_dump archive, or one JSON Lines
                         file per table (see ops.logical)
    files/…              the data dir's files that cannot be rebuilt (see ops.backup)

The manifest comes first so that a restore refuses a file of another format or of a newer
schema before reading the rest. Every member is checked against its hash while it is
extracted, so a damaged file is refused before anything in the installation is touched. The
archive is written beside its final name and renamed when complete: a backup interrupted
midway never leaves a file that looks whole.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from jiesu.errors import BadInput

FORMAT = "jiesu-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 20

Progress = Callable[[int], None]
# What a truncated or corrupted archive raises (a full disk's OSError is not among them).
UNREADABLE = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


@dataclass
class Member:
    bytes: int
    sha256: str


@dataclass
class Manifest:
    created_at: str
    jiesu_version: str
    schema_revision: str | None
    # backend (sqlite | postgresql), method (sqlite | pg_dump | logical), and for pg_dump the
    # schema it was taken from and the tool's version.
    database: dict[str, Any]
    row_counts: dict[str, int]
    members: dict[str, Member] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        data = asdict(self)
        # What it is first, for a person opening the file.
        first = {"format": data.pop("format"), "format_version": data.pop("format_version")}
        return json.dumps(first | data, indent=2, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
        except ValueError:
            raise _damaged("its manifest is not valid JSON") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise _foreign()
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise BadInput(
                "--from",
                f"backup format version {version!r}; this Jiesu reads version {FORMAT_VERSION}"
                + (
                    " (the file comes from a newer Jiesu: upgrade first)" if _newer(version) else ""
                ),
            )
        try:
            members = {k: Member(**v) for k, v in data["members"].items()}
            return cls(
                created_at=str(data["created_at"]),
                jiesu_version=str(data["jiesu_version"]),
                schema_revision=data["schema_revision"],
                database=dict(data["database"]),
                row_counts={str(k): int(v) for k, v in data["row_counts"].items()},
                members=members,
                left_out=list(data.get("left_out", [])),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _damaged(f"its manifest lacks or garbles {exc}") from None


def _newer(version: object) -> bool:
    return isinstance(version, int) and version > FORMAT_VERSION


def _damaged(why: str) -> BadInput:
    return BadInput("--from", f"the backup file is damaged: {why}")


def _foreign() -> BadInput:
    return BadInput("--from", "not a Jiesu backup (no Jiesu manifest at its start)")


def hash_copy(src: Path, dst: Path, progress: Progress | None = None) -> Member:
    """Copy ``src`` to ``dst`` and return what the manifest records of it."""
    h, size = hashlib.sha256(), 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    with src.open("rb") as fin, dst.open("wb") as fout:
        while chunk := fin.read(CHUNK):
            h.update(chunk)
            fout.write(chunk)
            size += len(chunk)
            if progress:
                progress(len(chunk))
    shutil.copystat(src, dst)
    return Member(size, h.hexdigest())


def hash_file(path: Path) -> Member:
    h, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return Member(size, h.hexdigest())


def write_archive(
    out: Path, manifest: Manifest, staged: Path, progress: Progress | None = None
) -> None:
    """Write the manifest and every member (files under ``staged`` by member name)."""
    partial = out.with_name(f".{out.name}.partial")
    try:
        with partial.open("wb") as raw:
            # Level 1: most of the gain for a fraction of the time; pg_dump archives are
            # compressed already.
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1) as tar:
                body = manifest.to_json()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(body), 0o600, int(time.time())
                tar.addfile(info, io.BytesIO(body))
                for name in manifest.members:
                    path = staged / name
                    tar.add(str(path), arcname=name, recursive=False)
                    if progress:
                        progress(manifest.members[name].bytes)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def read_manifest(path: Path) -> Manifest:
    """Only the manifest (the first member): cheap, for refusing early."""
    with _open(path) as tar:
        return _first_manifest(tar)


def extract(path: Path, into: Path, progress: Progress | None = None) -> Manifest:
    """Check and extract every member into ``into``; refuse a damaged or foreign file."""
    with _open(path) as tar:
        manifest = _first_manifest(tar)
        seen: set[str] = set()
        try:
            while (info := tar.next()) is not None:
                name = info.name
                expected = manifest.members.get(name)
                if expected is None or not info.isfile() or name in seen:
                    raise _damaged(f"it holds {name!r}, which its manifest does not list")
                target = into / _safe(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(info)
                assert src is not None
                h, size = hashlib.sha256(), 0
                with target.open("wb") as fout:
                    while chunk := src.read(CHUNK):
                        h.update(chunk)
                        fout.write(chunk)
                        size += len(chunk)
                        if progress:
                            progress(len(chunk))
                if size != expected.bytes or h.hexdigest() != expected.sha256:
                    raise _damaged(f"{name} does not match its SHA-256 in the manifest")
                os.utime(target, (info.mtime, info.mtime))
                seen.add(name)
        except UNREADABLE as exc:
            raise _damaged(f"it cannot be read to its end ({exc or type(exc).__name__})") from None
    missing = sorted(set(manifest.members) - seen)
    if missing:
        raise _damaged(f"it ends before {missing[0]} (truncated?)")
    return manifest


def _open(path: Path) -> tarfile.TarFile:
    if not path.is_file():
        raise BadInput("--from", f"no such file: {path}")
    try:
        # Stream mode: members are read in order, so the manifest is the first thing read.
        return tarfile.open(str(path), mode="r|gz")
    except UNREADABLE:
        raise _foreign() from None


def _first_manifest(tar: tarfile.TarFile) -> Manifest:
    try:
        first = tar.next()
    except UNREADABLE:
        raise _foreign() from None
    if first is None or first.name != MANIFEST or not first.isfile():
        raise _foreign()
    fh = tar.extractfile(first)
    assert fh is not None
    try:
        raw = fh.read()
    except UNREADABLE:
        raise _damaged("its manifest cannot be read") from None
    return Manifest.from_json(raw)


def _safe(name: str) -> Path:
    """A member's name as a relative path that stays inside the folder it is extracted to."""
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise _damaged(f"member name {name!r} would leave the folder it is restored into")
    return Path(*p.parts)
