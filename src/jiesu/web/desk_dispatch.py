"""Two lists beside the dispatcher's queue: requests returned by their unit (退单), with the
unit's reason, to send again; and the human-check queue (category applied by the machine or
none), with intake's category suggestions to confirm in one press (the ``categorize`` action)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.deps import DB
from jiesu.errors import BadInput
from jiesu.web.render import render
from jiesu.web.requests import INTERNAL_STATUS, pickers
from jiesu.web.session import WebActor, need
from jiesu.workflow.models import Event
from jiesu.workflow.present import summary
from jiesu.workflow.repository import RequestFilter, list_requests
from jiesu.workflow.schemas import CategorySuggestion, RequestSummary
from jiesu.workflow.transitions import DISPATCH_DESK

router = APIRouter(include_in_schema=False)
PAGE = 20
# Still open to a new category: after the reply the category is history, not a decision.
CHECKABLE = ["received", "dispatched", "accepted", "returned"]


@dataclass(frozen=True)
class Returned:
    item: RequestSummary
    reason: str
    by: str


@dataclass(frozen=True)
class ToCheck:
    item: RequestSummary
    confidence: float | None
    suggestions: list[CategorySuggestion]


def _page(request: Request) -> int:
    try:
        return max(1, min(int(request.query_params.get("page", "1")), 10_000))
    except ValueError:
        raise BadInput("page", "must be a whole number") from None


def _latest_payloads(
    s: Session, ids: list[int], kind: str
) -> dict[int, tuple[str, dict[str, Any]]]:
    """Each request's latest event of one kind: (actor, payload)."""
    if not ids:
        return {}
    rows = s.execute(
        select(Event.request_id, Event.actor, Event.payload)
        .where(Event.request_id.in_(ids), Event.kind == kind)
        .order_by(Event.request_id, Event.seq)
    ).all()
    return {rid: (actor, payload or {}) for rid, actor, payload in rows}


def _returned(s: Session, page: int) -> dict[str, Any]:
    tz = city_context(s).tz
    rows, total = list_requests(
        s, RequestFilter(status=["returned"]), page=page, page_size=PAGE, sort="urgency"
    )
    last = _latest_payloads(s, [r.id for r in rows], "return")
    items = []
    for r in rows:
        by, payload = last.get(r.id, ("", {}))
        items.append(Returned(summary(r, tz), str(payload.get("reason", "")), by))
    return {"items": items, "total": total}


def _to_check(s: Session, page: int) -> dict[str, Any]:
    tz = city_context(s).tz
    rows, total = list_requests(
        s,
        RequestFilter(category_confirmed=False, status=CHECKABLE),
        page=page,
        page_size=PAGE,
        sort="urgency",
    )
    # Intake records its suggestions on the first event, as the request page shows them.
    received = _latest_payloads(s, [r.id for r in rows], "received")
    items = [
        ToCheck(
            summary(r, tz),
            r.category_confidence,
            [
                CategorySuggestion(**sg)
                for sg in (received.get(r.id, ("", {}))[1].get("suggestions") or [])[:3]
            ],
        )
        for r in rows
    ]
    return {"items": items, "total": total, "picks": pickers(s)}


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE))


@router.get("/desk/dispatch/returned", response_class=HTMLResponse)
async def returned(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, *sorted(DISPATCH_DESK))
    page = _page(request)
    data = await db.run_sync(lambda s: _returned(s, page))
    return render(
        request,
        "staff/dispatch_returned.html",
        **data,
        page=page,
        pages=_pages(data["total"]),
        q={},
        statuses=INTERNAL_STATUS,
        done=request.query_params.get("done", ""),
    )


@router.get("/desk/dispatch/categories", response_class=HTMLResponse)
async def categories(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, *sorted(DISPATCH_DESK))
    page = _page(request)
    data = await db.run_sync(lambda s: _to_check(s, page))
    return render(
        request,
        "staff/dispatch_categories.html",
        **data,
        page=page,
        pages=_pages(data["total"]),
        q={},
        statuses=INTERNAL_STATUS,
        done=request.query_params.get("done", ""),
    )
