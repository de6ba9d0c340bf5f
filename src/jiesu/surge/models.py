"""Tables of surge mode: declared events, their master case per area, and the callers attached.

An event's own steps (declared, rules on and off, bulk replies, ended) are events in the audit
chain of its master cases; attaching a caller is an event in both the caller's chain and the
master case's. These tables say which request belongs to what; the chains say what happened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiesu.city.models import Area
from jiesu.db.base import Base
from jiesu.workflow.models import ServiceRequest

EVENT_KINDS: dict[str, tuple[str, str]] = {
    "rainstorm": ("暴雨", "rainstorm"),
    "cold_wave": ("寒潮", "cold wave"),
    "heat_wave": ("高温", "heat wave"),
    "snowstorm": ("暴雪", "snowstorm"),
    "typhoon": ("台风", "typhoon"),
    "flood": ("洪涝", "flood"),
    "power_outage": ("停电", "power outage"),
    "water_outage": ("停水", "water outage"),
    "heating_outage": ("停暖", "heating outage"),
    "gas_outage": ("停气", "gas outage"),
    "public_health": ("公共卫生", "public health"),
    "other": ("其他", "other"),
}


class SurgeEvent(Base):
    """A declared event (突发事件) over some areas for a time span, with its temporary rules."""

    __tablename__ = "surge_events"
    __table_args__ = (Index("ix_surge_events_span", "ended_at", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # What a new request must say (any keyword) or be (any category, subtrees included).
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What the operator reads out to a caller while the event lasts (口径).
    script: Mapped[str] = mapped_column(Text, default="")
    # Temporary time limits for the event's requests ("24h", "2d", "3wd"); None: the usual.
    response_limit: Mapped[str | None] = mapped_column(String(16))
    handling_limit: Mapped[str | None] = mapped_column(String(16))
    # Temporary dispatch rules in the catalogue's own form, tried before the active catalogue.
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    auto_dispatch: Mapped[bool] = mapped_column(default=True)
    declared_at: Mapped[datetime]
    declared_by: Mapped[str] = mapped_column(String(100))
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(100))
    # "declared" (a person ended it) or "end_time" (the schedule ended it at its end time).
    end_reason: Mapped[str | None] = mapped_column(String(16))
    end_note: Mapped[str] = mapped_column(Text, default="")
    # The event's report, produced when it ends and kept: JSON numbers and the HTML page.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report_html: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]

    cases: Mapped[list[SurgeCase]] = relationship(
        back_populates="event", order_by="SurgeCase.id", cascade="all, delete-orphan"
    )


class SurgeCase(Base):
    """The master case of an event in one of its areas: a work order the city opened itself
    (channel ``proactive``) that the callers of that area are attached to."""

    __tablename__ = "surge_cases"
    __table_args__ = (UniqueConstraint("event_id", "area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("surge_events.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), unique=True)

    event: Mapped[SurgeEvent] = relationship(back_populates="cases")
    area: Mapped[Area] = relationship()
    request: Mapped[ServiceRequest] = relationship()


class SurgeAttachment(Base):
    """One caller's request attached to a master case; the request keeps its own ticket,
    deadlines, call-back and rating."""

    __tablename__ = "surge_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("surge_events.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("surge_cases.id"), index=True)
    # One event per request: a request that two events could take goes to one (match.pick).
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), unique=True)
    attached_at: Mapped[datetime] = mapped_column(index=True)
    attached_by: Mapped[str] = mapped_column(String(100))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)

    case: Mapped[SurgeCase] = relationship()
    request: Mapped[ServiceRequest] = relationship()
