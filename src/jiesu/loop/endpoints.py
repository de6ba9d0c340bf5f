"""Routes of the loop: the operators' call-back queue and attempts, the caller's private link,
and exclusion requests with their decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, CurrentActor, require_role, write
from jiesu.errors import Forbidden, error_responses
from jiesu.loop.callbacks import get_task, issue_link, queue, task_for_token
from jiesu.loop.exclusions import (
    decide_exclusion,
    get_exclusion,
    list_exclusions,
    request_exclusion,
)
from jiesu.loop.models import CALLBACK_STATUSES, CallbackTask, ScoringExclusion
from jiesu.loop.service import LINK_ACTOR, answer, answer_attempt
from jiesu.workflow.service import get_by_ticket
from jiesu.workflow.transitions import CALL_DESK, REVIEWERS

router = APIRouter(tags=["loop"])

ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role or unit may not do this",
        404: "no such task, exclusion or ticket",
        409: "already answered or decided, or not allowed in the request's status",
        422: "a field is missing or wrong; names the field",
    }
)
Resolution = Literal["solved", "partly", "unsolved"]
Satisfaction = Literal["satisfied", "basically", "unsatisfied"]
EXCLUSION_READERS = ("supervisor", "admin", "analyst", "handler")
# Ids are database integers: larger numbers are refused as input, not sent to the database.
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _utc(at: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


class CallbackOut(BaseModel):
    id: int
    ticket: str
    request_status: str
    cycle: int = Field(description="the request's reopen count when the task was made")
    status: str = Field(description="open | done | unreachable | cancelled")
    priority: int = Field(description="0–100, highest first")
    priority_reasons: list[str]
    created_at: datetime
    due_at: datetime | None
    attempts: int
    last_attempt_at: datetime | None
    answered_at: datetime | None
    answer_channel: str | None
    unit: str | None

    @classmethod
    def of(cls, t: CallbackTask) -> CallbackOut:
        req = t.request
        return cls(
            id=t.id,
            ticket=req.ticket,
            request_status=req.status,
            cycle=t.cycle,
            status=t.status,
            priority=t.priority,
            priority_reasons=list(t.priority_reasons or []),
            created_at=_utc(t.created_at) or t.created_at,
            due_at=_utc(t.due_at),
            attempts=t.attempts,
            last_attempt_at=_utc(t.last_attempt_at),
            answered_at=_utc(t.answered_at),
            answer_channel=t.answer_channel,
            unit=req.lead_unit.code if req.lead_unit else None,
        )


class AttemptIn(_Body):
    reached: bool = Field(..., description="did the operator reach the caller?")
    note: str = Field("", max_length=10_000)
    resolution: Resolution | None = Field(None, description="the caller's answer, if reached")
    satisfaction: Satisfaction | None = None


class LinkOut(BaseModel):
    token: str = Field(description="shown once; only its hash is stored")
    expires_at: datetime
    path: str


class LinkAnswerIn(_Body):
    resolution: Resolution
    satisfaction: Satisfaction
    comment: str | None = Field(None, max_length=10_000)


class LinkAnswerOut(BaseModel):
    ticket: str
    status: str
    message: str


class EvidenceIn(_Body):
    note: str | None = Field(None, max_length=10_000)
    url: str | None = Field(None, max_length=2_000)


class ExclusionIn(_Body):
    reason: str = Field(..., min_length=1, max_length=10_000)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=20)


class DecisionIn(_Body):
    decision: Literal["approved", "refused"]
    note: str = Field(..., min_length=1, max_length=10_000)


class ExclusionOut(BaseModel):
    id: int
    ticket: str
    status: str
    reason: str
    evidence: list[dict[str, Any]]
    unit: str | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str

    @classmethod
    def of(cls, x: ScoringExclusion) -> ExclusionOut:
        req = x.request
        return cls(
            id=x.id,
            ticket=req.ticket,
            status=x.status,
            reason=x.reason,
            evidence=list(x.evidence or []),
            unit=req.lead_unit.code if req.lead_unit else None,
            requested_by=x.requested_by,
            requested_at=_utc(x.requested_at) or x.requested_at,
            decided_by=x.decided_by,
            decided_at=_utc(x.decided_at),
            decision_note=x.decision_note,
        )


@router.get("/callbacks", response_model=list[CallbackOut], responses=ERRORS)
async def list_callbacks(
    db: DB,
    actor: CurrentActor,
    status: Literal["open", "done", "unreachable", "cancelled", "all"] = "open",
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> list[CallbackOut]:
    """The operators' call-back queue: highest priority first, then the earliest due."""
    require_role(actor, *sorted(CALL_DESK))
    wanted = None if status == "all" else status
    assert wanted is None or wanted in CALLBACK_STATUSES

    def work(s: Session) -> list[CallbackOut]:
        return [CallbackOut.of(t) for t in queue(s, status=wanted, limit=limit, offset=offset)]

    return await db.run_sync(work)


