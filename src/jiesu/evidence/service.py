"""Adding evidence files to a request and deciding who may fetch them. Never commits.

A file is checked by its content (``sniff``), photos are re-encoded without metadata
(``images``), the stored bytes go to the storage backend, and the request's audit timeline
gets an ``evidence`` event with both hashes — so the chain proves which file was received and
which was kept. What a role may fetch is decided here once, for the API, the desks and the
tracking link alike."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.config import Settings
from jiesu.errors import BadInput, Conflict, Forbidden, JiesuError, NotFound
from jiesu.evidence.images import clean_image
from jiesu.evidence.models import STAGES, EvidenceFile
from jiesu.evidence.sniff import FileType, sniff
from jiesu.evidence.storage import Storage
from jiesu.people.service import Actor
from jiesu.workflow.access import can_view
from jiesu.workflow.events import append_event
from jiesu.workflow.models import ServiceRequest

# Who may add a file at each stage (a handler only for their own unit: ``can_view``).
ADDERS: dict[str, frozenset[str]] = {
    "request": frozenset({"citizen", "operator", "dispatcher", "handler", "supervisor", "admin"}),
    "reply": frozenset({"handler", "supervisor", "admin"}),
    "call_back": frozenset({"operator", "supervisor", "admin"}),
}
# The citizen (by account or tracking link) sees what they sent and the unit's proof of the fix.
CITIZEN_STAGES = ("request", "reply")
CLOSED_TO_FILES = ("merged", "invalid")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class StoredFileDamaged(JiesuError):
    status_code = 500


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_files: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.evidence_max_file_bytes,
            settings.evidence_max_pixels,
            settings.evidence_max_files,
        )


def clean_name(name: str | None) -> str:
    """The sender's file name for display: the last path part, no control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    return _CONTROL.sub("", base).strip()[:200]


def check_adder(actor: Actor, req: ServiceRequest, stage: str) -> None:
    if stage not in STAGES:
        raise BadInput("stage", f"must be one of {', '.join(STAGES)}")
    if actor.role not in ADDERS[stage]:
        roles = ", ".join(sorted(ADDERS[stage]))
        raise Forbidden(f"role {actor.role} may not add {stage} files; roles that may: {roles}")
    if actor.user_id is not None:
        can_view(actor, req)


@dataclass(frozen=True)
class Prepared:
    """A file checked and cleaned, not yet stored: the slow part, free of the database, so
    that the server can do it in a worker thread."""

    name: str
    received: FileType
    stored: bytes
    stored_type: FileType
    original_sha256: str
    original_bytes: int
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    removed: tuple[str, ...] = ()


def prepare_file(limits: Limits, name: str | None, data: bytes) -> Prepared:
    """Type by content, size, and for photos a metadata-free re-encode and a thumbnail;
    refuses with the field ``file`` named."""
    if len(data) > limits.max_bytes:
        raise BadInput(
            "file", f"is {len(data):,} bytes; the most accepted is {limits.max_bytes:,} bytes"
        )
    received = sniff(data[:64])
    name_, sha, size = clean_name(name), hashlib.sha256(data).hexdigest(), len(data)
    if received.kind == "image":
        clean = clean_image(data, max_pixels=limits.max_pixels)
        return Prepared(
            name_, received, clean.data, clean.file_type, sha, size,
            clean.width, clean.height, clean.thumbnail, clean.removed,
        )  # fmt: skip
    if b"%%EOF" not in data[-2048:]:
        raise BadInput("file", "is a damaged or truncated PDF (it has no end-of-file marker)")
    return Prepared(name_, received, data, received, sha, size)


def check_room(session: Session, limits: Limits, req: ServiceRequest) -> None:
    if req.status in CLOSED_TO_FILES:
        raise Conflict(f"request {req.ticket} is {req.status}; add files to its original")
    held = session.scalar(
        select(func.count()).select_from(EvidenceFile).where(EvidenceFile.request_id == req.id)
    )
    if (held or 0) >= limits.max_files:
        raise BadInput("file", f"request {req.ticket} already has {held} files, the most allowed")


def record_file(
    session: Session,
    storage: Storage,
    limits: Limits,
    req: ServiceRequest,
    p: Prepared,
    *,
    actor: Actor,
    now: datetime,
    stage: str,
) -> EvidenceFile:
    """Store a prepared file and record it, with an ``evidence`` event in the audit chain."""
    check_adder(actor, req, stage)
    check_room(session, limits, req)
    public_id = secrets.token_hex(16)
    ext = p.stored_type.ext
    key = f"{req.id}/{public_id}.{ext}"
    thumb_key = f"{req.id}/{public_id}.thumb.{ext}" if p.thumbnail else None
    storage.put(key, p.stored)
    if p.thumbnail is not None and thumb_key is not None:
        storage.put(thumb_key, p.thumbnail)
    row = EvidenceFile(
        public_id=public_id,
        request_id=req.id,
        stage=stage,
        kind=p.received.kind,
        media_type=p.stored_type.media_type,
        name=p.name,
        original_sha256=p.original_sha256,
        original_bytes=p.original_bytes,
        original_media_type=p.received.media_type,
        sha256=hashlib.sha256(p.stored).hexdigest(),
        bytes=len(p.stored),
        width=p.width,
        height=p.height,
        storage=storage.name,
        key=key,
        thumb_key=thumb_key,
        thumb_sha256=hashlib.sha256(p.thumbnail).hexdigest() if p.thumbnail else None,
        removed=",".join(p.removed),
        uploaded_at=now,
        uploaded_by=actor.name,
        uploaded_by_id=actor.user_id,
        uploader_role=actor.role,
    )
    session.add(row)
    append_event(
        session,
        req,
        kind="evidence",
        actor=actor,
        at=now,
        payload=event_payload(row),
        from_status=req.status,
        to_status=req.status,
    )
    session.flush()
    return row


