"""Request updates (the FixMyStreet extension): a unit's system reports progress as Open311
statuses, and every status becomes a workflow action through ``apply_action``.

A key bound to a unit acts as a handler of that unit, so the workflow's own rules decide what
it may do (only the lead unit accepts, replies or returns). An unbound key belongs to a
citizen-facing app such as FixMyStreet: whatever status it sends, its update is kept as a note.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.service import CityContext
from jiesu.errors import IllegalAction
from jiesu.intake.models import ApiKey
from jiesu.intake.open311.errors import Open311Error
from jiesu.intake.open311.formats import Value, w3c
from jiesu.intake.open311.params import http_url, opt
from jiesu.intake.open311.public import PublicStep
from jiesu.intake.open311.service import MAX_DESCRIPTION
from jiesu.people.service import Actor
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.service import apply_action

STATUSES = (
    "OPEN",
    "INVESTIGATING",
    "IN_PROGRESS",
    "ACTION_SCHEDULED",
    "FIXED",
    "DUPLICATE",
    "NOT_COUNCILS_RESPONSIBILITY",
    "NO_FURTHER_ACTION",
    "INTERNAL_REFERRAL",
    "FOR_TRIAGE",
    "CLOSED",
    "CANCELLED",
    "REOPEN",
)
# What a unit's status means here; every other status is kept as a note.
ACTIONS = {
    "INVESTIGATING": "accept",
    "FIXED": "reply",
    "CLOSED": "reply",
    "NOT_COUNCILS_RESPONSIBILITY": "return",
}
_AS_STATUSES = {
    "accept": "INVESTIGATING",
    "reply": "FIXED or CLOSED",
    "return": "NOT_COUNCILS_RESPONSIBILITY",
    "note": "any other status",
}


@dataclass(frozen=True)
class UpdateIn:
    service_request_id: str | None = None
    status: str | None = None
    description: str | None = None
    media_url: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> UpdateIn:
        return cls(*(opt(args.get(n)) for n in cls.__dataclass_fields__))


@dataclass(frozen=True)
class Posted:
    event: Event
    ticket: str
    status: str
    update: UpdateIn
    created: bool


def normalise_status(value: str | None) -> str:
    """FixMyStreet sends ``FIXED``, ``fixed`` or ``in progress``: all the same here."""
    if value is None:
        raise Open311Error.bad(f"status: was not provided; use one of {', '.join(STATUSES)}")
    status = re.sub(r"[\s-]+", "_", value.strip()).upper()
    if status not in STATUSES:
        raise Open311Error.bad(f"status: {value[:40]!r} is not one of {', '.join(STATUSES)}")
    return status


def update_actor(key: ApiKey) -> Actor:
    if key.unit_id is not None:
        return Actor(None, f"open311:{key.name}", "handler", key.unit_id)
    # An unbound key only ever adds notes (see post_update); notes are a staff action, and this
    # role lets the workflow accept the note without binding the key to any unit.
    return Actor(None, f"open311:{key.name}", "operator", None)


def _text(u: UpdateIn) -> str | None:
    if u.description and u.media_url:
        return f"{u.description}\n{u.media_url}"
    return u.description


def _check(u: UpdateIn, action: str) -> str | None:
    problems = []
    if u.description and len(u.description) > MAX_DESCRIPTION:
        problems.append(f"description: is longer than {MAX_DESCRIPTION:,} characters")
    try:
        http_url("media_url", u.media_url)
    except Open311Error as exc:
        problems.extend(d for _, d in exc.errors)
    if action != "accept" and not u.description:
        problems.append(f"description: is required for this status ({action})")
    if problems:
        raise Open311Error.bad(*problems)
    return _text(u)


def _params(action: str, text: str | None) -> dict[str, str]:
    if action == "return":
        return {"reason": text or ""}
    return {"text": text} if text else {}


def _last_by(
    session: Session, req: ServiceRequest, actor: Actor, kind: str | None = None
) -> Event | None:
    stmt = select(Event).where(Event.request_id == req.id, Event.actor == actor.name)
    if kind is not None:
        stmt = stmt.where(Event.kind == kind)
    return session.scalar(stmt.order_by(Event.seq.desc()).limit(1))


def _earlier(
    session: Session, req: ServiceRequest, actor: Actor, action: str, text: str | None
) -> Event | None:
    """The update a retried POST already made: this actor's last step is the same one."""
    last = _last_by(session, req, actor)
    if last is None:
        return None
    said = last.payload.get("text") or last.payload.get("reason")
    if action == "accept" and text:  # an accept followed by its note
        return (
            _last_by(session, req, actor, "accept") if (last.kind, said) == ("note", text) else None
        )
    if last.kind == action and (action == "accept" or said == text):
        return last
    return None


def _apply(
    session: Session,
    req: ServiceRequest,
    action: str,
    text: str | None,
    *,
    actor: Actor,
    now: datetime,
    ctx: CityContext,
) -> Event:
    try:
        event = apply_action(
            session, req, action, actor=actor, now=now, ctx=ctx, params=_params(action, text)
        )
    except IllegalAction as exc:
        allowed = [
            _AS_STATUSES[a] for a in exc.extra.get("allowed_actions", ()) if a in _AS_STATUSES
        ]
        raise Open311Error.bad(
            f"{exc.message}; Open311 statuses allowed now: {', '.join(allowed) or 'none'}"
        ) from None
    if action == "accept" and text:
        # Accepting carries no text of its own: what the unit said is kept as its note.
        apply_action(session, req, "note", actor=actor, now=now, ctx=ctx, params={"text": text})
    return event


def post_update(
    session: Session, u: UpdateIn, *, key: ApiKey, now: datetime, ctx: CityContext
) -> Posted:
    if not u.service_request_id:
        raise Open311Error.bad("service_request_id: was not provided")
    status = normalise_status(u.status)
    action = ACTIONS.get(status, "note") if key.unit_id is not None else "note"
    text = _check(u, action)
    req = session.scalar(
        select(ServiceRequest).where(ServiceRequest.ticket == u.service_request_id)
    )
    if req is None:
        raise Open311Error.not_found(f"service_request_id {u.service_request_id!r} not found")
    actor = update_actor(key)
    earlier = _earlier(session, req, actor, action, text)
    if earlier is not None:
        return Posted(earlier, req.ticket, status, u, created=False)
    event = _apply(session, req, action, text, actor=actor, now=now, ctx=ctx)
    return Posted(event, req.ticket, status, u, created=True)


def posted_record(p: Posted, tz: ZoneInfo) -> Mapping[str, Value]:
    """The created update, in the words the client sent."""
    return {
        "update_id": str(p.event.id),
        "service_request_id": p.ticket,
        "status": p.status,
        "updated_datetime": w3c(p.event.at, tz),
        "description": p.update.description,
        "media_url": p.update.media_url,
        "external_status_code": p.event.kind,
    }


def update_record(event: Event, ticket: str, step: PublicStep, tz: ZoneInfo) -> Mapping[str, Value]:
    return {
        "update_id": str(event.id),
        "service_request_id": ticket,
        "status": step.status,
        "updated_datetime": w3c(event.at, tz),
        "description": step.description,
        "media_url": None,
        "external_status_code": event.kind,
    }
