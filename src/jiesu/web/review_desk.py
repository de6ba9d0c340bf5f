"""What supervisors decide (督办): contested dispatches, requests proposed as invalid,
exclusions from scoring asked by units, and replies the checker flagged. Disputes and
invalid proposals are decided on the request's page (their forms are workflow actions);
exclusions are decided here, through the loop's own service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import HandlingUnit
from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, write
from jiesu.dispatch.models import Dispute
from jiesu.errors import BadInput, JiesuError
from jiesu.loop.exclusions import (
    decide_exclusion,
    get_exclusion,
    list_exclusions,
)
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.session import WebActor, need
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.present import summary
from jiesu.workflow.transitions import REVIEWERS

router = APIRouter(include_in_schema=False)
FLAGGED_DAYS = 30
SCAN = 2000
SHOW = 50


def _flagged_replies(s: Session, now: Any) -> list[dict[str, Any]]:
    rows = s.execute(
        select(ServiceRequest.ticket, HandlingUnit.name, Event.at, Event.payload)
        .join(Event, Event.request_id == ServiceRequest.id)
        .outerjoin(HandlingUnit, HandlingUnit.id == ServiceRequest.lead_unit_id)
        .where(Event.kind == "reply", Event.at >= now - timedelta(days=FLAGGED_DAYS))
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(SCAN)
    )
    out = []
    for ticket, unit, at, payload in rows:
        q = (payload or {}).get("quality") or {}
        if q.get("flagged"):
            out.append(
                {
                    "ticket": ticket,
                    "unit": unit or "",
                    "at": at,
                    "overall": q.get("overall"),
                    "flags": q.get("flags", []),
                    "text": str((payload or {}).get("text", ""))[:300],
                }
            )
        if len(out) >= SHOW:
            break
    return out


def _review(s: Session, now: Any) -> dict[str, Any]:
    tz = city_context(s).tz
    disputes = s.scalars(
        select(Dispute).where(Dispute.status == "open").order_by(Dispute.opened_at).limit(SHOW)
    ).all()
    invalid = s.scalars(
        select(ServiceRequest)
        .where(ServiceRequest.status == "invalid_pending")
        .order_by(ServiceRequest.received_at)
        .limit(SHOW)
    ).all()
    return {
        "disputes": [
            {
                "ticket": d.request.ticket,
                "title": d.request.title,
                "unit": d.unit.name,
                "proposed": d.proposed_unit.name if d.proposed_unit else "",
                "reason": d.reason,
                "at": d.opened_at,
            }
            for d in disputes
        ],
        "invalid": [summary(r, tz) for r in invalid],
        "exclusions": [
            {
                "id": x.id,
                "ticket": x.request.ticket,
                "title": x.request.title,
                "requested_by": x.requested_by,
                "requested_at": x.requested_at,
                "reason": x.reason,
                "evidence": list(x.evidence or []),
            }
            for x in list_exclusions(s, status="pending")[:SHOW]
        ],
        "replies": _flagged_replies(s, now),
    }


@router.get("/desk/review", response_class=HTMLResponse)
async def review(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    need(actor, *sorted(REVIEWERS))
    now = clock.now()
    data = await db.run_sync(lambda s: _review(s, now))
    return render(
        request,
        "staff/decisions.html",
        **data,
        errors=FormErrors(),
        failed=0,
        done=request.query_params.get("done", ""),
    )


@router.post("/desk/review/exclusions/{xid}", response_class=HTMLResponse)
async def decide(request: Request, xid: str, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, *sorted(REVIEWERS))
    if not xid.isdigit() or len(xid) > 12:
        raise BadInput("id", "must be an exclusion number")
    exclusion_id, values, now = int(xid), await form_dict(request), clock.now()
    errors = FormErrors()
    verdict = values.get("decision")
    if verdict not in ("approve", "refuse"):
        errors.add("decision", "请选择同意或不同意", "choose approve or refuse")
    if not errors:

        def work(s: Session) -> None:
            decide_exclusion(
                s,
                get_exclusion(s, exclusion_id),
                approve=verdict == "approve",
                note=values.get("note", ""),
                actor=actor,
                now=now,
            )

        try:
            await write(db, work)
            return RedirectResponse(f"/desk/review?done=exclusion-{exclusion_id}", 303)
        except JiesuError as exc:
            if exc.status_code in (403, 404):
                raise
            errors.from_error(exc)
    data = await db.run_sync(lambda s: _review(s, now))
    return render(
        request,
        "staff/decisions.html",
        status_code=422,
        **data,
        errors=errors,
        failed=exclusion_id,
        done="",
    )
