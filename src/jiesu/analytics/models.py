"""Tables of the analysis that people act on: early warnings (未诉先办) and monthly topics
(每月一题). Counts live in the warehouse; what a supervisor decided lives here, audited."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiesu.city.models import Area, Category
from jiesu.db.base import Base
from jiesu.workflow.models import ServiceRequest

WARNING_KINDS = ("surge_day", "surge_week", "recurring_reopened", "recurring_reported")
WARNING_STATUSES = ("open", "accepted", "dismissed")
TOPIC_STATUSES = ("candidate", "adopted", "dropped")


class EarlyWarning(Base):
    """A break-out or a recurring problem found in the stream, for a supervisor to act on:
    accepting it opens a proactive work order (channel ``proactive``) in the normal loop."""

    __tablename__ = "early_warnings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # kind:category:area:last_day — found again on the next scan, it is the same warning.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date, index=True)
    observed: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float | None] = mapped_column(Float)
    upper: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reason_zh: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_note: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"))

    category: Mapped[Category | None] = relationship()
    area: Mapped[Area | None] = relationship()
    request: Mapped[ServiceRequest | None] = relationship()


class MonthlyTopic(Base):
    """A monthly topic (每月一题) adopted by the city: one hard, common problem to fix at the
    root. Candidates are computed each month; adopting one keeps it here so that its volume
    can be followed month after month."""

    __tablename__ = "monthly_topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # the month it was adopted for
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    title: Mapped[str] = mapped_column(String(300))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="adopted")
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("handling_units.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    adopted_at: Mapped[datetime]
    adopted_by: Mapped[str] = mapped_column(String(100))

    category: Mapped[Category] = relationship()
    area: Mapped[Area | None] = relationship()
