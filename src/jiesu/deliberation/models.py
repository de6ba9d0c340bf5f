"""Tables of deliberation (议事): a consultation, its options and proposals, comments, votes,
the one-time codes that verify a phone, the outbox those codes leave by, and the work orders
that carry a decision out.

Participants are never stored by name, phone or account: a vote, proposal or comment carries a
*participant key*, a keyed hash of who they are made for this one consultation
(``participants.participant_key``), so a reader of the database can neither find a person's
vote nor join votes of two consultations or a vote to a caller's contact row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiesu.city.models import Area, Category
from jiesu.db.base import Base
from jiesu.privacy.columns import Encrypted
from jiesu.workflow.models import ServiceRequest

KINDS = ("poll", "proposals", "survey")
SUBJECTS = ("hot_issue", "monthly_topic", "early_warning", "community")
METHODS = ("phone", "ticket", "account")


class Consultation(Base):
    """One question put to the people of a place, from opening to a decision."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # poll | proposals | survey
    subject: Mapped[str] = mapped_column(String(16))  # what it is about (SUBJECTS)
    subject_ref: Mapped[str] = mapped_column(String(100), default="")
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    methods: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A survey's questions, in order (an option's ``question`` is its index); a poll or a
    # call for proposals asks only ``question`` and has none here.
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The data key whose blind-index key makes this consultation's participant keys: fixed
    # when it opens, so that a key added during the consultation does not let anyone vote twice.
    key_id: Mapped[str] = mapped_column(String(16), default="")
    # Computed from the requests when it opened (counts, rates, masked samples): kept, so the
    # background people read stays the one the decision was taken on.
    background: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision: Mapped[str | None] = mapped_column(Text)
    decision_reasons: Mapped[str | None] = mapped_column(Text)
    # The chosen option (checked to be one of this consultation's by the service; no foreign
    # key, which would make the two tables refer to each other).
    decision_option_id: Mapped[int | None] = mapped_column(Integer)

    area: Mapped[Area] = relationship()
    category: Mapped[Category | None] = relationship()
    options: Mapped[list[ConsultationOption]] = relationship(
        back_populates="consultation",
        foreign_keys="ConsultationOption.consultation_id",
        order_by="ConsultationOption.id",
    )


class ConsultationOption(Base):
    """A choice of a poll, or a proposal a participant made (``author_key`` set)."""

    __tablename__ = "consultation_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    question: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    label: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    author_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    hidden_by: Mapped[str | None] = mapped_column(String(100))
    hidden_at: Mapped[datetime | None]

    consultation: Mapped[Consultation] = relationship(
        back_populates="options", foreign_keys=[consultation_id]
    )


class ConsultationComment(Base):
    __tablename__ = "consultation_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    option_id: Mapped[int | None] = mapped_column(ForeignKey("consultation_options.id"))
    author_key: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # masked (privacy/pii) before it is stored
    created_at: Mapped[datetime]
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    hidden_by: Mapped[str | None] = mapped_column(String(100))
    hidden_at: Mapped[datetime | None]


class ConsultationVote(Base):
    """One person, one vote (in a survey: one answer to each question): the unique constraint
    refuses a second one even when two arrive at the same instant."""

    __tablename__ = "consultation_votes"
    __table_args__ = (
        UniqueConstraint(
            "consultation_id", "participant_key", "question", name="uq_consultation_votes_once"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("consultation_options.id"))
    participant_key: Mapped[str] = mapped_column(String(64))
    question: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    method: Mapped[str] = mapped_column(String(16))
    cast_at: Mapped[datetime]


class VerificationCode(Base):
    """A one-time code sent to a phone; only its keyed hash is kept."""

    __tablename__ = "consultation_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    participant_key: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A text message waiting for a gateway: the outbox sender writes here, so codes can be
    read by an operator (or a test) until an SMS gateway is configured. Encrypted like a
    caller's contact: the number and the code are personal and secret."""

    __tablename__ = "message_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    purpose: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(Encrypted("message_outbox.recipient"))
    body: Mapped[str] = mapped_column(Encrypted("message_outbox.body"))
    created_at: Mapped[datetime] = mapped_column(index=True)


class ConsultationWorkOrder(Base):
    """A work order that carries a decision out: its progress is the request's own status."""

    __tablename__ = "consultation_work_orders"
    __table_args__ = (
        UniqueConstraint("consultation_id", "request_id", name="uq_consultation_work_orders"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"))
    created: Mapped[bool] = mapped_column(default=False)  # opened from the decision
    linked_at: Mapped[datetime]
    linked_by: Mapped[str] = mapped_column(String(100))

    request: Mapped[ServiceRequest] = relationship()
