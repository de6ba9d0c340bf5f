"""Evidence files on the web: the desks' file pages and upload form, the tracking link's
files, and reading the files of a submitted form. The rules are the service's
(``evidence.service``): these routes only read forms and answer with bytes or a redirect."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from jiesu.deps import DB, ClockDep, write
from jiesu.errors import BadInput, JiesuError, NotFound
from jiesu.evidence.endpoints import app_storage, file_response
from jiesu.evidence.models import EvidenceFile
from jiesu.evidence.service import (
    CITIZEN_STAGES,
    Limits,
    Prepared,
    check_fetch,
    get_file,
    prepare_file,
    read_stored,
    record_file,
)
from jiesu.evidence.storage import Storage
from jiesu.people.service import Actor
from jiesu.web.session import WebActor
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import get_by_ticket

router = APIRouter(include_in_schema=False)

FILES_FIELD = "files"
ACCEPT = "image/jpeg,image/png,image/gif,image/webp,application/pdf"


async def form_files(request: Request) -> list[Prepared]:
    """The files chosen in a form's ``files`` inputs (an input left empty sends none), each
    checked and cleaned in a worker thread; a refusal names the field and the file."""
    limits = Limits.of(request.app.state.settings)
    form = await request.form()
    out = []
    for value in form.getlist(FILES_FIELD):
        if not isinstance(value, UploadFile) or not value.filename:
            continue
        data = await value.read(limits.max_bytes + 1)
        try:
            out.append(await asyncio.to_thread(prepare_file, limits, value.filename, data))
        except BadInput as exc:
            problem = exc.fields[0]["problem"] if exc.fields else exc.message
            raise BadInput(FILES_FIELD, f"{value.filename}: {problem}") from exc
    return out


def store_files(
    s: Session,
    storage: Storage,
    limits: Limits,
    req: ServiceRequest,
    files: list[Prepared],
    *,
    actor: Actor,
    now: Any,
    stage: str,
) -> list[str]:
    """Store and record each prepared file; a refusal names the form's field and the file."""
    ids = []
    for p in files:
        try:
            f = record_file(s, storage, limits, req, p, actor=actor, now=now, stage=stage)
        except BadInput as exc:
            problem = exc.fields[0]["problem"] if exc.fields else exc.message
            raise BadInput(FILES_FIELD, f"{p.name}: {problem}") from exc
        ids.append(f.public_id)
    return ids


def file_view(f: EvidenceFile, base: str) -> dict[str, Any]:
    return {
        "id": f.public_id,
        "kind": f.kind,
        "name": f.name or f.public_id,
        "stage": f.stage,
        "bytes": f.bytes,
        "sha256": f.sha256,
        "removed": f.removed,
        "uploaded_at": f.uploaded_at,
        "uploaded_by": f.uploaded_by,
        "url": f"{base}/{f.public_id}",
        "thumb": f"{base}/{f.public_id}/thumbnail" if f.thumb_key else None,
    }


async def _desk_file(request: Request, file_id: str, db: DB, actor: Actor, thumb: bool) -> Response:
    storage = app_storage(request)

    def work(s: Session) -> tuple[EvidenceFile, bytes]:
        f, req = get_file(s, file_id)
        check_fetch(actor, f, req)
        return f, read_stored(storage, f, thumbnail=thumb)

    return file_response(*await db.run_sync(work))


@router.get("/desk/files/{file_id}")
async def desk_file(request: Request, file_id: str, db: DB, actor: WebActor) -> Response:
    return await _desk_file(request, file_id, db, actor, False)


@router.get("/desk/files/{file_id}/thumbnail")
async def desk_thumbnail(request: Request, file_id: str, db: DB, actor: WebActor) -> Response:
    return await _desk_file(request, file_id, db, actor, True)


@router.post("/desk/requests/{ticket}/files")
async def desk_upload(
    request: Request, ticket: str, db: DB, actor: WebActor, clock: ClockDep
) -> Response:
    """The request page's "add files" form; refused files come back on the page as an error."""
    from jiesu.web.requests import detail_page  # late: requests.py imports this module

    values = await request.form()
    stage = str(values.get("stage") or "request")
    storage, limits, now = app_storage(request), Limits.of(request.app.state.settings), clock.now()
    try:
        files = await form_files(request)
        if not files:
            raise BadInput(FILES_FIELD, "choose at least one file")

        def work(s: Session) -> None:
            req = get_by_ticket(s, ticket)
            store_files(s, storage, limits, req, files, actor=actor, now=now, stage=stage)

        await write(db, work)
    except JiesuError as exc:
        if exc.status_code in (401, 404):
            raise
        return await detail_page(request, db, actor, clock, ticket, error=exc, failed="files")
    return RedirectResponse(f"/desk/requests/{ticket}?done=files#files", status_code=303)


def tracked_file(s: Session, ticket: str, file_id: str) -> EvidenceFile:
    """A file the tracking link of ``ticket`` may show: this request's, and the citizen's own
    or the unit's proof of the fix — never a staff-only one, never another request's."""
    req = get_by_ticket(s, ticket)
    f, of = get_file(s, file_id)
    if of.id != req.id or f.stage not in CITIZEN_STAGES:
        raise NotFound(f"no file {file_id}")
    return f


@router.get("/t/{ticket}/{code}/files/{file_id}")
async def tracking_file(request: Request, ticket: str, code: str, file_id: str, db: DB) -> Response:
    return await _tracking_file(request, ticket, code, file_id, db, False)


@router.get("/t/{ticket}/{code}/files/{file_id}/thumbnail")
async def tracking_thumbnail(
    request: Request, ticket: str, code: str, file_id: str, db: DB
) -> Response:
    return await _tracking_file(request, ticket, code, file_id, db, True)


async def _tracking_file(
    request: Request, ticket: str, code: str, file_id: str, db: DB, thumb: bool
) -> Response:
    from jiesu.web.citizen import check_code  # late: citizen.py imports this module

    check_code(request, ticket, code)
    storage = app_storage(request)

    def work(s: Session) -> tuple[EvidenceFile, bytes]:
        f = tracked_file(s, ticket, file_id)
        return f, read_stored(storage, f, thumbnail=thumb)

    return file_response(*await db.run_sync(work))
