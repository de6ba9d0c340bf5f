"""How a one-time code reaches a phone. One small interface, so an SMS gateway can be added
without touching verification; until then the outbox sender keeps each message in
``message_outbox`` (encrypted), where an operator — or the demo — reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.deliberation.models import OutboxMessage

log = structlog.get_logger(__name__)


class CodeSender(Protocol):
    """Delivers a text to a phone number; raises a JiesuError when it cannot."""

    def send(self, session: Session, *, phone: str, text: str, purpose: str, now: datetime) -> None:
        """Hand ``text`` over for delivery to ``phone`` inside the caller's transaction."""


class OutboxSender:
    """Writes the message to the outbox table: delivered when the transaction commits, and
    never when it rolls back, like a real gateway behind a transactional outbox."""

    def send(self, session: Session, *, phone: str, text: str, purpose: str, now: datetime) -> None:
        session.add(
            OutboxMessage(
                channel="sms", purpose=purpose, recipient=phone, body=text, created_at=now
            )
        )
        log.info("deliberation.code.queued", purpose=purpose)  # never the number or the code


def outbox(session: Session, *, limit: int = 20) -> list[OutboxMessage]:
    """The newest messages first."""
    q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(session.scalars(q))
