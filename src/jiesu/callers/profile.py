"""A caller's profile, found by the blind index of their phone: earlier requests with their
outcomes, open flags, and which earlier requests are the same problem still unsolved.

Masking follows the request's: roles that handle callers (operators, dispatchers, supervisors,
admins) see the profile; analysts see its shape — how many earlier requests, how many unsolved,
which kinds of flag — but no ticket linking a person across requests and no reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.callers.models import FLAG_KINDS, CallerFlag
from jiesu.nlp.duplicates import THRESHOLD
from jiesu.nlp.shingles import Weighted, similarity
from jiesu.privacy.contacts import phone_hashes
from jiesu.privacy.masking import CONTACT_ROLES
from jiesu.workflow.models import Contact, Event, ServiceRequest
from jiesu.workflow.transitions import OPEN_STATUSES

# An earlier request older than this is another occurrence, not the same problem still open.
REPEAT_WINDOW = timedelta(days=90)
HISTORY = 20
UNSOLVED_ANSWERS = ("unsolved", "partly")
# Not a caller's problem: a city work order, a spam call confirmed, a duplicate merged away.
NOT_COUNTED = ("proactive",)


def digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def hashes_of(phone: str) -> list[str]:
    """The blind indexes of a number, or none for too few digits to be a caller's."""
    return phone_hashes(phone) if len(digits(phone)) >= 7 else []


def unsolved(req: ServiceRequest) -> bool:
    if req.status in ("invalid", "merged", "answered"):
        return False
    return (
        req.status in OPEN_STATUSES
        or req.resolution in UNSOLVED_ANSWERS
        or req.satisfaction == "unsatisfied"
    )


def earlier_requests(
    session: Session, hashes: Sequence[str], *, exclude: int | None = None, limit: int = HISTORY
) -> list[ServiceRequest]:
    if not hashes:
        return []
    q = (
        select(ServiceRequest)
        .join(Contact, Contact.request_id == ServiceRequest.id)
        .where(Contact.phone_hash.in_(hashes), ServiceRequest.channel.not_in(NOT_COUNTED))
        .order_by(ServiceRequest.received_at.desc(), ServiceRequest.id.desc())
        .limit(limit)
    )
    if exclude is not None:
        q = q.where(ServiceRequest.id != exclude)
    return list(session.scalars(q))


def open_flags(session: Session, hashes: Sequence[str]) -> list[CallerFlag]:
    if not hashes:
        return []
    q = (
        select(CallerFlag)
        .join(Contact, Contact.request_id == CallerFlag.request_id)
        .where(Contact.phone_hash.in_(hashes), CallerFlag.removed_at.is_(None))
        .order_by(CallerFlag.id)
    )
    return list(session.scalars(q))


def same_problem(new: ServiceRequest, old: ServiceRequest) -> str | None:
    """Why ``old`` is the problem ``new`` calls about again, or None."""
    if new.category_id is not None and new.category_id == old.category_id:
        return f"same category {old.category.code if old.category else ''}".strip()
    sim = similarity(
        Weighted.of(f"{new.title}\n{new.text}"), Weighted.of(f"{old.title}\n{old.text}")
    )
    if sim >= THRESHOLD:
        return f"same words ({sim:.2f})"
    return None


def repeats_of(session: Session, req: ServiceRequest) -> list[tuple[ServiceRequest, str]]:
    """Earlier requests of the same caller about the same problem, still unsolved."""
    contact = req.contact
    if contact is None or not contact.phone:
        return []
    since = req.received_at - REPEAT_WINDOW
    out = []
    for old in earlier_requests(session, hashes_of(contact.phone), exclude=req.id):
        if old.received_at < since or not unsolved(old):
            continue
        why = same_problem(req, old)
        if why is not None:
            out.append((old, why))
    return out


@dataclass
class Profile:
    earlier: int = 0
    unsolved: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    masked: bool = False


def profile(
    session: Session, hashes: Sequence[str], *, role: str, exclude: int | None = None
) -> Profile:
    rows = earlier_requests(session, hashes, exclude=exclude)
    flags = open_flags(session, hashes)
    out = Profile(earlier=len(rows), unsolved=sum(unsolved(r) for r in rows))
    full = role in CONTACT_ROLES
    out.masked = not full
    for r in rows if full else []:
        out.history.append(
            {
                "ticket": r.ticket,
                "received_at": r.received_at,
                "title": r.title,
                "status": r.status,
                "unit": r.lead_unit.name if r.lead_unit else None,
                "resolution": r.resolution,
                "satisfaction": r.satisfaction,
                "unsolved": unsolved(r),
            }
        )
    for f in flags:
        item: dict[str, Any] = {
            "kind": f.kind,
            "kind_name": list(FLAG_KINDS.get(f.kind, (f.kind,) * 2)),
        }
        if full:
            item |= {"id": f.id, "reason": f.reason, "ticket": f.request.ticket,
                     "flagged_by": f.flagged_by, "flagged_at": f.flagged_at}  # fmt: skip
        out.flags.append(item)
    return out


def flagged(session: Session, req: ServiceRequest) -> bool:
    """Whether the request's caller has an open flag (for the call-back's priority)."""
    contact = req.contact
    if contact is None or not contact.phone:
        return False
    return bool(open_flags(session, hashes_of(contact.phone)))


PROFILE_READERS = frozenset({"operator", "dispatcher", "supervisor", "analyst", "admin"})


def repeat_payload(session: Session, req: ServiceRequest) -> dict[str, Any] | None:
    return session.scalar(
        select(Event.payload).where(Event.request_id == req.id, Event.kind == "repeat_caller")
    )


def view_for(session: Session, req: ServiceRequest, role: str) -> dict[str, Any] | None:
    """What a request's page shows of its caller for this role (None: nothing)."""
    if role not in PROFILE_READERS:
        return None
    phone = req.contact.phone if req.contact is not None else ""
    p = profile(session, hashes_of(phone), role=role, exclude=req.id)
    repeat = repeat_payload(session, req) or {}
    return {
        "profile": p,
        "repeat_count": int(repeat.get("count", 0)),
        "repeat_of": [] if p.masked else list(repeat.get("earlier", [])),
        "repeat_why": [] if p.masked else list(repeat.get("why", [])),
        "has_phone": bool(phone),
        "kinds": FLAG_KINDS,
    }
