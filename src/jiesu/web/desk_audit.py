"""The model audit desk (算法审计): the latest published report's summary and flags, its HTML
and JSON files, and a button that audits the active models now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.algoaudit.report import (
    COMPONENTS,
    PREFIX,
    audits_dir,
    latest_report,
    run_audit,
    write_report,
)
from jiesu.deps import DB, ClockDep
from jiesu.errors import JiesuError, NotFound
from jiesu.web.forms import FormErrors
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
ROLES = ("supervisor", "analyst", "admin")


def _page(
    request: Request, *, errors: FormErrors | None = None, status_code: int = 200
) -> HTMLResponse:
    data_dir = request.app.state.settings.data_dir
    report: dict[str, Any] | None
    try:
        report = latest_report(data_dir)
    except NotFound:
        report = None
    kept = sorted(
        (p.stem.removeprefix(PREFIX) for p in audits_dir(data_dir).glob(f"{PREFIX}*.json")),
        reverse=True,
    )
    return render(
        request,
        "staff/audit.html",
        status_code=status_code,
        report=report,
        components=COMPONENTS,
        kept=kept,
        errors=errors or FormErrors(),
    )


@router.get("/desk/audit", response_class=HTMLResponse)
async def audit_desk(request: Request, actor: WebActor) -> HTMLResponse:
    need(actor, *ROLES)
    return _page(request)


@router.post("/desk/audit", response_class=HTMLResponse)
async def audit_now(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, *ROLES)
    now = clock.now()

    def work(s: Session) -> dict[str, Any]:
        return run_audit(s, now=now)

    try:
        report = await db.run_sync(work)
    except JiesuError as exc:
        if exc.status_code in (401, 403):
            raise
        errors = FormErrors()
        errors.from_error(exc)
        return _page(request, errors=errors, status_code=exc.status_code)
    write_report(report, audits_dir(request.app.state.settings.data_dir))
    return RedirectResponse("/desk/audit", status_code=303)


@router.get("/desk/audit/{name}")
async def audit_file(name: str, actor: WebActor, request: Request) -> Response:
    """A published report file: model-audit-<date>.html or .json, nothing else."""
    need(actor, *ROLES)
    folder = audits_dir(request.app.state.settings.data_dir)
    stem, _, ext = name.rpartition(".")
    media = {"html": "text/html; charset=utf-8", "json": "application/json"}.get(ext)
    path = folder / name
    if media is None or not stem.startswith(PREFIX) or "/" in name or not path.is_file():
        raise NotFound(f"no audit report file {name!r}")
    return FileResponse(path, media_type=media)
