"""The monthly-topic desk (每月一题): the month's candidates with the evidence behind each
score, adopting one (with a lead unit and a note), and the follow-up of every adopted topic —
did its volume fall?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.analytics.periods import report_period
from jiesu.analytics.topics import (
    WEIGHTS,
    Candidate,
    adopt,
    adopted,
    candidates,
    follow_up,
    month_span,
)
from jiesu.analytics.warehouse import Warehouse
from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import BadInput, JiesuError
from jiesu.kit.cache import Recent
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.requests import pickers
from jiesu.web.session import WebActor, need
from jiesu.workflow.access import city_wide

router = APIRouter(include_in_schema=False)
CANDIDATES: Recent[list[Candidate]] = Recent(ttl_seconds=3600)
ROLES = ("supervisor", "analyst", "admin")


def _month(values: dict[str, str], today_month: str) -> str:
    month = values.get("month", "").strip() or today_month
    month_span(month)
    return month


async def _page(
    request: Request,
    db: DB,
    clock: ClockDep,
    *,
    errors: FormErrors | None = None,
    failed: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    wh = Warehouse(request.app.state.settings.data_dir / "warehouse")
    query = dict(request.query_params) | (values or {})

    def work(s: Session) -> dict[str, Any]:
        today = clock.now().astimezone(city_context(s).tz).date()
        month = _month(query, report_period("monthly", None, today=today).label)
        with wh.connect() as con:
            # The warehouse changes only when refreshed: its refresh number keys the candidates.
            key = (str(wh.root), month, wh.state().get("refresh_no"))
            cands, _ = CANDIDATES.get(key, lambda: candidates(con, month))
            topics = [(t, follow_up(con, s, t, upto=today)) for t in adopted(s)]
        taken = {(t.month, t.category_id) for t, _ in topics}
        return {
            "month": month,
            "cands": cands,
            "taken": taken,
            "topics": topics,
            "picks": pickers(s),
        }

    data = await db.run_sync(work)
    return render(
        request,
        "staff/topics.html",
        status_code=status_code,
        weights=WEIGHTS,
        errors=errors or FormErrors(),
        failed=failed,
        values=values or {},
        done=request.query_params.get("done", ""),
        **data,
    )


@router.get("/desk/topics", response_class=HTMLResponse)
async def topics(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    need(actor, *ROLES)
    city_wide(actor, "the monthly topic desk")
    return await _page(request, db, clock)


@router.post("/desk/topics", response_class=HTMLResponse)
async def adopt_topic(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, "supervisor", "admin")
    city_wide(actor, "the monthly topic desk")
    values, now = await form_dict(request), clock.now()
    wh = Warehouse(request.app.state.settings.data_dir / "warehouse")

    def work(s: Session) -> str:
        month = values.get("month", "")
        month_span(month)
        code = values.get("category", "")
        with wh.connect() as con:
            found = [c for c in candidates(con, month) if c.code == code]
        if not found:
            raise BadInput("category", f"{code!r} is not among the candidates of {month}")
        adopt(
            s,
            found[0],
            month,
            actor=actor,
            now=now,
            lead_unit=values.get("lead_unit") or None,
            note=values.get("note", ""),
        )
        return month

    try:
        month = await write(db, work)
    except JiesuError as exc:
        if exc.status_code in (401, 403):
            raise
        errors = FormErrors()
        errors.from_error(exc)
        return await _page(
            request,
            db,
            clock,
            errors=errors,
            failed=values.get("category"),
            values=values,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/desk/topics?month={month}&done=adopted", status_code=303)
