"""The public view of a request: what a citizen may see with only the ticket number.

No contact data, no internal notes, no return reasons or operator remarks — only milestones
and the unit's answer to the citizen, so a ticket number that leaks exposes nobody. The free
text that is shown (the title, the unit's answer) has its personal data masked
(``privacy.pii``): a phone number or plate said on the call stays out of the public view.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.privacy.pii import mask_cut_text, mask_text
from jiesu.workflow.models import Event, ServiceRequest


def track_code(ticket: str, secret: str) -> str:
    """The private part of a tracking link: only someone given the link can open it (and
    the proof, with the ticket, that one is the request's caller)."""
    return hmac.new(secret.encode(), b"track:" + ticket.encode(), hashlib.sha256).hexdigest()[:20]


# Event kinds a citizen sees, with plain-language labels (zh, en).
MILESTONES: dict[str, tuple[str, str]] = {
    "received": ("已受理", "received"),
    "dispatch": ("已派单至承办单位", "sent to the handling unit"),
    "transfer": ("已转派", "transferred to another unit"),
    "redispatch": ("已转派", "transferred to another unit"),
    "uphold_dispute": ("已转派", "transferred to another unit"),
    "whistle": ("已协调相关部门共同办理", "other departments were called in"),
    "return": ("重新派单中", "being re-dispatched"),
    "accept": ("承办单位已签收", "accepted by the unit"),
    "reply": ("承办单位已答复", "the unit replied"),
    "call_back": ("已回访", "called back"),
    "answer": ("已直接答复", "answered at first contact"),
    "close": ("已办结", "closed"),
    "reopen": ("重新办理", "reopened"),
    "merge": ("与相同诉求合并办理", "merged with the same request"),
    "confirm_invalid": ("经审核不予受理", "not accepted after review"),
    "history_dispatch": ("已派单至承办单位", "sent to the handling unit"),
    "history_reply": ("承办单位已答复", "the unit replied"),
    "history_close": ("已办结", "closed"),
}
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "received": ("已受理", "received"),
    "dispatched": ("办理中", "in progress"),
    "accepted": ("办理中", "in progress"),
    "returned": ("重新派单中", "being re-dispatched"),
    "replied": ("已答复，待回访", "answered, awaiting call-back"),
    "called_back": ("已回访", "called back"),
    "closed": ("已办结", "closed"),
    "answered": ("已直接答复", "answered"),
    "invalid_pending": ("审核中", "under review"),
    "invalid": ("不予受理", "not accepted"),
    "merged": ("已合并", "merged"),
}


class Milestone(BaseModel):
    at: datetime
    kind: str
    label: str
    label_en: str
    unit: str | None = None
    text: str | None = None


class PublicRequest(BaseModel):
    ticket: str
    status: str
    status_label: str
    status_label_en: str
    received_at: datetime
    title: str
    category: str | None
    area: str | None
    unit: str | None
    handling_due: datetime | None
    closed_at: datetime | None
    duplicate_of: str | None
    timeline: list[Milestone]


def _milestone(event: Event, tz: ZoneInfo) -> Milestone | None:
    labels = MILESTONES.get(event.kind)
    if labels is None:
        return None
    p = event.payload or {}
    occurred = p.get("occurred_at")
    at = datetime.fromisoformat(occurred) if isinstance(occurred, str) else event.at
    text = p.get("text") if event.kind in ("reply", "history_reply", "answer") else None
    text = mask_text(str(text)) if text else None
    unit = (
        p.get("unit_name")
        if event.kind
        in ("dispatch", "transfer", "redispatch", "uphold_dispute", "history_dispatch")
        else None
    )
    return Milestone(at=at.astimezone(tz), kind=event.kind, label=labels[0],
                     label_en=labels[1], unit=unit, text=text)  # fmt: skip


def public_view(session: Session, req: ServiceRequest, tz: ZoneInfo) -> PublicRequest:
    events = session.scalars(select(Event).where(Event.request_id == req.id).order_by(Event.seq))
    status = STATUS_LABELS.get(req.status, (req.status, req.status))
    return PublicRequest(
        ticket=req.ticket,
        status=req.status,
        status_label=status[0],
        status_label_en=status[1],
        received_at=req.received_at.astimezone(tz),
        title=mask_cut_text(req.title),
        category=req.category.name if req.category else None,
        area=req.area.name if req.area else None,
        unit=req.lead_unit.name if req.lead_unit else None,
        handling_due=req.handling_due.astimezone(tz) if req.handling_due else None,
        closed_at=req.closed_at.astimezone(tz) if req.closed_at else None,
        duplicate_of=req.duplicate_of.ticket if req.duplicate_of else None,
        timeline=[m for e in events if (m := _milestone(e, tz)) is not None],
    )
