"""The early-warning desk (未诉先办): surges and recurring problems the scan found, each with
its evidence and the requests behind it; a supervisor opens a proactive work order from one in
a press, or dismisses it with a reason. Analysts see the same list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.analytics.warnings import (
    DECIDERS,
    accept,
    dismiss,
    get_warning,
    list_warnings,
    proposed_text,
)
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import BadInput, JiesuError
from jiesu.notify.delivery import outbox
from jiesu.notify.present import notification_out
from jiesu.notify.triggers import SUPERVISORS
from jiesu.people.service import Actor
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
ROLES = ("supervisor", "analyst", "admin")
KIND_NAMES = {
    "surge_day": ("单日激增", "one-day surge"),
    "surge_week": ("一周激增", "seven-day surge"),
    "recurring_reported": ("反复发生", "keeps coming back"),
    "recurring_reopened": ("反复重办", "reopened again and again"),
}
STATUS_NAMES = {"open": ("待处理", "open"), "accepted": ("已立案", "work order opened"),
                "dismissed": ("已排除", "dismissed")}  # fmt: skip


def _rows(s: Session, status: str | None, area_path: str | None) -> list[dict[str, Any]]:
    out = []
    for w in list_warnings(s, status=status, limit=100, area_path=area_path):
        q = {"received_from": w.first_day.isoformat(), "received_to": w.last_day.isoformat()}
        if w.category is not None:
            q["category"] = w.category.code
        if w.area is not None:
            q["area"] = w.area.code
        out.append(
            {
                "w": w,
                "place": w.area.name if w.area else None,
                "what": w.category.name if w.category else None,
                "proposed": proposed_text(w),
                "query": q,
                "ticket": w.request.ticket if w.request else None,
                "tail": (w.details or {}).get("last_28_days") or [],
            }
        )
    return out


async def _page(
    request: Request,
    db: DB,
    actor: Actor,
    *,
    errors: FormErrors | None = None,
    failed: int | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    show = request.query_params.get("status", "open")
    if show not in ("open", "accepted", "dismissed", "all"):
        raise BadInput("status", "must be open, accepted, dismissed or all")
    rows = await db.run_sync(lambda s: _rows(s, None if show == "all" else show, actor.area_path))
    messages = await db.run_sync(
        lambda s: [notification_out(s, n) for n in outbox(s, recipient=SUPERVISORS, limit=8)]
    )
    return render(
        request,
        "staff/warnings.html",
        status_code=status_code,
        rows=rows,
        messages=messages,
        show=show,
        kinds=KIND_NAMES,
        statuses=STATUS_NAMES,
        errors=errors or FormErrors(),
        failed=failed,
        values=values or {},
        done=request.query_params.get("done", ""),
        day=timedelta(days=1),
    )


@router.get("/desk/warnings", response_class=HTMLResponse)
async def warnings(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, *ROLES)
    return await _page(request, db, actor)


@router.post("/desk/warnings/{wid}/{decision}", response_class=HTMLResponse)
async def decide(
    request: Request, wid: str, decision: str, db: DB, actor: WebActor, clock: ClockDep
) -> Response:
    need(actor, *DECIDERS)
    if not wid.isdigit() or decision not in ("accept", "dismiss"):
        raise BadInput("decision", "must be accept or dismiss of a warning number")
    values, now = await form_dict(request), clock.now()

    def work(s: Session) -> str | None:
        w = get_warning(s, int(wid), area_path=actor.area_path)
        if decision == "accept":
            return accept(s, w, actor=actor, now=now, text=values.get("text")).ticket
        dismiss(s, w, actor=actor, now=now, note=values.get("note", ""))
        return None

    try:
        ticket = await write(db, work)
    except JiesuError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        errors = FormErrors()
        errors.from_error(exc)
        return await _page(
            request,
            db,
            actor,
            errors=errors,
            failed=int(wid),
            values=values,
            status_code=exc.status_code,
        )
    done = f"accepted-{ticket}" if ticket else f"dismissed-{wid}"
    return RedirectResponse(f"/desk/warnings?done={done}", status_code=303)
