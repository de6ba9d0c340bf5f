"""Attaching callers to an event's master case: at intake, before dispatch, and by hand.

Attaching is not merging. A merged duplicate is closed and its caller counted in the original's
heat; an attached request stays a request of its own — its ticket, deadlines, call-back and
rating — and is only linked to the master case, so that the event's rules reach it and one
reply can be sent to all. Duplicate detection still runs at intake and its suggestions stay on
the request: a dispatcher may still merge a caller who called twice (decision 0015).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from jiesu.dispatch.directory import directory
from jiesu.errors import Conflict
from jiesu.logs import get_logger
from jiesu.people.service import Actor
from jiesu.surge.match import Match, Trigger, best, match
from jiesu.surge.models import SurgeAttachment, SurgeCase, SurgeEvent
from jiesu.workflow.events import append_event
from jiesu.workflow.models import ServiceRequest

log = get_logger(__name__)

# Attaching at intake is the platform's own step; its events name surge mode, not a person.
SURGE_ACTOR = Actor(None, "surge-mode", "system")


def lasting_events(session: Session, at: datetime) -> list[SurgeEvent]:
    """Events not ended whose span holds ``at``."""
    q = (
        select(SurgeEvent)
        .where(SurgeEvent.ended_at.is_(None), SurgeEvent.starts_at <= at, SurgeEvent.ends_at > at)
        .options(selectinload(SurgeEvent.cases).selectinload(SurgeCase.area))
        .order_by(SurgeEvent.id)
    )
    return list(session.scalars(q))


def trigger_of(event: SurgeEvent) -> Trigger:
    return Trigger(
        event_id=event.id,
        name=event.name,
        declared_at=event.declared_at,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        keywords=tuple(event.keywords or ()),
        categories=tuple(event.categories or ()),
        areas={c.area.code: c.id for c in event.cases},
        script=event.script,
    )


def match_request(session: Session, request: ServiceRequest, at: datetime) -> Match | None:
    events = lasting_events(session, at)
    if not events:
        return None
    d = directory(session)
    category = request.category.code if request.category else ""
    area = request.area.code if request.area else ""
    found = (
        match(
            trigger_of(e),
            text=f"{request.title}\n{request.text}",
            category_path=d.category_paths.get(category, ()),
            area_path=d.area_paths.get(area, ()),
            at=at,
        )
        for e in events
    )
    return best(m for m in found if m is not None)


def attach_at_intake(
    session: Session, request: ServiceRequest, *, now: datetime
) -> SurgeAttachment | None:
    """Attach a just-received request to the lasting event it matches, if any."""
    # A work order the city opened itself (a master case, a proactive order) is not a caller.
    if request.channel == "proactive":
        return None
    found = match_request(session, request, request.received_at)
    if found is None:
        return None
    case = session.get(SurgeCase, found.case_id)
    assert case is not None
    return attach(session, request, case, reasons=list(found.reasons), actor=SURGE_ACTOR, now=now)


def attachment_of(session: Session, request: ServiceRequest) -> SurgeAttachment | None:
    return session.scalar(select(SurgeAttachment).where(SurgeAttachment.request_id == request.id))


def attach(
    session: Session,
    request: ServiceRequest,
    case: SurgeCase,
    *,
    reasons: list[str],
    actor: Actor,
    now: datetime,
) -> SurgeAttachment:
    """Link a caller's request to a master case, with an event in both chains."""
    if attachment_of(session, request) is not None:
        raise Conflict(f"request {request.ticket} is already attached to an event")
    if request.id == case.request_id:
        raise Conflict(f"request {request.ticket} is the event's master case")
    master = case.request
    row = SurgeAttachment(
        event_id=case.event_id,
        case_id=case.id,
        request_id=request.id,
        attached_at=now,
        attached_by=actor.name,
        reasons=reasons,
    )
    session.add(row)
    same = {"from_status": request.status, "to_status": request.status}
    append_event(
        session,
        request,
        kind="surge_attached",
        actor=actor,
        at=now,
        payload={
            "event": case.event_id,
            "event_name": case.event.name,
            "master": master.ticket,
            "area": case.area.code,
            "reasons": reasons,
        },
        **same,
    )
    append_event(
        session,
        master,
        kind="surge_caller",
        actor=actor,
        at=now,
        payload={"ticket": request.ticket, "reasons": reasons},
        from_status=master.status,
        to_status=master.status,
    )
    session.flush()
    log.info("surge.attached", ticket=request.ticket, event_id=case.event_id, master=master.ticket)
    return row
