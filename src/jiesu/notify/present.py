"""The outbox as people see it: addresses only masked (they are never stored otherwise) and
personal data said inside a message's words masked too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from jiesu.notify.delivery import attempts_of
from jiesu.notify.models import Notification
from jiesu.privacy.pii import mask_text
from jiesu.workflow.models import ServiceRequest


class AttemptOut(BaseModel):
    at: datetime
    gateway: str
    result: str
    detail: str


class NotificationOut(BaseModel):
    id: int
    kind: str
    recipient_kind: str
    recipient: str
    channel: str
    address: str
    ticket: str | None
    status: str
    urgent: bool
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    gateway: str | None
    subject: str | None
    body: str | None
    last_error: str | None
    tries: list[AttemptOut]


def notification_out(session: Session, n: Notification) -> NotificationOut:
    ticket: Any = None
    if n.request_id is not None:
        req = session.get(ServiceRequest, n.request_id)
        ticket = req.ticket if req is not None else None
    return NotificationOut(
        id=n.id,
        kind=n.kind,
        recipient_kind=n.recipient_kind,
        recipient=n.recipient,
        channel=n.channel,
        address=n.address_masked,
        ticket=ticket,
        status=n.status,
        urgent=n.urgent,
        attempts=n.attempts,
        created_at=n.created_at,
        next_attempt_at=n.next_attempt_at,
        sent_at=n.sent_at,
        gateway=n.gateway,
        subject=mask_text(n.subject) if n.subject else n.subject,
        body=mask_text(n.body) if n.body else n.body,
        last_error=n.last_error,
        tries=[
            AttemptOut(at=a.at, gateway=a.gateway, result=a.result, detail=a.detail)
            for a in attempts_of(session, n)
        ],
    )
