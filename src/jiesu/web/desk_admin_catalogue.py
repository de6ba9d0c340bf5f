"""The admin's dispatch catalogue (派单目录): the version in force and its rules, a new
catalogue tried over history first (试运行, the same replay as ``jiesu dispatch test-rules``),
then saved and put in force, and earlier versions put back in force (rollback)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, write
from jiesu.dispatch.catalogue import CatalogueError, push_down_warnings, read_catalogue
from jiesu.dispatch.directory import directory
from jiesu.dispatch.models import DispatchCatalogue
from jiesu.dispatch.replay import replay
from jiesu.dispatch.service import activate_version, active_catalogue, get_version, versions
from jiesu.dispatch.service import save_catalogue as save
from jiesu.errors import BadInput, JiesuError
from jiesu.people.service import Actor
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
PAGE = "/desk/admin/dispatch"
DEFAULT_DAYS = 90
MAX_DAYS = 3650


@dataclass(frozen=True)
class CatalogueView:
    active: DispatchCatalogue | None
    versions: list[DispatchCatalogue]
    active_text: str


def catalogue_text(row: DispatchCatalogue | None) -> str:
    """A stored version as the YAML an admin edits (settings, then rules)."""
    if row is None:
        return "settings: {}\nrules: []\n"
    data = {"settings": dict(row.settings), "rules": list(row.rules)}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def parse_catalogue(text: str) -> Any:
    """The catalogue's YAML as data; a problem names the line where reading stopped."""
    if not text.strip():
        raise BadInput("catalogue", "paste the catalogue's YAML (settings and rules)")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BadInput("catalogue", f"not readable YAML: {where}{problem}") from None
    if not isinstance(raw, dict) or "rules" not in raw:
        raise BadInput("catalogue", "must be a mapping with 'rules' (and optionally 'settings')")
    return raw


def _days(values: dict[str, str]) -> int:
    text = values.get("days", "").strip() or str(DEFAULT_DAYS)
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise BadInput("days", f"a number of days from 1 to {MAX_DAYS}")
    return int(text)


def _view(s: Session) -> CatalogueView:
    row = get_version(s, None)
    return CatalogueView(row, list(reversed(versions(s))), catalogue_text(row))


def _errors_of(exc: JiesuError) -> FormErrors:
    errors = FormErrors()
    if isinstance(exc, CatalogueError):
        for p in exc.problems:
            errors.add("catalogue", p)
    else:
        errors.from_error(exc)
    return errors


async def _page(
    request: Request,
    db: DB,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    result: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = await db.run_sync(_view)
    return render(
        request,
        "staff/admin_dispatch.html",
        status_code=status_code,
        view=view,
        values=values or {"catalogue": view.active_text, "days": str(DEFAULT_DAYS)},
        errors=errors or FormErrors(),
        result=result,
        done=request.query_params.get("done", ""),
    )


@router.get("/desk/admin/dispatch", response_class=HTMLResponse)
async def catalogue_page(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, "admin")
    return await _page(request, db)


def dry_run(s: Session, raw: Any, since: datetime) -> dict[str, Any]:
    """What ``jiesu dispatch test-rules`` reports, read only: nothing is stored."""
    d = directory(s)
    cat = read_catalogue(raw, d)
    result = replay(s, cat, active_catalogue(s), city_context(s), since=since)
    result["warnings"] = push_down_warnings(cat, d)
    return result


@router.post("/desk/admin/dispatch/try", response_class=HTMLResponse)
async def try_catalogue(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    need(actor, "admin")
    values = await form_dict(request)
    now = clock.now()
    try:
        raw = parse_catalogue(values.get("catalogue", ""))
        since = now - timedelta(days=_days(values))
        result = await db.run_sync(lambda s: dry_run(s, raw, since))
    except JiesuError as exc:
        if exc.status_code != 422:
            raise
        return await _page(request, db, values=values, errors=_errors_of(exc), status_code=422)
    return await _page(request, db, values=values, result=result)


def _save(s: Session, raw: Any, actor: Actor, note: str, now: datetime) -> int:
    return save(s, raw, by=actor.name, source="web", note=note, now=now).version


@router.post("/desk/admin/dispatch/save", response_class=HTMLResponse)
async def save_new(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, "admin")
    values = await form_dict(request)
    now = clock.now()
    note = values.get("note", "").strip()[:500]
    try:
        raw = parse_catalogue(values.get("catalogue", ""))
        version = await write(db, lambda s: _save(s, raw, actor, note, now))
    except JiesuError as exc:
        if exc.status_code != 422:
            raise
        await db.rollback()
        return await _page(request, db, values=values, errors=_errors_of(exc), status_code=422)
    return RedirectResponse(f"{PAGE}?done=saved-{version}", status_code=303)


@router.post("/desk/admin/dispatch/versions/{version}/activate")
async def activate(version: int, db: DB, actor: WebActor) -> Response:
    need(actor, "admin")
    await write(db, lambda s: activate_version(s, version).version)
    return RedirectResponse(f"{PAGE}?done=activated-{version}", status_code=303)
