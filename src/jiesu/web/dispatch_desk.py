"""The dispatcher's desk: requests waiting for a decision, each with what the catalogue (or
the learned router) would do and its top suggestions, ready to send with one press."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.deps import DB
from jiesu.dispatch.schemas import DecisionOut
from jiesu.dispatch.service import dispatch_queue
from jiesu.errors import BadInput
from jiesu.web.render import render
from jiesu.web.requests import INTERNAL_STATUS
from jiesu.web.session import WebActor, need
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.present import summary
from jiesu.workflow.repository import RequestFilter, list_requests
from jiesu.workflow.schemas import RequestSummary
from jiesu.workflow.transitions import DISPATCH_DESK

router = APIRouter(include_in_schema=False)
PAGE = 20


@dataclass(frozen=True)
class Waiting:
    item: RequestSummary
    decision: DecisionOut
    category_confirmed: bool
    return_reason: str | None


def _last_return_reasons(s: Session, ids: list[int]) -> dict[int, str]:
    """The reason of each request's latest return (退单), for the dispatcher to read."""
    if not ids:
        return {}
    rows = s.execute(
        select(Event.request_id, Event.payload)
        .where(Event.request_id.in_(ids), Event.kind == "return")
        .order_by(Event.request_id, Event.seq)
    ).all()
    return {rid: str((payload or {}).get("reason", "")) for rid, payload in rows}


def _queue(s: Session, page: int) -> dict[str, Any]:
    tz = city_context(s).tz
    rows = dispatch_queue(s, tz, limit=PAGE + 1, offset=(page - 1) * PAGE)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    reasons = _last_return_reasons(s, [r.id for r, _ in rows if r.return_count])
    waiting = [
        Waiting(summary(r, tz), DecisionOut.of(d), r.category_confirmed, reasons.get(r.id))
        for r, d in rows
    ]
    unconfirmed, n_unconfirmed = list_requests(
        s,
        RequestFilter(category_confirmed=False, status=["received", "dispatched", "accepted"]),
        page=1,
        page_size=10,
        sort="urgency",
    )
    total = s.query(ServiceRequest).filter(ServiceRequest.status.in_(("received", "returned")))
    return {
        "waiting": waiting,
        "more": more,
        "n_waiting": total.count(),
        "unconfirmed": [summary(r, tz) for r in unconfirmed],
        "n_unconfirmed": n_unconfirmed,
    }


@router.get("/desk/dispatch", response_class=HTMLResponse)
async def dispatch_desk(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, *sorted(DISPATCH_DESK))
    try:
        page = max(1, min(int(request.query_params.get("page", "1")), 10_000))
    except ValueError:
        raise BadInput("page", "must be a whole number") from None
    data = await db.run_sync(lambda s: _queue(s, page))
    return render(
        request,
        "staff/queue.html",
        **data,
        page=page,
        statuses=INTERNAL_STATUS,
        done=request.query_params.get("done", ""),
    )
