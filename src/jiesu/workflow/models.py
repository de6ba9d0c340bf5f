"""Tables of the work order: the request (诉求/工单), its caller's contact and its event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.db.base import Base
from jiesu.privacy.columns import Encrypted
from jiesu.privacy.contacts import seal_changed, seal_new

# "proactive": a work order the city opened itself from an early warning (未诉先办).
CHANNELS = (
    "phone",
    "web",
    "app",
    "wechat",
    "open311",
    "import",
    "sensor",
    "email",
    "proactive",
    "other",
)

request_assisting_units = Table(
    "request_assisting_units",
    Base.metadata,
    Column("request_id", ForeignKey("service_requests.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("handling_units.id"), primary_key=True),
)


class ServiceRequest(Base):
    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_service_requests_status_received", "status", "received_at"),
        Index("ix_service_requests_unit_status", "lead_unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(500), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # Answers to the category's intake questions (Open311 attributes) and a photo link.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    media_url: Mapped[str] = mapped_column(String(1000), default="")
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    category_confidence: Mapped[float | None] = mapped_column(Float)
    category_confirmed: Mapped[bool] = mapped_column(default=False)
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("handling_units.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id"), index=True
    )
    # Callers behind this issue: 1 + the requests merged into it (热度).
    heat: Mapped[int] = mapped_column(Integer, default=1)
    # Explainable urgency score 0–100 and a weak sentiment signal −1…1, set at intake.
    urgency_score: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[float | None] = mapped_column(Float)
    dispatched_at: Mapped[datetime | None]
    response_due: Mapped[datetime | None]
    handling_due: Mapped[datetime | None] = mapped_column(index=True)
    accepted_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    response_overdue: Mapped[bool] = mapped_column(default=False)
    handling_overdue: Mapped[bool] = mapped_column(default=False)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    solved: Mapped[bool | None]
    satisfaction: Mapped[str | None] = mapped_column(String(16))
    # The caller's answer at call-back: solved | partly | unsolved (``solved`` keeps the yes/no).
    resolution: Mapped[str | None] = mapped_column(String(16))
    # Idempotency key of the channel (e.g. an import row id or an Open311 token): one request each.
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    synthetic: Mapped[bool] = mapped_column(default=False)
    # Head of the audit chain: lets `audit verify` notice a deleted last event.
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    chain_head: Mapped[str] = mapped_column(String(64), default="")
    # Indexed: the warehouse's incremental refresh asks for the rows changed since a time.
    updated_at: Mapped[datetime] = mapped_column(index=True)
    # When `jiesu privacy purge` removed the personal data (the anonymised case stays).
    purged_at: Mapped[datetime | None]

    area: Mapped[Area | None] = relationship()
    category: Mapped[Category | None] = relationship()
    lead_unit: Mapped[HandlingUnit | None] = relationship(foreign_keys=[lead_unit_id])
    assisting_units: Mapped[list[HandlingUnit]] = relationship(secondary=request_assisting_units)
    duplicate_of: Mapped[ServiceRequest | None] = relationship(remote_side="ServiceRequest.id")
    contact: Mapped[Contact | None] = relationship(back_populates="request", uselist=False)


class Contact(Base):
    """The caller's personal data, kept apart from the request so it can be masked and guarded,
    and encrypted at rest (privacy/crypto.py): the database holds no name or number in clear."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(Encrypted("contacts.name"), default="")
    phone: Mapped[str] = mapped_column(Encrypted("contacts.phone"), default="")
    email: Mapped[str] = mapped_column(Encrypted("contacts.email"), default="")
    wants_reply: Mapped[bool] = mapped_column(default=True)
    # Blind index of the phone (HMAC of its digits): repeat callers are found without
    # decrypting anyone. Set on every write, like key_id, by the hooks below.
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # The oldest key a field of this row may be under: what `privacy rotate-key` replaces.
    key_id: Mapped[str] = mapped_column(String(16), default="", index=True)

    request: Mapped[ServiceRequest] = relationship(back_populates="contact")


event.listen(Contact, "before_insert", seal_new)
event.listen(Contact, "before_update", seal_changed)


class Event(Base):
    """Append-only history; each row hashes the previous row of the same request."""

    __tablename__ = "events"
    __table_args__ = (Index("uq_events_request_seq", "request_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
