"""The outbox: every message to be sent, as a row, and every try at sending it.

A message is written in the same transaction as the event that causes it, so an event is never
without its message and a rolled-back action sends nothing. No address is stored in clear: a
citizen's address is read from their (encrypted) contact when the message goes out, and the
row keeps only a masked form of it for the outbox views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jiesu.db.base import Base

RECIPIENT_KINDS = ("citizen", "unit", "supervisor")
CHANNELS = ("email", "sms", "desk")
# pending: waiting for its time; held: in quiet hours; sent; dead: given up (see last_error).
STATUSES = ("pending", "held", "sent", "dead")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # One message per cause: the same event seen twice does not tell anyone twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    recipient_kind: Mapped[str] = mapped_column(String(16))
    # A unit's code, "supervisors", or "citizen" (whose address is their contact's).
    recipient: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    address_masked: Mapped[str] = mapped_column(String(200), default="")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"), index=True)
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("early_warnings.id"))
    # What the templates are filled with (ticket, title, reply text …): rendered when sent.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    gateway: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)


class DeliveryAttempt(Base):
    """One try: when, through which gateway, and what came of it (sent, failed, held)."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    at: Mapped[datetime]
    gateway: Mapped[str] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
