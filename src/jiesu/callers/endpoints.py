"""Routes of caller profiles: a request's caller (history, outcomes, flags), and flagging a
vulnerable caller or removing the flag — each with a reason, each an event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jiesu.callers.models import FLAG_KINDS, CallerFlag
from jiesu.callers.profile import hashes_of, profile, repeat_payload
from jiesu.callers.service import flag_caller, get_flag, remove_flag
from jiesu.deps import DB, ClockDep, CurrentActor, require_role, write
from jiesu.errors import error_responses
from jiesu.privacy.reads import Shown, record_reads, sees_contacts
from jiesu.workflow.access import can_view
from jiesu.workflow.service import get_by_ticket

router = APIRouter(tags=["callers"])
ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role may not do this, or the request is outside your area",
        404: "no such request or flag",
        409: "the flag was already removed",
        422: "a field is missing or wrong (a reason and the caller's consent are required)",
    }
)
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
READERS = ("operator", "dispatcher", "supervisor", "analyst", "admin")
FLAGGERS = ("operator", "supervisor", "admin")
FlagKind = Literal["elderly_alone", "disabled", "serious_illness", "other_vulnerable"]
assert set(FlagKind.__args__) == set(FLAG_KINDS)  # type: ignore[attr-defined]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FlagIn(_Body):
    kind: FlagKind
    reason: str = Field(..., max_length=2000, description="what the caller said; required")
    consent: bool = Field(..., description="the caller agreed to be noted")


class RemoveIn(_Body):
    reason: str = Field(..., max_length=2000)


class FlagOut(BaseModel):
    id: int
    ticket: str
    kind: str
    reason: str
    flagged_by: str
    flagged_at: datetime
    removed_at: datetime | None
    removed_by: str | None

    @classmethod
    def of(cls, f: CallerFlag) -> FlagOut:
        def utc(at: datetime | None) -> datetime | None:
            return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at

        return cls(
            id=f.id,
            ticket=f.request.ticket,
            kind=f.kind,
            reason=f.reason,
            flagged_by=f.flagged_by,
            flagged_at=utc(f.flagged_at) or f.flagged_at,
            removed_at=utc(f.removed_at),
            removed_by=f.removed_by,
        )


class CallerOut(BaseModel):
    ticket: str
    masked: bool = Field(description="true for analysts: counts and kinds only")
    earlier: int = Field(description="the caller's other requests (up to 20)")
    unsolved: int = Field(description="of those, open or answered unsolved/unsatisfied")
    repeat_of: list[str] = Field(description="earlier tickets this request repeats, unsolved")
    history: list[dict[str, Any]]
    flags: list[dict[str, Any]]


@router.get("/requests/{ticket}/caller", response_model=CallerOut, responses=ERRORS)
async def get_caller(ticket: str, db: DB, actor: CurrentActor, clock: ClockDep) -> CallerOut:
    """The caller of a request: earlier requests and outcomes, open flags, repeats."""
    require_role(actor, *READERS)
    now = clock.now()

    def work(s: Session) -> CallerOut:
        req = get_by_ticket(s, ticket)
        can_view(actor, req)
        phone = req.contact.phone if req.contact is not None else ""
        p = profile(s, hashes_of(phone), role=actor.role, exclude=req.id)
        repeat = repeat_payload(s, req)
        if sees_contacts(actor) and phone:
            # Seeing who else this caller is, is seeing them: recorded like a contact view.
            record_reads(s, actor, [Shown(req.id, req.ticket, ("profile",))],
                         purpose="api.caller", at=now)  # fmt: skip
        return CallerOut(
            ticket=req.ticket,
            masked=p.masked,
            earlier=p.earlier,
            unsolved=p.unsolved,
            repeat_of=[] if p.masked else list((repeat or {}).get("earlier", [])),
            history=p.history,
            flags=p.flags,
        )

    if sees_contacts(actor):
        return await write(db, work)
    return await db.run_sync(work)


@router.post(
    "/requests/{ticket}/caller-flags", response_model=FlagOut, status_code=201, responses=ERRORS
)
async def post_flag(
    ticket: str, body: FlagIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> FlagOut:
    """Note the caller of this request as vulnerable (with their consent and a reason): their
    call-backs come first from now on."""
    require_role(actor, *FLAGGERS)
    now = clock.now()

    def work(s: Session) -> FlagOut:
        req = get_by_ticket(s, ticket)
        flag = flag_caller(s, req, kind=body.kind, reason=body.reason, consent=body.consent,
                           actor=actor, now=now)  # fmt: skip
        return FlagOut.of(flag)

    return await write(db, work)


@router.post(
    "/requests/{ticket}/caller-flags/{flag_id}/remove", response_model=FlagOut, responses=ERRORS
)
async def post_remove(
    ticket: str, flag_id: Id, body: RemoveIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> FlagOut:
    require_role(actor, *FLAGGERS)
    now = clock.now()

    def work(s: Session) -> FlagOut:
        req = get_by_ticket(s, ticket)
        flag = remove_flag(s, get_flag(s, flag_id, req), reason=body.reason, actor=actor, now=now)
        return FlagOut.of(flag)

    return await write(db, work)
