"""Tables of the audit chain's daily digests."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from jiesu.db.base import Base


class AuditDigest(Base):
    """One hash over every request's chain head at the end of a day (city time)."""

    __tablename__ = "audit_digests"

    day: Mapped[date] = mapped_column(primary_key=True)
    computed_at: Mapped[datetime]
    request_count: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
