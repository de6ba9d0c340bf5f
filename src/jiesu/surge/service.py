"""Declaring and ending events, and the reply sent to every caller of a master case.

Every step writes events in the audit chains of the event's master cases (and, for the
callers, in theirs): declared with the whole definition and its temporary rules, ended with
the rules going back to normal, each bulk reply with the tickets it reached. Nothing commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area
from jiesu.city.service import CityContext, find_area, find_category
from jiesu.dispatch.auto import dispatch_at_intake
from jiesu.dispatch.catalogue import CatalogueError
from jiesu.dispatch.directory import directory
from jiesu.dispatch.overlay import event_catalogue
from jiesu.errors import BadInput, Conflict, Forbidden, IllegalAction, NotFound
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.kit.timelimits import TimeLimit
from jiesu.logs import get_logger
from jiesu.nlp.reply_check import check_reply
from jiesu.people.service import Actor
from jiesu.surge.models import EVENT_KINDS, SurgeAttachment, SurgeCase, SurgeEvent
from jiesu.surge.schemas import EventIn
from jiesu.workflow.events import append_event
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action, check_action
from jiesu.workflow.transitions import REVIEWERS

log = get_logger(__name__)

# Who declares, ends and replies for an event: the supervisors' desk (督办) and administrators.
DECLARERS = REVIEWERS
MAX_SPAN = timedelta(days=90)
MAX_WORD = 50


def status_of(event: SurgeEvent, now: datetime) -> str:
    if event.ended_at is not None:
        return "ended"
    return "scheduled" if now < event.starts_at else "active"


def _need(actor: Actor) -> None:
    if actor.role not in DECLARERS:
        raise Forbidden(f"role {actor.role} may not declare, end or reply for events")


# ---------------------------------------------------------------- checking a declaration
def _areas(session: Session, values: list[str]) -> list[Area]:
    if not values:
        raise BadInput("areas", "an event needs at least one area of the city's area tree")
    areas: list[Area] = []
    for i, value in enumerate(values):
        area = find_area(session, value, f"areas[{i}]")
        for j, other in enumerate(areas):
            if other.id == area.id:
                raise BadInput(f"areas[{i}]", f"{area.name} is named twice (areas[{j}])")
            inner, outer = (area, other) if area.path.startswith(other.path) else (other, area)
            if inner.path.startswith(outer.path):
                raise BadInput(
                    f"areas[{i}]",
                    f"{inner.name} lies inside {outer.name}; name only {outer.name}, or only "
                    "the smaller areas",
                )
        areas.append(area)
    return areas


def _words(values: list[str]) -> list[str]:
    out: list[str] = []
    for i, raw in enumerate(values):
        word = raw.strip() if isinstance(raw, str) else ""
        if not word:
            raise BadInput(f"keywords[{i}]", "is empty")
        if len(word) > MAX_WORD:
            raise BadInput(f"keywords[{i}]", f"is longer than {MAX_WORD} characters")
        if word not in out:
            out.append(word)
    return out


def _limit(name: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return str(TimeLimit.parse(value))
    except ValueError as exc:
        raise BadInput(name, str(exc)) from None


def _span(data: EventIn, now: datetime) -> tuple[datetime, datetime]:
    starts = data.starts_at or now
    ends = data.ends_at
    if ends <= starts:
        raise BadInput("ends_at", f"{ends.isoformat()} is not after starts_at {starts.isoformat()}")
    if ends <= now:
        raise BadInput("ends_at", f"{ends.isoformat()} has already passed")
    if ends - starts > MAX_SPAN:
        raise BadInput("ends_at", f"an event may last at most {MAX_SPAN.days} days")
    return starts, ends


def _overlaps(
    session: Session, areas: list[Area], starts: datetime, ends: datetime
) -> list[tuple[SurgeEvent, Area, Area]]:
    """Events not ended whose span and areas overlap these: (event, its area, our area)."""
    q = select(SurgeEvent).where(
        SurgeEvent.ended_at.is_(None), SurgeEvent.starts_at < ends, SurgeEvent.ends_at > starts
    )
    out = []
    for other in session.scalars(q):
        for case in other.cases:
            for area in areas:
                a, b = case.area.path, area.path
                if a.startswith(b) or b.startswith(a):
                    out.append((other, case.area, area))
    return out


def check_declaration(
    session: Session, data: EventIn, *, now: datetime
) -> tuple[dict[str, Any], list[Area], list[str]]:
    """Every field checked, in the order of the form; returns the clean values, the areas
    and warnings. Same kind over the same place at the same time is refused (409)."""
    if data.kind not in EVENT_KINDS:
        raise BadInput("kind", f"must be one of {', '.join(EVENT_KINDS)}")
    areas = _areas(session, data.areas)
    starts, ends = _span(data, now)
    keywords = _words(data.keywords)
    categories: list[str] = []
    for i, value in enumerate(data.categories):
        code = find_category(session, value, f"categories[{i}]").code
        if code not in categories:
            categories.append(code)
    if not keywords and not categories:
        raise BadInput(
            "keywords",
            "give keywords or categories: without them the event would take every request "
            "in its areas",
        )
    values: dict[str, Any] = {
        "name": data.name,
        "kind": data.kind,
        "starts_at": starts,
        "ends_at": ends,
        "keywords": keywords,
        "categories": categories,
        "script": data.script,
        "response_limit": _limit("response_limit", data.response_limit),
        "handling_limit": _limit("handling_limit", data.handling_limit),
        "rules": data.rules,
        "auto_dispatch": data.auto_dispatch,
    }
    try:
        event_catalogue(data.rules, directory(session), event_id=0)
    except CatalogueError as exc:
        raise BadInput("rules", "; ".join(exc.problems[:10]), problems=exc.problems) from None
    warnings = []
    for other, theirs, ours in _overlaps(session, areas, starts, ends):
        if other.kind == data.kind:
            raise Conflict(
                f"areas: event {other.id} ({other.name}) is already a {data.kind} over "
                f"{theirs.name}, overlapping {ours.name} in time; end it or change it instead "
                "of declaring a second one",
                fields=[{"field": "areas", "problem": f"overlaps event {other.id}"}],
                event=other.id,
            )
        warnings.append(
            f"event {other.id} ({other.name}, {other.kind}) also covers {theirs.name}: a caller "
            "that matches both goes to the one over the smaller area, then the newer one"
        )
    return values, areas, warnings


# ---------------------------------------------------------------- declaring and ending
def _definition(event: SurgeEvent) -> dict[str, Any]:
    return {
        "event": event.id,
        "name": event.name,
        "kind": event.kind,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "areas": [c.area.code for c in event.cases],
        "keywords": list(event.keywords),
        "categories": list(event.categories),
        "response_limit": event.response_limit,
        "handling_limit": event.handling_limit,
        "rules": list(event.rules),
        "auto_dispatch": event.auto_dispatch,
        "script": event.script,
    }


def _master_text(event: SurgeEvent, area: Area) -> str:
    zh = EVENT_KINDS[event.kind][0]
    what = "、".join(event.keywords[:8]) or "、".join(event.categories[:8])
    return f"【{zh}】{event.name}·{area.name}：本事件期间的同类来电（{what}）并入本主工单统一处置。"


def declare(
    session: Session, data: EventIn, *, actor: Actor, now: datetime, ctx: CityContext
) -> tuple[SurgeEvent, list[str]]:
    """Declare an event: one master case per area, opened in the normal loop."""
    _need(actor)
    values, areas, warnings = check_declaration(session, data, now=now)
    for i, area in enumerate(areas):
        # A district's supervisor declares for the district, not for the city.
        if actor.area_path and not area.path.startswith(actor.area_path):
            raise Forbidden(f"areas[{i}]: {area.name} lies outside the area you supervise")
    event = SurgeEvent(
        **values,
        declared_at=now,
        declared_by=actor.name,
        declared_by_id=actor.user_id,
        updated_at=now,
    )
    session.add(event)
    session.flush()
    category = values["categories"][0] if values["categories"] else None
    for area in areas:
        master, _ = submit_request(
            session,
            RequestIn(
                channel="proactive",
                title=f"【{EVENT_KINDS[event.kind][0]}】{event.name}·{area.name}"[:200],
                text=_master_text(event, area),
                area=area.code,
                category=category,
                source_key=f"surge:{event.id}:{area.code}",
            ),
            actor=actor,
            now=now,
            ctx=ctx,
            auto_dispatch=False,
        )
        event.cases.append(SurgeCase(area=area, request=master))
    session.flush()
    for case in event.cases:
        req = case.request
        append_event(
            session,
            req,
            kind="surge_declared",
            actor=actor,
            at=now,
            payload={**_definition(event), "warnings": warnings},
            from_status=req.status,
            to_status=req.status,
        )
        # Now that it is the event's, the master case is dispatched by the event's rules.
        dispatch_at_intake(session, req, now=now, ctx=ctx)
    session.flush()
    log.info("surge.declared", event_id=event.id, kind=event.kind, areas=len(areas), by=actor.name)
    return event, warnings


def get_event(session: Session, event_id: int) -> SurgeEvent:
    event = session.get(SurgeEvent, event_id)
    if event is None:
        raise NotFound(
            f"no event {event_id}", fields=[{"field": "event_id", "problem": "not found"}]
        )
    return event


def list_events(
    session: Session, *, status: str | None = None, now: datetime, limit: int = 200
) -> list[SurgeEvent]:
    q = select(SurgeEvent).order_by(SurgeEvent.starts_at.desc(), SurgeEvent.id.desc())
    lasting = SurgeEvent.ended_at.is_(None)
    if status == "ended":
        q = q.where(SurgeEvent.ended_at.is_not(None))
    elif status == "scheduled":
        q = q.where(lasting, SurgeEvent.starts_at > now)
    elif status == "active":
        q = q.where(lasting, SurgeEvent.starts_at <= now)
    return list(session.scalars(q.limit(limit)))


def end_event(
    session: Session,
    event: SurgeEvent,
    *,
    actor: Actor,
    now: datetime,
    reason: str = "declared",
    note: str = "",
) -> SurgeEvent:
    """End an event: its rules stop applying and its report is produced and kept."""
    from jiesu.surge.report import produce_report  # the report reads the whole event

    if actor.user_id is not None:
        _need(actor)
    if event.ended_at is not None:
        raise Conflict(f"event {event.id} already ended at {event.ended_at.isoformat()}")
    # Its rules stopped at its end time whatever the hour the schedule noticed.
    event.ended_at = min(now, event.ends_at)
    event.ended_by, event.end_reason, event.end_note = actor.name, reason, note.strip()
    event.updated_at = now
    for case in event.cases:
        req = case.request
        append_event(
            session,
            req,
            kind="surge_ended",
            actor=actor,
            at=now,
            payload={
                "event": event.id,
                "reason": reason,
                "ended_at": event.ended_at.isoformat(),
                "note": event.end_note,
                "rules": "back to normal",
            },
            from_status=req.status,
            to_status=req.status,
        )
    session.flush()
    produce_report(session, event, now=now)
    log.info("surge.ended", event_id=event.id, reason=reason, by=actor.name)
    return event


def end_due(session: Session, *, now: datetime) -> list[SurgeEvent]:
    """End every event whose end time has passed (the tick's share)."""
    from jiesu.people.service import SYSTEM_ACTOR

    due = session.scalars(
        select(SurgeEvent).where(SurgeEvent.ended_at.is_(None), SurgeEvent.ends_at <= now)
    ).all()
    return [end_event(session, e, actor=SYSTEM_ACTOR, now=now, reason="end_time") for e in due]


# ---------------------------------------------------------------- one reply to every caller
@dataclass
class BulkResult:
    replied: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def callers(session: Session, case: SurgeCase) -> list[ServiceRequest]:
    q = (
        select(ServiceRequest)
        .join(SurgeAttachment, SurgeAttachment.request_id == ServiceRequest.id)
        .where(SurgeAttachment.case_id == case.id)
        .order_by(SurgeAttachment.id)
    )
    return list(session.scalars(q))


def _reply_one(
    session: Session,
    req: ServiceRequest,
    text: str,
    *,
    actor: Actor,
    now: datetime,
    ctx: CityContext,
    via: dict[str, Any],
    quality: dict[str, Any],
) -> None:
    """Bring one caller's request to 答复 with the event's reply: accepted first if it waits
    for its unit, checked before anything changes."""
    if req.status == "dispatched":
        check_action(req, "accept", actor)
        apply_action(session, req, "accept", actor=actor, now=now, ctx=ctx)
    check_action(req, "reply", actor)
    apply_action(
        session,
        req,
        "reply",
        actor=actor,
        now=now,
        ctx=ctx,
        params={"text": text, "via": via, "quality": quality},
    )


def bulk_reply(
    session: Session,
    event: SurgeEvent,
    text: str,
    *,
    actor: Actor,
    now: datetime,
    ctx: CityContext,
    area: str | None = None,
) -> BulkResult:
    """One reply to every caller still waiting for one (a handler: of the master cases their
    unit leads, and of those callers the ones it leads); each gets it in its own timeline
    (through the workflow, so deadlines, call-back tasks and reply checks work as for any
    reply), and the master case records whom it reached and whom not, and why."""
    cases = list(event.cases)
    if actor.role == "handler":
        # The unit that leads a master case answers its callers; a supervisor answers all.
        cases = [c for c in cases if c.request.lead_unit_id == actor.unit_id]
        if not cases:
            raise Forbidden(f"your unit leads none of event {event.id}'s master cases")
    else:
        _need(actor)
    text = text.strip()
    if not text:
        raise BadInput("text", "is required")
    if area is not None:
        code = find_area(session, area).code
        cases = [c for c in cases if c.area.code == code]
        if not cases:
            raise BadInput("area", f"{area} is not one of the event's areas")
    result = BulkResult()
    for case in cases:
        via = {"event": event.id, "master": case.request.ticket}
        reached, missed = [], []
        quality: dict[str, Any] | None = None
        for req in callers(session, case):
            if req.status not in ("dispatched", "accepted"):
                missed.append((req.ticket, f"it is {req.status}"))
                continue
            # Scored once, against the unit's earlier replies, as the reply of the master case.
            if quality is None:
                quality = check_reply(session, case.request, text) | {"bulk": True}
            try:
                _reply_one(
                    session, req, text, actor=actor, now=now, ctx=ctx, via=via, quality=quality
                )
            except (Forbidden, IllegalAction, BadInput) as exc:
                missed.append((req.ticket, exc.message))
                continue
            reached.append(req.ticket)
        master = case.request
        append_event(
            session,
            master,
            kind="surge_bulk_reply",
            actor=actor,
            at=now,
            payload={
                "event": event.id,
                "text": text,
                "replied": reached,
                "skipped": [{"ticket": t, "reason": r} for t, r in missed],
            },
            from_status=master.status,
            to_status=master.status,
        )
        result.replied += reached
        result.skipped += missed
    session.flush()
    log.info("surge.bulk_reply", event_id=event.id, replied=len(result.replied), by=actor.name)
    return result


def case_for(
    session: Session, event: SurgeEvent, request: ServiceRequest, area: str | None
) -> SurgeCase:
    """The master case a request attached by hand goes to: the named declared area's, or the
    one whose area holds the request."""
    if area is not None:
        code = find_area(session, area).code
        for case in event.cases:
            if case.area.code == code:
                return case
        raise BadInput("area", f"{area} is not one of the event's areas")
    path = request.area.path if request.area is not None else ""
    for case in event.cases:
        if path.startswith(case.area.path):
            return case
    raise BadInput(
        "area",
        f"request {request.ticket} lies outside the event's areas; name the area to attach it to",
    )
