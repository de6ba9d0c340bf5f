"""Routes of surge mode under /api/v1/surge: declare, list, end, bulk reply, dashboard,
report, attach by hand, and the scripts an operator's call matches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, CurrentActor, require_role, write
from jiesu.errors import Conflict, error_responses
from jiesu.surge.attach import attach, attachment_of
from jiesu.surge.dashboard import callers_by_case, callers_count, dashboard
from jiesu.surge.models import SurgeEvent
from jiesu.surge.schemas import (
    BulkReplyIn,
    BulkReplyOut,
    CaseOut,
    EndIn,
    EventIn,
    EventOut,
    ScriptOut,
    SkippedOut,
)
from jiesu.surge.script import scripts_for
from jiesu.surge.service import (
    DECLARERS,
    bulk_reply,
    case_for,
    declare,
    end_event,
    get_event,
    list_events,
    status_of,
)
from jiesu.workflow.access import in_area
from jiesu.workflow.service import get_by_ticket
from jiesu.workflow.transitions import CALL_DESK, DISPATCH_DESK

router = APIRouter(prefix="/surge", tags=["surge"])

ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role may not do this",
        404: "no such event or ticket",
        409: "the event already ended, overlaps another of its kind, or the request is attached",
        422: "a field is missing or wrong; names the field",
    }
)
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
# Everyone at a staff desk may see what events are declared: they shape every desk's work.
READERS = ("operator", "dispatcher", "handler", "supervisor", "analyst", "admin")
WATCHERS = ("operator", "dispatcher", "supervisor", "analyst", "admin")


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def event_out(
    s: Session, e: SurgeEvent, now: datetime, warnings: list[str] | None = None
) -> EventOut:
    by_case = callers_by_case(s, e.id)
    return EventOut(
        id=e.id,
        name=e.name,
        kind=e.kind,
        status=status_of(e, now),
        starts_at=_utc(e.starts_at),
        ends_at=_utc(e.ends_at),
        keywords=list(e.keywords),
        categories=list(e.categories),
        script=e.script,
        response_limit=e.response_limit,
        handling_limit=e.handling_limit,
        rules=list(e.rules),
        auto_dispatch=e.auto_dispatch,
        declared_at=_utc(e.declared_at),
        declared_by=e.declared_by,
        ended_at=_utc(e.ended_at) if e.ended_at else None,
        ended_by=e.ended_by,
        end_reason=e.end_reason,
        cases=[
            CaseOut(
                area=c.area.code,
                area_name=c.area.name,
                master=c.request.ticket,
                status=c.request.status,
                callers=by_case.get(c.id, 0),
            )
            for c in e.cases
        ],
        warnings=warnings or [],
    )


@router.post("/events", response_model=EventOut, status_code=201, responses=ERRORS)
async def post_event(body: EventIn, db: DB, actor: CurrentActor, clock: ClockDep) -> EventOut:
    """Declare an event: a master case per area opens, and from its start time matching new
    requests attach to it and get its temporary rules. Overlapping an event of the same kind
    over the same place is refused (409); other overlaps come back as warnings."""
    require_role(actor, *sorted(DECLARERS))
    now = clock.now()

    def work(s: Session) -> EventOut:
        event, warnings = declare(s, body, actor=actor, now=now, ctx=city_context(s))
        return event_out(s, event, now, warnings)

    return await write(db, work)


@router.get("/events", response_model=list[EventOut], responses=ERRORS)
async def get_events(
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    status: Literal["scheduled", "active", "ended", "all"] = "all",
    limit: int = Query(100, ge=1, le=500),
) -> list[EventOut]:
    """Declared events, the latest start first."""
    require_role(actor, *READERS)
    now = clock.now()

    def work(s: Session) -> list[EventOut]:
        wanted = None if status == "all" else status
        return [event_out(s, e, now) for e in list_events(s, status=wanted, now=now, limit=limit)]

    return await db.run_sync(work)


@router.get("/events/{event_id}", response_model=EventOut, responses=ERRORS)
async def get_one(event_id: Id, db: DB, actor: CurrentActor, clock: ClockDep) -> EventOut:
    require_role(actor, *READERS)
    now = clock.now()
    return await db.run_sync(lambda s: event_out(s, get_event(s, event_id), now))


@router.post("/events/{event_id}/end", response_model=EventOut, responses=ERRORS)
async def post_end(
    event_id: Id, body: EndIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> EventOut:
    """End the event now: its rules stop applying and its report is produced and kept."""
    require_role(actor, *sorted(DECLARERS))
    now = clock.now()

    def work(s: Session) -> EventOut:
        event = end_event(s, get_event(s, event_id), actor=actor, now=now, note=body.note)
        return event_out(s, event, now)

    return await write(db, work)


@router.post("/events/{event_id}/reply", response_model=BulkReplyOut, responses=ERRORS)
async def post_reply(
    event_id: Id, body: BulkReplyIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> BulkReplyOut:
    """One reply to every caller of the event's master cases (or of one area's) who still
    waits for one; each request gets it in its own timeline. A unit's handlers reply for the
    master cases their unit leads."""
    require_role(actor, *sorted(DECLARERS | {"handler"}))
    now = clock.now()

    def work(s: Session) -> BulkReplyOut:
        event = get_event(s, event_id)
        result = bulk_reply(
            s, event, body.text, actor=actor, now=now, ctx=city_context(s), area=body.area
        )
        return BulkReplyOut(
            replied=result.replied,
            skipped=[SkippedOut(ticket=t, reason=r) for t, r in result.skipped],
        )

    return await write(db, work)


class AttachIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ticket: str = Field(..., min_length=1, max_length=32)
    area: str | None = Field(None, description="the declared area; default: the one holding it")
    reason: str = Field(..., min_length=1, max_length=2000)


class AttachOut(BaseModel):
    ticket: str
    master: str
    callers: int


@router.post("/events/{event_id}/attach", response_model=AttachOut, responses=ERRORS)
async def post_attach(
    event_id: Id, body: AttachIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> AttachOut:
    """Attach a request the words did not give away (a caller who said 屋里冷 only)."""
    require_role(actor, *sorted(DISPATCH_DESK))
    now = clock.now()

    def work(s: Session) -> AttachOut:
        event = get_event(s, event_id)
        if event.ended_at is not None:
            raise Conflict(f"event {event.id} has ended; nothing more attaches to it")
        req = get_by_ticket(s, body.ticket)
        in_area(actor, req)
        if attachment_of(s, req) is not None:
            raise Conflict(f"request {req.ticket} is already attached to an event")
        case = case_for(s, event, req, body.area)
        attach(s, req, case, reasons=[f"by hand: {body.reason}"], actor=actor, now=now)
        return AttachOut(
            ticket=req.ticket, master=case.request.ticket, callers=callers_count(s, event.id)
        )

    return await write(db, work)


@router.get("/events/{event_id}/dashboard", responses=ERRORS)
async def get_dashboard(
    event_id: Id, db: DB, actor: CurrentActor, clock: ClockDep
) -> dict[str, Any]:
    """The live numbers: volume over time, areas, open and closed, on time, outcomes."""
    require_role(actor, *WATCHERS)
    now = clock.now()
    return await db.run_sync(
        lambda s: dashboard(s, get_event(s, event_id), now=now, tz=city_context(s).tz)
    )


@router.get(
    "/events/{event_id}/report",
    responses=ERRORS | {200: {"content": {"text/html": {}}}},
)
async def get_report(
    event_id: Id, db: DB, actor: CurrentActor, format: Literal["json", "html"] = "json"
) -> Any:
    """The report kept when the event ended (409 while it lasts)."""
    require_role(actor, *WATCHERS)

    def work(s: Session) -> tuple[dict[str, Any] | None, str | None]:
        event = get_event(s, event_id)
        if event.report is None:
            raise Conflict(f"event {event.id} has not ended; its report comes when it ends")
        return event.report, event.report_html

    report, html = await db.run_sync(work)
    if format == "html":
        return HTMLResponse(html or "")
    return report


@router.get("/scripts", response_model=list[ScriptOut], responses=ERRORS)
async def get_scripts(
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    text: str = Query("", max_length=10_000),
    area: str | None = Query(None, max_length=32),
    category: str | None = Query(None, max_length=32),
) -> list[ScriptOut]:
    """The scripts of lasting events that a call with these words, place and category matches."""
    require_role(actor, *sorted(CALL_DESK))
    now = clock.now()

    def work(s: Session) -> list[ScriptOut]:
        found = scripts_for(s, text=text, area=area, category=category, now=now)
        return [
            ScriptOut(event=f.event_id, name=f.name, kind=f.kind, script=f.script, why=list(f.why))
            for f in found
        ]

    return await db.run_sync(work)
