"""Tables of dispatch: catalogue versions, assignments (who held a request, chosen how),
disputes about a dispatch and summons of the whistle (吹哨报到)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiesu.city.models import HandlingUnit
from jiesu.db.base import Base
from jiesu.workflow.models import ServiceRequest

# How a lead unit was chosen: a catalogue rule, the learned router, the district-government
# fallback (区政府兜底), a person (dispatcher, supervisor, a district re-dispatching) or a
# sensor's own routing.
SOURCES = ("rule", "model", "fallback", "manual", "sensor")
# How an assignment ended (NULL while the unit still holds the request).
OUTCOMES = ("returned", "transferred", "redispatched", "reopened", "disputed", "withdrawn")
DISPUTE_STATUSES = ("open", "upheld", "rejected")
SUMMONS_STATUSES = ("summoned", "reported", "cancelled")


class DispatchCatalogue(Base):
    """One version of the dispatch catalogue (派单目录): settings and rules as validated data.
    Versions are never edited: a change makes a new version, so every dispatch can say which
    rules were in force."""

    __tablename__ = "dispatch_catalogues"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    digest: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=False, index=True)


class Assignment(Base):
    """One spell of a request with one lead unit: opened by a dispatch, transfer, re-dispatch
    or reopen to another unit; closed when the request leaves that unit. Return and dispute
    rates per rule and per unit are counts over these rows."""

    __tablename__ = "dispatch_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("handling_units.id"), index=True)
    assisting: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str | None] = mapped_column(String(100), index=True)
    catalogue_version: Mapped[int | None] = mapped_column(Integer)
    confidence: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    mode: Mapped[str] = mapped_column(String(16), default="direct")
    # What the engine would have chosen when a person chose otherwise (disagreement).
    suggested_unit: Mapped[str | None] = mapped_column(String(64))
    accepted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))

    request: Mapped[ServiceRequest] = relationship()
    unit: Mapped[HandlingUnit] = relationship()


class Dispute(Base):
    """A unit contests a dispatch (派单争议); a supervisor upholds it (the request moves) or
    rejects it (it stays), and may change the catalogue with the decision."""

    __tablename__ = "dispatch_disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch_assignments.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("handling_units.id"))
    reason: Mapped[str] = mapped_column(Text)
    proposed_unit_id: Mapped[int | None] = mapped_column(ForeignKey("handling_units.id"))
    opened_at: Mapped[datetime] = mapped_column(index=True)
    opened_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    # The catalogue version made by the decision, when it changed the catalogue.
    catalogue_version: Mapped[int | None] = mapped_column(Integer)

    request: Mapped[ServiceRequest] = relationship()
    unit: Mapped[HandlingUnit] = relationship(foreign_keys=[unit_id])
    proposed_unit: Mapped[HandlingUnit | None] = relationship(foreign_keys=[proposed_unit_id])


class Summons(Base):
    """吹哨报到: a street office summons a department into a shared case; each summoned unit
    must report (accept and act) by its own deadline and is tracked on its own."""

    __tablename__ = "dispatch_summons"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("handling_units.id"), index=True)
    summoned_by_unit_id: Mapped[int | None] = mapped_column(ForeignKey("handling_units.id"))
    reason: Mapped[str] = mapped_column(Text)
    summoned_at: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="summoned", index=True)
    reported_at: Mapped[datetime | None]
    report: Mapped[str] = mapped_column(Text, default="")
    overdue: Mapped[bool] = mapped_column(default=False)

    request: Mapped[ServiceRequest] = relationship()
    unit: Mapped[HandlingUnit] = relationship(foreign_keys=[unit_id])
