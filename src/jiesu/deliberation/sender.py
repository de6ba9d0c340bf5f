"""How a one-time code reaches a phone. One small interface, so an SMS gateway can be added
without touching verification; until then the outbox sender keeps each message in
``message_outbox`` (encrypted), where an operator — or the demo — reads it."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.deliberation.models import OutboxMessage
from jiesu.errors import JiesuError
from jiesu.intake.open311.limits import RateLimiter

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


class TooManyCodes(JiesuError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many codes asked for from this address: retry after {retry_after} second(s)",
            fields=[{"field": "phone", "problem": "too many codes from this address"}],
            retry_after=retry_after,
        )


def check_address(limiter: RateLimiter, address: str, per_minute: int) -> None:
    """Each address asks for so many codes a minute: texts cost the city money and reach
    people who did not ask, so one place cannot send them to many phones."""
    wait = limiter.take(f"consult-code:{address}", per_minute)
    if wait is not None:
        raise TooManyCodes(max(1, math.ceil(wait)))


def outbox(session: Session, *, limit: int = 20) -> list[OutboxMessage]:
    """The newest messages first."""
    q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(session.scalars(q))
