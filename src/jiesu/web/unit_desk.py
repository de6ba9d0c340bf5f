"""The unit's inbox (承办单位): its open requests by deadline, late ones first, with the counts
a unit head watches; and the reply page, which scores a draft reply as it is written with the
same checker that scores every recorded reply (relevance, concreteness, copies, courtesy)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from jiesu.city.models import Category, HandlingUnit
from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep
from jiesu.errors import Forbidden
from jiesu.evidence.service import visible_files
from jiesu.nlp.reply_check import check_reply
from jiesu.notify.delivery import outbox
from jiesu.notify.present import notification_out
from jiesu.web.evidence import file_view
from jiesu.web.forms import form_dict
from jiesu.web.render import render
from jiesu.web.requests import INTERNAL_STATUS
from jiesu.web.session import WebActor, need
from jiesu.workflow.endpoints import can_view
from jiesu.workflow.models import ServiceRequest, request_assisting_units
from jiesu.workflow.present import summary
from jiesu.workflow.service import get_by_ticket

router = APIRouter(include_in_schema=False)
OPEN = ("dispatched", "accepted", "replied")
SOON = timedelta(hours=24)
LIMIT = 200
# The unit's newest desk messages shown above its list (new, returned, whistled, due soon).
MESSAGES = 8

# The checker's flags in words a unit handler reads (zh, en).
FLAG_WORDS: dict[str, tuple[str, str]] = {
    "does not address the request": ("没有回应诉求本身", "does not answer what was asked"),
    "no concrete action or time": ("没有具体措施或时间", "no concrete action or time"),
    "too short": ("过于简短", "too short"),
    "blames the citizen": ("指责市民", "blames the citizen"),
}


def _mine(unit_id: int) -> Any:
    assisting = select(request_assisting_units.c.request_id).where(
        request_assisting_units.c.unit_id == unit_id
    )
    R = ServiceRequest
    return or_(R.lead_unit_id == unit_id, R.id.in_(assisting))


def _inbox(s: Session, unit_id: int, now: Any) -> dict[str, Any]:
    R = ServiceRequest
    tz = city_context(s).tz
    counts = dict(
        s.execute(
            select(R.status, func.count())
            .where(_mine(unit_id), R.status.in_(OPEN))
            .group_by(R.status)
        ).all()
    )
    overdue = (
        s.scalar(
            select(func.count()).where(
                _mine(unit_id), R.status.in_(OPEN[:2]), R.handling_overdue.is_(True)
            )
        )
        or 0
    )
    rows = s.scalars(
        select(R)
        .where(_mine(unit_id), R.status.in_(OPEN[:2]))
        .options(
            selectinload(R.area),
            selectinload(R.lead_unit),
            selectinload(R.category).selectinload(Category.parent),
        )
        # Late first, then the nearest deadline: the order in which work must be done.
        .order_by(R.handling_overdue.desc(), R.handling_due.asc().nulls_last(), R.id)
        .limit(LIMIT)
    ).all()
    soon = {
        r.ticket
        for r in rows
        if r.handling_due is not None and not r.handling_overdue and r.handling_due - now < SOON
    }
    unit = s.get(HandlingUnit, unit_id)
    messages = (
        [notification_out(s, n) for n in outbox(s, recipient=unit.code, limit=MESSAGES)]
        if unit is not None
        else []
    )
    return {
        "unit": unit,
        "messages": messages,
        "items": [summary(r, tz) for r in rows],
        "soon": soon,
        "to_accept": counts.get("dispatched", 0),
        "in_progress": counts.get("accepted", 0),
        "awaiting_callback": counts.get("replied", 0),
        "overdue": overdue,
    }


@router.get("/desk/unit", response_class=HTMLResponse)
async def inbox(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    need(actor, "handler")
    if actor.unit_id is None:
        raise Forbidden("this account is not bound to a handling unit")
    unit_id, now = actor.unit_id, clock.now()
    data = await db.run_sync(lambda s: _inbox(s, unit_id, now))
    return render(request, "staff/inbox.html", **data, statuses=INTERNAL_STATUS)


@router.get("/desk/unit/reply/{ticket}", response_class=HTMLResponse)
async def reply_page(request: Request, ticket: str, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, "handler")

    def work(s: Session) -> dict[str, Any]:
        req = get_by_ticket(s, ticket)
        can_view(actor, req)
        # The citizen's photos beside their words: what the unit goes out to fix.
        files = [file_view(f, "/desk/files") for f in visible_files(s, req, actor)]
        return {
            "ticket": req.ticket, "title": req.title, "text": req.text, "status": req.status,
            "files": files,
        }  # fmt: skip

    data = await db.run_sync(work)
    return render(request, "staff/reply.html", **data, check=None, flag_words=FLAG_WORDS)


@router.post("/desk/unit/reply-check/{ticket}", response_class=HTMLResponse)
async def reply_check(request: Request, ticket: str, db: DB, actor: WebActor) -> HTMLResponse:
    """Hints for a draft reply (HTMX fragment); nothing is recorded."""
    need(actor, "handler", "supervisor")
    draft = (await form_dict(request)).get("text", "")[:10_000]

    def work(s: Session) -> dict[str, Any] | None:
        req = get_by_ticket(s, ticket)
        can_view(actor, req)
        return check_reply(s, req, draft) if draft.strip() else None

    check = await db.run_sync(work)
    return render(request, "staff/reply_hints.html", check=check, flag_words=FLAG_WORDS)