@router.post("/callbacks/{task_id}/attempts", response_model=CallbackOut, responses=ERRORS)
async def post_attempt(
    task_id: Id, body: AttemptIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> CallbackOut:
    """Record one call: reached or not; with the caller's answer when reached. The answer is
    the ``call_back`` action, after which the request closes or reopens (重办)."""
    require_role(actor, *sorted(CALL_DESK))
    now = clock.now()

    def work(s: Session) -> CallbackOut:
        task = get_task(s, task_id)
        answer_attempt(
            s,
            task,
            reached=body.reached,
            actor=actor,
            now=now,
            ctx=city_context(s),
            note=body.note,
            resolution=body.resolution,
            satisfaction=body.satisfaction,
        )
        return CallbackOut.of(task)

    return await write(db, work)


@router.post("/callbacks/{task_id}/link", response_model=LinkOut, responses=ERRORS)
async def post_link(task_id: Id, db: DB, actor: CurrentActor, clock: ClockDep) -> LinkOut:
    """A private link for an online caller to answer from the tracking page (7 days, once)."""
    require_role(actor, *sorted(CALL_DESK))
    now = clock.now()

    def work(s: Session) -> LinkOut:
        task = get_task(s, task_id)
        token = issue_link(s, task, now)
        assert task.link_expires_at is not None
        expires = _utc(task.link_expires_at) or task.link_expires_at
        return LinkOut(token=token, expires_at=expires, path=f"/api/v1/public/callbacks/{token}")

    return await write(db, work)


@router.post(
    "/public/callbacks/{token}",
    response_model=LinkAnswerOut,
    responses=error_responses(
        {
            404: "no such link",
            410: "the link was used already or has expired",
            422: "a field is missing or wrong; names the field",
        }
    ),
    tags=["public"],
)
async def answer_by_link(token: str, body: LinkAnswerIn, db: DB, clock: ClockDep) -> LinkAnswerOut:
    """The caller answers the call-back through the private link: no account, once."""
    now = clock.now()

    def work(s: Session) -> LinkAnswerOut:
        task = task_for_token(s, token, now)
        req = answer(
            s,
            task,
            resolution=body.resolution,
            satisfaction=body.satisfaction,
            note=body.comment,
            actor=LINK_ACTOR,
            now=now,
            ctx=city_context(s),
            channel="link",
        )
        return LinkAnswerOut(ticket=req.ticket, status=req.status, message="thank you")

    return await write(db, work)


@router.post(
    "/requests/{ticket}/exclusion", response_model=ExclusionOut, status_code=201, responses=ERRORS
)
async def post_exclusion(
    ticket: str, body: ExclusionIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> ExclusionOut:
    """The lead unit asks to leave this request out of its scoring (不合理诉求)."""
    now = clock.now()

    def work(s: Session) -> ExclusionOut:
        req = get_by_ticket(s, ticket)
        evidence = [e.model_dump(exclude_none=True) for e in body.evidence]
        x = request_exclusion(s, req, reason=body.reason, evidence=evidence, actor=actor, now=now)
        return ExclusionOut.of(x)

    return await write(db, work)


@router.post("/exclusions/{exclusion_id}/decision", response_model=ExclusionOut, responses=ERRORS)
async def post_decision(
    exclusion_id: Id, body: DecisionIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> ExclusionOut:
    """A supervisor approves or refuses, with a note."""
    require_role(actor, *sorted(REVIEWERS))
    now = clock.now()

    def work(s: Session) -> ExclusionOut:
        x = get_exclusion(s, exclusion_id)
        decide_exclusion(
            s, x, approve=body.decision == "approved", note=body.note, actor=actor, now=now
        )
        return ExclusionOut.of(x)

    return await write(db, work)


@router.get("/exclusions", response_model=list[ExclusionOut], responses=ERRORS)
async def get_exclusions(
    db: DB,
    actor: CurrentActor,
    status: Literal["pending", "approved", "refused"] | None = None,
) -> list[ExclusionOut]:
    """Exclusion requests; a handler sees only the own unit's."""
    require_role(actor, *EXCLUSION_READERS)
    unit_id = actor.unit_id if actor.role == "handler" else None
    if actor.role == "handler" and unit_id is None:
        raise Forbidden("a handler without a unit has no exclusions to see")

    def work(s: Session) -> list[ExclusionOut]:
        return [ExclusionOut.of(x) for x in list_exclusions(s, status=status, unit_id=unit_id)]

    return await db.run_sync(work)
