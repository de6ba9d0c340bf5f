"""Evidence routes: upload on a request (multipart), list a request's files, fetch one file or
its thumbnail. Which files a role gets is ``service.check_fetch``'s to say."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from jiesu.deps import DB, ClockDep, CurrentActor, write
from jiesu.errors import BadInput, error_responses
from jiesu.evidence.models import EvidenceFile
from jiesu.evidence.schemas import EvidenceOut
from jiesu.evidence.service import (
    Limits,
    check_adder,
    check_fetch,
    check_room,
    get_file,
    prepare_file,
    read_stored,
    record_file,
    visible_files,
)
from jiesu.evidence.storage import Storage, storage_for
from jiesu.workflow.access import can_view
from jiesu.workflow.service import get_by_ticket

router = APIRouter(tags=["evidence"])

ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role or unit may not do this",
        404: "no such ticket or file",
        409: "the request takes no more files in its status",
        413: "the body is larger than the upload ceiling",
        422: "the file is refused (type by content, size, damaged image); names the field",
    }
)
BINARY: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the stored bytes (photos re-encoded without metadata)",
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def app_storage(request: Request) -> Storage:
    """The installation's storage backend, made once per app (an S3 client is not free)."""
    state = request.app.state
    if getattr(state, "evidence_storage", None) is None:
        state.evidence_storage = storage_for(state.settings)
    storage: Storage = state.evidence_storage
    return storage


async def read_upload(upload: UploadFile, limit: int) -> bytes:
    """The uploaded bytes, refusing past ``limit`` without reading all of them."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise BadInput("file", f"is larger than {limit:,} bytes, the most accepted")
    return data


def file_out(f: EvidenceFile, base: str = "/api/v1/files") -> EvidenceOut:
    return EvidenceOut(
        id=f.public_id,
        stage=f.stage,
        kind=f.kind,
        name=f.name,
        media_type=f.media_type,
        bytes=f.bytes,
        sha256=f.sha256,
        original_sha256=f.original_sha256,
        width=f.width,
        height=f.height,
        removed=f.removed.split(",") if f.removed else [],
        uploaded_at=f.uploaded_at,
        uploaded_by=f.uploaded_by,
        action_seq=f.action_seq,
        url=f"{base}/{f.public_id}",
        thumbnail_url=f"{base}/{f.public_id}/thumbnail" if f.thumb_key else None,
    )


@router.post(
    "/requests/{ticket}/files", status_code=201, response_model=EvidenceOut, responses=ERRORS
)
async def upload(
    request: Request,
    ticket: str,
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    file: Annotated[UploadFile, File(description="a photo (JPEG, PNG, GIF, WebP) or a PDF")],
    stage: Annotated[
        str,
        Form(
            description="request | reply | call_back (reply and call-back files go "
            "with the next reply or call-back that names them in `files`)"
        ),
    ] = "request",
) -> EvidenceOut:
    """Attach a file; photos are re-encoded without EXIF/GPS, XMP and ICC data."""
    settings = request.app.state.settings
    storage = app_storage(request)
    limits = Limits.of(settings)
    data = await read_upload(file, limits.max_bytes)
    now = clock.now()

    def may_add(s: Session) -> None:
        req = get_by_ticket(s, ticket)
        check_adder(actor, req, stage)
        check_room(s, limits, req)

    # Who may add comes first; decoding and re-encoding a photo takes a CPU for a fraction of
    # a second, so it runs in a worker thread, never on the server's event loop.
    await db.run_sync(may_add)
    prepared = await asyncio.to_thread(prepare_file, limits, file.filename, data)

    def work(s: Session) -> EvidenceOut:
        req = get_by_ticket(s, ticket)
        f = record_file(s, storage, limits, req, prepared, actor=actor, now=now, stage=stage)
        return file_out(f)

    return await write(db, work)


@router.get("/requests/{ticket}/files", response_model=list[EvidenceOut], responses=ERRORS)
async def list_files(ticket: str, db: DB, actor: CurrentActor) -> list[EvidenceOut]:
    """The request's files you may fetch."""

    def work(s: Session) -> list[EvidenceOut]:
        req = get_by_ticket(s, ticket)
        can_view(actor, req)
        return [file_out(f) for f in visible_files(s, req, actor)]

    return await db.run_sync(work)


async def _serve(
    request: Request, file_id: str, db: DB, actor: CurrentActor, *, thumbnail: bool
) -> Response:
    storage = app_storage(request)

    def work(s: Session) -> tuple[EvidenceFile, bytes]:
        f, req = get_file(s, file_id)
        check_fetch(actor, f, req)
        return f, read_stored(storage, f, thumbnail=thumbnail)

    f, data = await db.run_sync(work)
    return file_response(f, data)


def file_response(f: EvidenceFile, data: bytes) -> Response:
    # Documents download; photos show inline. nosniff (headers.py) stops browsers guessing.
    disposition = "inline" if f.kind == "image" else "attachment"
    ext = f.key.rsplit(".", 1)[-1]
    return Response(
        data,
        media_type=f.media_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{f.public_id}.{ext}"',
            "Cache-Control": "private, no-store",
            "ETag": f'"{f.sha256}"',
        },
    )


@router.get("/files/{file_id}", response_class=Response, responses={**BINARY, **ERRORS})
async def fetch(request: Request, file_id: str, db: DB, actor: CurrentActor) -> Response:
    """One file's stored bytes, to those who may see it."""
    return await _serve(request, file_id, db, actor, thumbnail=False)


@router.get("/files/{file_id}/thumbnail", response_class=Response, responses={**BINARY, **ERRORS})
async def fetch_thumbnail(request: Request, file_id: str, db: DB, actor: CurrentActor) -> Response:
    """A photo's thumbnail (at most 320 px on its longer edge)."""
    return await _serve(request, file_id, db, actor, thumbnail=True)
