"""The reports desk: the daily bulletins, weekly summaries and monthly analyses kept in the
data dir, opened in the browser as they were written, and a form to produce one now."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.analytics.library import find_kept, kept, produce
from jiesu.analytics.periods import KINDS, NAMES, report_period
from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep
from jiesu.errors import JiesuError, NotFound
from jiesu.people.service import Actor
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
ROLES = ("supervisor", "analyst", "admin")
# What a report folder holds; nothing else is served from it.
FILES = {
    "report.html": "text/html; charset=utf-8",
    "report.json": "application/json",
    "echarts.min.js": "text/javascript",
}


def own_area(actor: Actor) -> str | None:
    """The area whose reports an account kept to one sees and makes (None: the city's)."""
    return actor.area_path.strip("/").rsplit("/", 1)[-1] if actor.area_path else None


def _page(
    request: Request,
    actor: Actor,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    data_dir = request.app.state.settings.data_dir
    return render(
        request,
        "staff/reports.html",
        status_code=status_code,
        reports=kept(data_dir, own_area(actor)),
        area=own_area(actor),
        kinds=[(k, *NAMES[k]) for k in KINDS],
        errors=errors or FormErrors(),
        values=values or {},
        done=request.query_params.get("done", ""),
    )


@router.get("/desk/reports", response_class=HTMLResponse)
async def reports(request: Request, actor: WebActor) -> HTMLResponse:
    need(actor, *ROLES)
    return _page(request, actor)


@router.post("/desk/reports", response_class=HTMLResponse)
async def make_report(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, *ROLES)
    values, now = await form_dict(request), clock.now()
    data_dir = request.app.state.settings.data_dir
    kind = values.get("kind", "")

    def work(s: Session) -> str:
        today = now.astimezone(city_context(s).tz).date()
        value = values.get("month" if kind == "monthly" else "date") or None
        period = report_period(kind, value, today=today)
        produce(s, data_dir, period, now=now, area=own_area(actor))
        return f"/desk/reports/{period.kind}/{period.label}/"

    try:
        target = await db.run_sync(work)
    except JiesuError as exc:
        if exc.status_code in (401, 403):
            raise
        errors = FormErrors()
        errors.from_error(exc)
        return _page(request, actor, errors=errors, values=values, status_code=exc.status_code)
    await db.commit()
    return RedirectResponse(target, status_code=303)


@router.get("/desk/reports/{kind}/{label}/", response_class=HTMLResponse)
async def open_report(kind: str, label: str, actor: WebActor, request: Request) -> Response:
    return await report_file(kind, label, "report.html", actor, request)


@router.get("/desk/reports/{kind}/{label}/{name}")
async def report_file(
    kind: str, label: str, name: str, actor: WebActor, request: Request
) -> Response:
    need(actor, *ROLES)
    folder = find_kept(request.app.state.settings.data_dir, kind, label, own_area(actor))
    media = FILES.get(name) or ("text/csv; charset=utf-8" if name.endswith(".csv") else None)
    path = folder / name
    if media is None or "/" in name or not path.is_file():
        raise NotFound(f"report {kind}/{label} has no file {name!r}")
    return FileResponse(path, media_type=media)
