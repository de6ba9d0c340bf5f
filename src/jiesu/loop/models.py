"""Tables of the loop: call-back tasks and their attempts, requests to exclude from scoring."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiesu.db.base import Base
from jiesu.workflow.models import ServiceRequest

CALLBACK_STATUSES = ("open", "done", "unreachable", "cancelled")
EXCLUSION_STATUSES = ("pending", "approved", "refused")


class CallbackTask(Base):
    """One call-back owed to the caller(s) of a request for one reply cycle: created when the
    unit replies (or the deadline passes without a reply), closed by an answer, by running out
    of attempts (unreachable: counted apart, not in the satisfaction denominator) or by the
    request being reopened or merged."""

    __tablename__ = "callback_tasks"
    __table_args__ = (UniqueConstraint("request_id", "cycle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    # The request's reopen_count when the task was made: one call-back per handling cycle.
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(index=True)
    due_at: Mapped[datetime | None]
    priority: Mapped[int] = mapped_column(Integer, default=0, index=True)
    priority_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None]
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A private link lets an online caller answer from the tracking page; only its hash is kept.
    link_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_expires_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answer_channel: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime]

    request: Mapped[ServiceRequest] = relationship()
    tries: Mapped[list[CallbackAttempt]] = relationship(
        back_populates="task", order_by="CallbackAttempt.id"
    )


class CallbackAttempt(Base):
    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("callback_tasks.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    reached: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")

    task: Mapped[CallbackTask] = relationship(back_populates="tries")


class ScoringExclusion(Base):
    """A unit's request to leave a request out of its rates (不合理诉求), with reason and
    evidence, and a supervisor's decision. The request stays visible and is reported apart."""

    __tablename__ = "scoring_exclusions"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requested_by: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("handling_units.id"))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[ServiceRequest] = relationship()
