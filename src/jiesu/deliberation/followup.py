"""Follow-up of a decision: the work orders that carry it out — requests already in the loop,
or proactive work orders opened from the decision through the one door of intake — each with
its progress read from the request's own status, never set by hand.

    planned      received, dispatched, returned (no unit has taken it on yet)
    in progress  accepted by the unit (handling), or waiting for a ruling on validity
    done         the unit replied, the caller was called back, or it is closed
    withdrawn    found invalid, or merged into another request (then followed there)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.deliberation.models import Consultation, ConsultationWorkOrder
from jiesu.deliberation.service import phase
from jiesu.errors import BadInput, Conflict
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.people.service import Actor
from jiesu.privacy.pii import mask_cut_text
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import get_by_ticket

log = structlog.get_logger(__name__)
STAGES = ("planned", "in_progress", "done", "withdrawn")
STAGE_OF: dict[str, str] = {
    "received": "planned",
    "dispatched": "planned",
    "returned": "planned",
    "accepted": "in_progress",
    "invalid_pending": "in_progress",
    "replied": "done",
    "called_back": "done",
    "closed": "done",
    "answered": "done",
    "invalid": "withdrawn",
}
STAGE_NAMES = {
    "planned": ("计划中", "planned"),
    "in_progress": ("办理中", "in progress"),
    "done": ("已完成", "done"),
    "withdrawn": ("已撤销", "withdrawn"),
}


def stage(req: ServiceRequest) -> str:
    """A merged request is followed in the one it was merged into."""
    seen = 0
    while req.status == "merged" and req.duplicate_of is not None and seen < 10:
        req, seen = req.duplicate_of, seen + 1
    return STAGE_OF.get(req.status, "withdrawn")


def _decided(c: Consultation, now: datetime) -> None:
    if phase(c, now) != "decided":
        raise Conflict(
            f"consultation {c.id} has no decision yet: work orders carry out a decision",
            fields=[{"field": "status", "problem": "not decided yet"}],
        )


def _link(session: Session, c: Consultation, req: ServiceRequest, *, created: bool,
          actor: Actor, now: datetime) -> ConsultationWorkOrder:  # fmt: skip
    found = session.scalar(
        select(ConsultationWorkOrder).where(
            ConsultationWorkOrder.consultation_id == c.id,
            ConsultationWorkOrder.request_id == req.id,
        )
    )
    if found is not None:
        raise Conflict(
            f"{req.ticket} already carries this decision",
            fields=[{"field": "ticket", "problem": "linked already"}],
        )
    row = ConsultationWorkOrder(
        consultation_id=c.id,
        request_id=req.id,
        created=created,
        linked_at=now,
        linked_by=actor.name,
        request=req,
    )
    session.add(row)
    session.flush()
    log.info("deliberation.work_order", consultation=c.id, ticket=req.ticket, created=created)
    return row


def link_request(
    session: Session, c: Consultation, *, ticket: str, actor: Actor, now: datetime
) -> ConsultationWorkOrder:
    _decided(c, now)
    if not ticket.strip():
        raise BadInput("ticket", "give the ticket of the request that carries the decision")
    return _link(
        session, c, get_by_ticket(session, ticket.strip()), created=False, actor=actor, now=now
    )


def create_work_order(
    session: Session,
    c: Consultation,
    *,
    text: str,
    actor: Actor,
    now: datetime,
    area: str | None = None,
    category: str | None = None,
    synthetic: bool = False,
) -> ConsultationWorkOrder:
    """A proactive work order (channel ``proactive``) in the consultation's place and
    category unless told otherwise; it is dispatched and followed like any request."""
    _decided(c, now)
    body = text.strip()
    if not body:
        raise BadInput("text", "say what the unit is asked to do")
    n = len(work_orders(session, c))
    data = RequestIn(
        text=f"【议事决定 #{c.id}】{body}",
        channel="proactive",
        area=area or c.area.code,
        category=category or (c.category.code if c.category else None),
        source_key=f"consultation:{c.id}:{n + 1}",
    )
    ctx = city_context(session)
    req, _ = submit_request(session, data, actor=actor, now=now, ctx=ctx, synthetic=synthetic)
    return _link(session, c, req, created=True, actor=actor, now=now)


def work_orders(session: Session, c: Consultation) -> list[ConsultationWorkOrder]:
    q = select(ConsultationWorkOrder).where(ConsultationWorkOrder.consultation_id == c.id)
    return list(session.scalars(q.order_by(ConsultationWorkOrder.id)))


def progress(session: Session, c: Consultation) -> dict[str, Any]:
    """Each work order's stage and the count per stage. Requests already in the loop show no
    text in public (a caller wrote it); those opened from the decision show their own."""
    items = []
    for w in work_orders(session, c):
        r = w.request
        items.append(
            {
                "ticket": r.ticket,
                "created": w.created,
                "title": mask_cut_text(r.title) if w.created else None,
                "category": r.category.name if r.category else None,
                "area": r.area.name if r.area else None,
                "unit": r.lead_unit.name if r.lead_unit else None,
                "status": r.status,
                "stage": stage(r),
                "replied_at": r.replied_at,
                "linked_at": w.linked_at,
            }
        )
    counts = {s: sum(1 for i in items if i["stage"] == s) for s in STAGES}
    return {"work_orders": items, "stages": counts}