def add_file(
    session: Session,
    storage: Storage,
    limits: Limits,
    req: ServiceRequest,
    *,
    actor: Actor,
    now: datetime,
    stage: str,
    name: str | None,
    data: bytes,
) -> EvidenceFile:
    """Check, clean, store and record one file (``prepare_file`` then ``record_file``)."""
    check_adder(actor, req, stage)
    check_room(session, limits, req)
    prepared = prepare_file(limits, name, data)
    return record_file(session, storage, limits, req, prepared, actor=actor, now=now, stage=stage)


def event_payload(f: EvidenceFile) -> dict[str, Any]:
    return {
        "file": f.public_id,
        "stage": f.stage,
        "kind": f.kind,
        "name": f.name,
        "media_type": f.media_type,
        "bytes": f.bytes,
        "sha256": f.sha256,
        "original_sha256": f.original_sha256,
        "original_bytes": f.original_bytes,
        "original_media_type": f.original_media_type,
        "removed": f.removed.split(",") if f.removed else [],
    }


def take_for_action(session: Session, req: ServiceRequest, ids: Any, stage: str) -> list[str]:
    """Files named in a reply or call-back: this request's, of that stage, not yet sent with
    another action. They are tied to the event about to be written (its seq)."""
    if ids is None:
        return []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadInput("files", "must be a list of file ids")
    rows = []
    for fid in dict.fromkeys(ids):
        f = session.scalar(
            select(EvidenceFile).where(
                EvidenceFile.public_id == fid, EvidenceFile.request_id == req.id
            )
        )
        if f is None:
            raise BadInput("files", f"no file {fid} on request {req.ticket}")
        if f.stage != stage:
            raise BadInput("files", f"file {fid} was added as a {f.stage} file, not {stage}")
        if f.action_seq is not None:
            raise BadInput("files", f"file {fid} already went with event {f.action_seq}")
        rows.append(f)
    for f in rows:
        f.action_seq = req.event_count + 1
    return [f.public_id for f in rows]


def files_of(session: Session, req: ServiceRequest) -> list[EvidenceFile]:
    return list(
        session.scalars(
            select(EvidenceFile).where(EvidenceFile.request_id == req.id).order_by(EvidenceFile.id)
        )
    )


def visible_files(session: Session, req: ServiceRequest, actor: Actor) -> list[EvidenceFile]:
    """The files of ``req`` this actor may fetch (``can_view`` already passed)."""
    return [f for f in files_of(session, req) if _may_fetch(actor, f)]


def citizen_files(session: Session, req: ServiceRequest) -> list[EvidenceFile]:
    return [f for f in files_of(session, req) if f.stage in CITIZEN_STAGES]


def _may_fetch(actor: Actor, f: EvidenceFile) -> bool:
    if actor.role == "citizen":
        return f.stage in CITIZEN_STAGES
    if actor.role == "analyst":
        # Analysts study cases: photos (already stripped) yes; a document may carry names and
        # numbers that cannot be masked inside it, so it stays with the handling roles.
        return f.kind == "image"
    return True


def get_file(session: Session, public_id: str) -> tuple[EvidenceFile, ServiceRequest]:
    f = session.scalar(select(EvidenceFile).where(EvidenceFile.public_id == public_id))
    if f is None:
        raise NotFound(f"no file {public_id}")
    req = session.get(ServiceRequest, f.request_id)
    assert req is not None
    return f, req


def check_fetch(actor: Actor, f: EvidenceFile, req: ServiceRequest) -> None:
    """Raise unless ``actor`` may fetch ``f``: who may view the request, then the file rules."""
    try:
        can_view(actor, req)
    except NotFound as exc:  # a citizen learns nothing, not even the ticket the file is on
        raise NotFound(f"no file {f.public_id}") from exc
    if not _may_fetch(actor, f):
        if actor.role == "citizen":
            raise NotFound(f"no file {f.public_id}")
        raise Forbidden(f"your role may not fetch {f.kind} files")


def read_stored(storage: Storage, f: EvidenceFile, *, thumbnail: bool = False) -> bytes:
    """The stored bytes, checked against their recorded hash: a changed file is not served."""
    key, want = (f.thumb_key, f.thumb_sha256) if thumbnail else (f.key, f.sha256)
    if key is None or want is None:
        raise NotFound(f"file {f.public_id} has no thumbnail")
    data = storage.get(key)
    if hashlib.sha256(data).hexdigest() != want:
        raise StoredFileDamaged(
            f"the stored file {f.public_id} no longer matches its recorded SHA-256; "
            "it is not served (restore it from a backup)"
        )
    return data
