"""Routes under /api/v1/consultations: the supervisor's side of deliberation (open, end,
decide, follow up, moderate). The public side is in public.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy.orm import Session

from jiesu.deliberation import followup, service
from jiesu.deliberation.schemas import (
    ConsultationIn,
    ConsultationOut,
    ConsultationSummary,
    DecisionIn,
    ModerationIn,
    WorkOrderIn,
    WorkOrderOut,
)
from jiesu.deliberation.views import summary, view
from jiesu.deps import DB, ClockDep, CurrentActor, require_role, write
from jiesu.errors import BadInput, error_responses
from jiesu.people.service import Actor

Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
router = APIRouter(prefix="/consultations", tags=["deliberation"])
ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role (or area) may not manage this consultation",
        404: "no such consultation",
        409: "not possible in the consultation's current phase; names the field",
        422: "a field is wrong; names the field",
    }
)


def _readable(s: Session, cid: int, actor: Actor) -> service.Consultation:
    require_role(actor, *service.READERS)
    c = service.get_consultation(s, cid)
    service.in_actor_area(actor, c.area)
    return c


@router.get("", response_model=list[ConsultationSummary], responses=ERRORS)
async def list_all(db: DB, actor: CurrentActor, clock: ClockDep) -> list[ConsultationSummary]:
    """Consultations, newest first (a district's own, for an account kept to one)."""
    require_role(actor, *service.READERS)
    now = clock.now()

    def work(s: Session) -> list[ConsultationSummary]:
        rows = service.list_consultations(s, area_path=actor.area_path)
        return [summary(s, c, now) for c in rows]

    return await db.run_sync(work)


@router.post("", status_code=201, response_model=ConsultationOut, responses=ERRORS)
async def open_one(
    body: ConsultationIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> ConsultationOut:
    """Open a consultation; its background is computed from the requests now."""
    require_role(actor, *service.MANAGERS)
    now = clock.now()

    def work(s: Session) -> ConsultationOut:
        fields = body.model_dump(exclude={"questions"})
        asked = [(q.text, q.options) for q in body.questions]
        c = service.open_consultation(
            s, service.Opening(**fields, questions=asked), actor=actor, now=now
        )
        return view(s, c, now, public=False)

    return await write(db, work)


@router.get("/{consultation_id}", response_model=ConsultationOut, responses=ERRORS)
async def get_one(
    consultation_id: Id, db: DB, actor: CurrentActor, clock: ClockDep
) -> ConsultationOut:
    now = clock.now()
    return await db.run_sync(
        lambda s: view(s, _readable(s, consultation_id, actor), now, public=False)
    )


@router.post("/{consultation_id}/end", response_model=ConsultationOut, responses=ERRORS)
async def end(consultation_id: Id, db: DB, actor: CurrentActor, clock: ClockDep) -> ConsultationOut:
    """Stop taking part now, before the planned end."""
    require_role(actor, *service.MANAGERS)
    now = clock.now()

    def work(s: Session) -> ConsultationOut:
        c = service.end_voting(s, service.managed(s, consultation_id, actor), actor=actor, now=now)
        return view(s, c, now, public=False)

    return await write(db, work)


@router.post("/{consultation_id}/decision", response_model=ConsultationOut, responses=ERRORS)
async def decide(
    consultation_id: Id, body: DecisionIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> ConsultationOut:
    """The closing decision: what was decided, the option chosen and why."""
    require_role(actor, *service.MANAGERS)
    now = clock.now()

    def work(s: Session) -> ConsultationOut:
        c = service.managed(s, consultation_id, actor)
        service.decide(s, c, actor=actor, now=now, decision=body.decision,
                       reasons=body.reasons, option_id=body.option_id)  # fmt: skip
        return view(s, c, now, public=False)

    return await write(db, work)


@router.post(
    "/{consultation_id}/work-orders", status_code=201, response_model=WorkOrderOut, responses=ERRORS
)
async def add_work_order(
    consultation_id: Id, body: WorkOrderIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> WorkOrderOut:
    """Link a request that carries the decision out, or open a proactive work order from it."""
    require_role(actor, *service.MANAGERS)
    if (body.ticket is None) == (body.text is None):
        raise BadInput("ticket", "give either a ticket to link or the text of a new work order")
    now = clock.now()

    def work(s: Session) -> WorkOrderOut:
        c = service.managed(s, consultation_id, actor)
        if body.ticket is not None:
            followup.link_request(s, c, ticket=body.ticket, actor=actor, now=now)
        else:
            followup.create_work_order(s, c, text=body.text or "", actor=actor, now=now,
                                       area=body.area, category=body.category)  # fmt: skip
        return WorkOrderOut(**followup.progress(s, c)["work_orders"][-1])

    return await write(db, work)


@router.post("/{consultation_id}/moderation", response_model=ConsultationOut, responses=ERRORS)
async def moderate(
    consultation_id: Id, body: ModerationIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> ConsultationOut:
    """Hide a comment or a proposal; the reason is shown publicly in its place."""
    require_role(actor, *service.MANAGERS)
    now = clock.now()

    def work(s: Session) -> ConsultationOut:
        c = service.managed(s, consultation_id, actor)
        service.hide(s, c, target=body.target, target_id=body.id, reason=body.reason,
                     actor=actor, now=now)  # fmt: skip
        return view(s, c, now, public=False)

    return await write(db, work)
