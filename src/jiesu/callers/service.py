"""Raising repeat callers at intake, and flagging (and unflagging) vulnerable callers.

Every step is an event in the chain of the request it concerns: ``repeat_caller`` on the new
request (with the earlier tickets and why), ``caller_flagged`` and ``caller_unflagged`` on the
request the flag was raised on. Nothing commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiesu.callers.models import FLAG_KINDS, CallerFlag
from jiesu.callers.profile import repeats_of
from jiesu.errors import BadInput, Conflict, Forbidden, NotFound
from jiesu.logs import get_logger
from jiesu.people.service import Actor
from jiesu.workflow.access import in_area
from jiesu.workflow.events import append_event
from jiesu.workflow.models import ServiceRequest

log = get_logger(__name__)

# Who takes calls and makes call-backs: who notes a caller's situation.
FLAGGERS = frozenset({"operator", "supervisor", "admin"})
MAX_REASON = 2000
REPEAT_EVENT = "repeat_caller"
# Raising a repeat caller is the platform's own step; its events name caller profiles.
PROFILE_ACTOR = Actor(None, "caller-profile", "system")


def note_repeat_at_intake(session: Session, request: ServiceRequest, *, now: datetime) -> bool:
    """Raise a caller who calls again about the same unsolved problem: an event the desks
    show and the call-back's priority counts. True when raised."""
    found = repeats_of(session, request)
    if not found:
        return False
    append_event(
        session,
        request,
        kind=REPEAT_EVENT,
        actor=PROFILE_ACTOR,
        at=now,
        payload={
            "earlier": [old.ticket for old, _ in found],
            "why": [why for _, why in found],
            "count": len(found),
        },
        from_status=request.status,
        to_status=request.status,
    )
    log.info("caller.repeat", ticket=request.ticket, earlier=len(found))
    return True


def _reason(value: str | None, name: str = "reason") -> str:
    text = (value or "").strip()
    if not text:
        raise BadInput(name, "is required: say what you learned from the caller and why")
    if len(text) > MAX_REASON:
        raise BadInput(name, f"is {len(text)} characters long; the limit is {MAX_REASON}")
    return text


def flag_caller(
    session: Session,
    request: ServiceRequest,
    *,
    kind: str,
    reason: str | None,
    consent: bool,
    actor: Actor,
    now: datetime,
) -> CallerFlag:
    """Flag the caller of this request as vulnerable, for priority call-backs."""
    if actor.role not in FLAGGERS:
        raise Forbidden(f"role {actor.role} may not flag callers")
    in_area(actor, request)
    if kind not in FLAG_KINDS:
        raise BadInput("kind", f"must be one of {', '.join(FLAG_KINDS)}")
    text = _reason(reason)
    if consent is not True:
        raise BadInput(
            "consent",
            "ask the caller first: noting their situation is sensitive personal information "
            "and needs their consent",
        )
    contact = request.contact
    if contact is None or not contact.phone:
        raise BadInput("ticket", f"request {request.ticket} has no caller's phone to flag")
    flag = CallerFlag(
        request=request,
        kind=kind,
        reason=text,
        consent=True,
        flagged_at=now,
        flagged_by=actor.name,
        flagged_by_id=actor.user_id,
    )
    session.add(flag)
    session.flush()
    append_event(
        session,
        request,
        kind="caller_flagged",
        actor=actor,
        at=now,
        payload={"flag": flag.id, "kind": kind, "reason": text, "consent": True},
        from_status=request.status,
        to_status=request.status,
    )
    log.info("caller.flagged", ticket=request.ticket, kind=kind, by=actor.name)
    return flag


def get_flag(session: Session, flag_id: int, request: ServiceRequest) -> CallerFlag:
    flag = session.get(CallerFlag, flag_id)
    if flag is None or flag.request_id != request.id:
        raise NotFound(f"no caller flag {flag_id} on request {request.ticket}")
    return flag


def remove_flag(
    session: Session,
    flag: CallerFlag,
    *,
    reason: str | None,
    actor: Actor,
    now: datetime,
) -> CallerFlag:
    if actor.role not in FLAGGERS:
        raise Forbidden(f"role {actor.role} may not change caller flags")
    in_area(actor, flag.request)
    if flag.removed_at is not None:
        raise Conflict(f"caller flag {flag.id} was already removed")
    text = _reason(reason)
    flag.removed_at, flag.removed_by, flag.removed_reason = now, actor.name, text
    append_event(
        session,
        flag.request,
        kind="caller_unflagged",
        actor=actor,
        at=now,
        payload={"flag": flag.id, "kind": flag.kind, "reason": text},
        from_status=flag.request.status,
        to_status=flag.request.status,
    )
    session.flush()
    return flag
