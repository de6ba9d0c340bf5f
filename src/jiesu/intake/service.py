"""submit_request(): the one door every channel goes through."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.callers.service import note_repeat_at_intake
from jiesu.city.service import CityContext, find_area, find_category
from jiesu.dispatch.auto import dispatch_at_intake
from jiesu.errors import BadInput, Forbidden
from jiesu.intake.schemas import RequestIn
from jiesu.kit.ids import new_ticket
from jiesu.logs import get_logger
from jiesu.nlp.understand import understand
from jiesu.nlp.urgency import more_urgent
from jiesu.notify.triggers import on_event as notify_event
from jiesu.people.service import Actor
from jiesu.surge.attach import attach_at_intake
from jiesu.workflow.events import append_event
from jiesu.workflow.models import Contact, ServiceRequest

log = get_logger(__name__)

# Clocks of phones and sensors drift; anything further ahead than this is a mistake.
FUTURE_TOLERANCE = timedelta(minutes=5)


def _title(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:40] + ("…" if len(first) > 40 else "")


# Everyone who takes in or finds requests: callers, operators, dispatchers, units (a problem
# found on patrol), supervisors, administrators and the system's own channels.
SUBMITTERS = frozenset(
    {"citizen", "operator", "dispatcher", "handler", "supervisor", "admin", "system"}
)


def submit_request(
    session: Session,
    data: RequestIn,
    *,
    actor: Actor,
    now: datetime,
    ctx: CityContext,
    synthetic: bool = False,
    live: bool = True,
    auto_dispatch: bool = True,
) -> tuple[ServiceRequest, bool]:
    """Record a new request; returns (request, created). A repeated source_key returns the
    request made the first time, so a retried submission or import never makes a duplicate.
    ``live`` False is for imported history: no duplicate search against today's requests and
    no dispatch. ``auto_dispatch`` False leaves dispatch to the caller (a sensor's own unit)."""
    if actor.role not in SUBMITTERS:
        # Analysts read the city's requests; they do not make them.
        raise Forbidden(f"role {actor.role} may not record requests")
    if data.source_key:
        existing = session.scalar(
            select(ServiceRequest).where(ServiceRequest.source_key == data.source_key)
        )
        if existing is not None:
            return existing, False
    received_at = data.received_at or now
    if received_at > now + FUTURE_TOLERANCE:
        raise BadInput("received_at", f"{received_at.isoformat()} is in the future")
    category = find_category(session, data.category) if data.category else None
    area = find_area(session, data.area) if data.area else None
    seen = understand(
        session,
        title=data.title,
        text=data.text,
        address=data.address,
        lat=data.lat,
        lon=data.lon,
        received_at=received_at,
        tz=ctx.tz,
        category=category,
        area=area,
        live=live,
    )
    confidence = None
    if category is None and seen.category_to_apply is not None:
        # A confident suggestion is applied but left unconfirmed: dispatch confirms it.
        category, confidence = seen.category_to_apply, seen.categories[0].confidence
    area_source = "given" if area is not None else None
    if area is None and (code := seen.place_to_apply()):
        area, area_source = find_area(session, code), "text"
    urgency = data.urgency or (category.urgency if category else "general")
    assessment = seen.assessment
    if data.urgency is None and assessment is not None:
        # Signals in the text (gas smell, people trapped) may only shorten the clock.
        urgency = more_urgent(urgency, assessment.urgency.urgency) or urgency
    req = ServiceRequest(
        ticket=_unique_ticket(session, received_at, ctx),
        channel=data.channel,
        received_at=received_at,
        title=data.title or _title(data.text),
        text=data.text,
        address=data.address,
        lat=data.lat,
        lon=data.lon,
        attributes=data.attributes,
        media_url=data.media_url,
        area=area,
        category=category,
        category_confirmed=category is not None and confidence is None,
        category_confidence=confidence,
        urgency=urgency,
        urgency_score=assessment.urgency.score if assessment else None,
        sentiment=assessment.sentiment.score if assessment else None,
        status="received",
        source_key=data.source_key,
        synthetic=synthetic,
        updated_at=now,
    )
    session.add(req)
    if data.contact is not None:
        c = data.contact
        req.contact = Contact(name=c.name, phone=c.phone, email=c.email, wants_reply=c.wants_reply)
    session.flush()
    # Personal data stays out of the event log: the log is permanent, contacts can be erased.
    received = append_event(
        session,
        req,
        kind="received",
        actor=actor,
        at=now,
        to_status="received",
        payload={
            "channel": req.channel,
            "received_at": received_at.isoformat(),
            "category": category.code if category else None,
            "area": area.code if area else None,
            "area_source": area_source,
            "urgency": req.urgency,
            # What the machine suggested and why, kept with the request's history.
            **seen.as_payload(),
        },
    )
    if live:  # imported history tells nobody: it happened long ago
        notify_event(session, req, received)
    session.flush()
    log.info("request.received", ticket=req.ticket, channel=req.channel, actor=actor.name)
    if live:
        # Before dispatch: a request of a lasting event is dispatched by the event's rules.
        attach_at_intake(session, req, now=now)
        # The same caller again about the same unsolved problem is raised, not buried.
        note_repeat_at_intake(session, req, now=now)
    if live and auto_dispatch:
        dispatch_at_intake(session, req, now=now, ctx=ctx)
    return req, True


def _unique_ticket(session: Session, received_at: datetime, ctx: CityContext) -> str:
    for _ in range(10):
        ticket = new_ticket(received_at, ctx.tz)
        if session.scalar(select(ServiceRequest.id).where(ServiceRequest.ticket == ticket)) is None:
            return ticket
    raise RuntimeError("could not find a free ticket number in 10 tries")
