"""Turn ORM rows into API shapes, in the city's time zone, masked for the viewer's role."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Category
from jiesu.city.service import city_context
from jiesu.dispatch.schemas import DispatchInfo
from jiesu.dispatch.service import current_assignment, return_deadline
from jiesu.kit.clock import utcnow
from jiesu.nlp.understand import scored_text
from jiesu.people.service import Actor
from jiesu.privacy.contacts import shown_fields
from jiesu.privacy.masking import (
    event_payload_for,
    mask_email,
    mask_name,
    mask_phone,
    text_for,
)
from jiesu.privacy.reads import Shown, record_reads, sees_contacts
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.schemas import (
    CategoryRef,
    CategorySuggestion,
    ContactOut,
    EventOut,
    Ref,
    RequestOut,
    RequestSummary,
    UnderstandingOut,
)
from jiesu.workflow.service import actions_for


def _local(dt: datetime | None, tz: ZoneInfo) -> datetime | None:
    return dt.astimezone(tz) if dt else None


def _category(cat: Category | None) -> CategoryRef | None:
    if cat is None:
        return None
    path: list[str] = []
    node: Category | None = cat
    while node is not None:
        path.append(node.name)
        node = node.parent
    return CategoryRef(code=cat.code, name=cat.name, path=list(reversed(path)))


def summary(req: ServiceRequest, tz: ZoneInfo, role: str = "") -> RequestSummary:
    return RequestSummary(
        ticket=req.ticket,
        status=req.status,
        channel=req.channel,
        received_at=req.received_at.astimezone(tz),
        title=text_for(role, req.title),
        area=Ref(code=req.area.code, name=req.area.name) if req.area else None,
        category=_category(req.category),
        urgency=req.urgency,
        lead_unit=Ref(code=req.lead_unit.code, name=req.lead_unit.name) if req.lead_unit else None,
        response_due=_local(req.response_due, tz),
        handling_due=_local(req.handling_due, tz),
        response_overdue=req.response_overdue,
        handling_overdue=req.handling_overdue,
        synthetic=req.synthetic,
        heat=req.heat,
        urgency_score=req.urgency_score,
    )


def understanding_out(payload: dict[str, Any], source: str) -> UnderstandingOut:
    """The received event's record of what the machine read, with the words behind each
    reason put back from ``source``, the scored text (the log keeps only their offsets)."""
    # The payload's own "urgency" is the class the request got; the assessment's is the score.
    own = {k: v for k, v in payload.items() if k not in ("urgency", "assessment")}
    merged: dict[str, Any] = copy.deepcopy({**own, **(payload.get("assessment") or {})})
    for part in ("urgency", "sentiment"):
        for reason in (merged.get(part) or {}).get("reasons") or []:
            start, end = reason.get("start", -1), reason.get("end", -1)
            if "text" not in reason and 0 <= start < end <= len(source):
                reason["text"] = source[start:end]
    return UnderstandingOut.model_validate(merged)


def _dispatch_info(session: Session, req: ServiceRequest, tz: ZoneInfo) -> DispatchInfo | None:
    if req.lead_unit_id is None:
        return None
    current = current_assignment(session, req)
    return DispatchInfo.of(current, tz) if current is not None else None


def _actions(
    session: Session, req: ServiceRequest, viewer: Actor, now: datetime | None
) -> list[str]:
    actions = actions_for(req, viewer)
    if now is not None and "return" in actions:
        # The action would be refused after the window: do not offer it.
        deadline = return_deadline(session, req, city_context(session))
        if deadline is not None and now > deadline:
            actions.remove("return")
    return actions


def detail(
    session: Session,
    req: ServiceRequest,
    tz: ZoneInfo,
    viewer: Actor,
    now: datetime | None = None,
    *,
    purpose: str | None = "request",
) -> RequestOut:
    """The request as ``viewer`` may see it. Shown a contact in full, the viewer's read is
    recorded in this transaction under ``purpose`` (where it was shown); None only where the
    viewer has just given those very data (the answer to their own submission)."""
    events = session.scalars(
        select(Event).where(Event.request_id == req.id).order_by(Event.seq)
    ).all()
    contact = None
    if req.contact is not None:
        c, full = req.contact, sees_contacts(viewer)
        if full and purpose is not None:
            record_reads(
                session,
                viewer,
                [Shown(req.id, req.ticket, shown_fields(c))],
                purpose=purpose,
                at=now or utcnow(),
            )
        contact = ContactOut(
            name=c.name if full else mask_name(c.name),
            phone=c.phone if full else mask_phone(c.phone),
            email=c.email if full else mask_email(c.email),
            masked=not full,
        )
    role = viewer.role
    return RequestOut(
        **summary(req, tz, role).model_dump(),
        text=text_for(role, req.text),
        address=text_for(role, req.address),
        lat=req.lat,
        lon=req.lon,
        category_confirmed=req.category_confirmed,
        category_confidence=req.category_confidence,
        category_suggestions=[
            CategorySuggestion(**sg) for sg in (events[0].payload.get("suggestions") or [])
        ]
        if events
        else [],
        understanding=understanding_out(
            events[0].payload if events else {}, scored_text(req.title, req.text)
        ),
        assisting_units=[Ref(code=u.code, name=u.name) for u in req.assisting_units],
        duplicate_of=req.duplicate_of.ticket if req.duplicate_of else None,
        dispatched_at=_local(req.dispatched_at, tz),
        accepted_at=_local(req.accepted_at, tz),
        replied_at=_local(req.replied_at, tz),
        closed_at=_local(req.closed_at, tz),
        return_count=req.return_count,
        reopen_count=req.reopen_count,
        solved=req.solved,
        satisfaction=req.satisfaction,
        contact=contact,
        dispatch=_dispatch_info(session, req, tz),
        allowed_actions=_actions(session, req, viewer, now),
        timeline=[
            EventOut(
                seq=e.seq,
                kind=e.kind,
                at=e.at.astimezone(tz),
                actor=e.actor,
                from_status=e.from_status,
                to_status=e.to_status,
                payload=event_payload_for(role, e.kind, e.payload),
            )
            for e in events
        ],
    )
