"""Which events tell whom: called where the events happen (``apply_action``, intake, the tick,
the early-warning scan), in the same transaction. Writing a message is only adding an outbox
row; sending is ``delivery.send_due``'s job.

- citizens: accepted (受理, the request is received), replied, closed — by e-mail if their
  contact has one, else SMS, and only if they asked to be answered; the tracking page shows
  the same milestones in any case;
- units: a new request (dispatched, transferred, re-dispatched, a dispute upheld), one back
  for rework (reopened, a dispute rejected), a summons (吹哨), a request nearly overdue;
- supervisors: surges and the other early warnings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.analytics.models import EarlyWarning
from jiesu.city.models import HandlingUnit
from jiesu.notify.models import Notification
from jiesu.privacy.masking import mask_email, mask_phone
from jiesu.workflow.models import Event, ServiceRequest

CITIZEN_EVENTS = {"received": "accepted", "reply": "replied", "close": "closed", "answer": "closed"}
UNIT_NEW = ("dispatch", "transfer", "redispatch", "uphold_dispute")
UNIT_RETURNED = ("reopen", "reject_dispute")
URGENT = ("emergency",)
SUPERVISORS = "supervisors"


def _add(
    session: Session,
    *,
    key: str,
    kind: str,
    recipient_kind: str,
    recipient: str,
    channel: str,
    now: datetime,
    context: dict[str, Any],
    request: ServiceRequest | None = None,
    warning_id: int | None = None,
    address_masked: str = "",
    urgent: bool = False,
) -> Notification | None:
    # The same cause seen again (a retried write, a second scan) does not tell anyone twice.
    with session.no_autoflush:
        if session.scalar(select(Notification.id).where(Notification.dedupe_key == key)):
            return None
    for pending in session.new:
        if isinstance(pending, Notification) and pending.dedupe_key == key:
            return None
    n = Notification(
        dedupe_key=key,
        kind=kind,
        recipient_kind=recipient_kind,
        recipient=recipient,
        channel=channel,
        address_masked=address_masked,
        request_id=request.id if request is not None else None,
        warning_id=warning_id,
        context=context,
        urgent=urgent,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(n)
    return n


def _request_context(req: ServiceRequest) -> dict[str, Any]:
    return {"ticket": req.ticket, "title": req.title}


def _unit_name(session: Session, code: str) -> str:
    unit = session.scalar(select(HandlingUnit).where(HandlingUnit.code == code))
    return unit.name if unit is not None else code


def on_event(session: Session, req: ServiceRequest, event: Event) -> None:
    """The messages ``event`` (just appended to ``req``) causes."""
    if req.synthetic:
        return  # demo and bench history: nobody behind it to tell
    urgent = req.urgency in URGENT
    base = f"{req.ticket}:{event.seq}"
    kind = CITIZEN_EVENTS.get(event.kind)
    if kind is not None:
        _tell_citizen(session, req, event, kind, base, urgent)
    payload = event.payload or {}
    if event.kind in UNIT_NEW or event.kind in UNIT_RETURNED:
        unit = req.lead_unit
        if unit is not None:
            due = req.handling_due.isoformat(timespec="minutes") if req.handling_due else None
            what = "new" if event.kind in UNIT_NEW else "returned"
            _add(
                session,
                key=f"{base}:unit:{unit.code}",
                kind=what,
                recipient_kind="unit",
                recipient=unit.code,
                channel="desk",
                now=event.at,
                request=req,
                urgent=urgent,
                context={
                    **_request_context(req),
                    "unit_name": unit.name,
                    "due": due,
                    "reason": payload.get("reason") or payload.get("note"),
                },
            )
    if event.kind == "whistle":
        by = req.lead_unit.name if req.lead_unit is not None else None
        for code in payload.get("units", []):
            _add(
                session,
                key=f"{base}:unit:{code}",
                kind="whistled",
                recipient_kind="unit",
                recipient=code,
                channel="desk",
                now=event.at,
                request=req,
                urgent=urgent,
                context={
                    **_request_context(req),
                    "unit_name": _unit_name(session, code),
                    "by_unit": by,
                    "due": payload.get("due"),
                    "reason": payload.get("reason"),
                },
            )


def _tell_citizen(
    session: Session, req: ServiceRequest, event: Event, kind: str, base: str, urgent: bool
) -> None:
    contact = req.contact
    if contact is None or not contact.wants_reply:
        return  # nobody to tell, or they asked not to be: the tracking page still shows it
    if contact.email:
        channel, masked = "email", mask_email(contact.email)
    elif contact.phone:
        channel, masked = "sms", mask_phone(contact.phone)
    else:
        return
    payload = event.payload or {}
    context = {**_request_context(req), "text": payload.get("text") or payload.get("note")}
    if kind == "replied" and req.lead_unit is not None:
        context["unit_name"] = req.lead_unit.name
    else:
        context.setdefault("unit_name", None)
    _add(
        session,
        key=f"{base}:citizen",
        kind=kind,
        recipient_kind="citizen",
        recipient="citizen",
        channel=channel,
        now=event.at,
        request=req,
        address_masked=masked,
        urgent=urgent,
        context=context,
    )


def due_soon(session: Session, *, now: datetime, hours: float) -> int:
    """Tell units of their requests due within ``hours`` (once per deadline)."""
    horizon = now + timedelta(hours=hours)
    rows = session.scalars(
        select(ServiceRequest).where(
            ServiceRequest.status.in_(("dispatched", "accepted")),
            ServiceRequest.handling_overdue.is_(False),
            ServiceRequest.handling_due > now,
            ServiceRequest.handling_due <= horizon,
            ServiceRequest.lead_unit_id.is_not(None),
        )
    )
    made = 0
    for req in rows:
        unit = req.lead_unit
        assert unit is not None and req.handling_due is not None
        due = req.handling_due.isoformat(timespec="minutes")
        n = _add(
            session,
            key=f"{req.ticket}:due_soon:{due}",
            kind="due_soon",
            recipient_kind="unit",
            recipient=unit.code,
            channel="desk",
            now=now,
            request=req,
            urgent=req.urgency in URGENT,
            context={**_request_context(req), "unit_name": unit.name, "due": due},
        )
        made += n is not None
    session.flush()
    return made


def remind_unit(
    session: Session, *, key: str, kind: str, unit: str, now: datetime, context: dict[str, Any]
) -> bool:
    """A message to a unit's desk outbox, once per ``key`` (other domains' reminders)."""
    return (
        _add(
            session,
            key=key,
            kind=kind,
            recipient_kind="unit",
            recipient=unit,
            channel="desk",
            now=now,
            context=context,
        )
        is not None
    )


def on_warning(session: Session, warning: EarlyWarning, now: datetime) -> None:
    """Supervisors hear of a new early warning (a surge, or a recurring problem)."""
    what = (
        " / ".join(
            x
            for x in (
                warning.category.name if warning.category else None,
                warning.area.name if warning.area else None,
            )
            if x
        )
        or warning.kind
    )
    kind = "surge" if warning.kind.startswith("surge") else "warning"
    _add(
        session,
        key=f"warning:{warning.key}",
        kind=kind,
        recipient_kind="supervisor",
        recipient=SUPERVISORS,
        channel="desk",
        now=now,
        warning_id=warning.id,
        context={
            "what": what,
            "reason_zh": warning.reason_zh,
            "reason_en": warning.reason_en,
            "observed": warning.observed,
            "expected": warning.expected,
        },
    )
