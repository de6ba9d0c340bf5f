"""Tables of the audit: daily digests, reads of personal data, purges and their redactions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from jiesu.db.base import Base


class AuditDigest(Base):
    """One hash over every request's chain head at the end of a day (city time)."""

    __tablename__ = "audit_digests"

    day: Mapped[date] = mapped_column(primary_key=True)
    computed_at: Mapped[datetime]
    request_count: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))


class PersonalDataRead(Base):
    """Someone was shown a caller's contact in full: who, which request, which fields, when,
    where. Append-only, in one hash chain (``seq``, ``prev_hash``) that the daily digests
    anchor, so a read cannot be removed quietly either."""

    __tablename__ = "personal_data_reads"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(24))
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    ticket: Mapped[str] = mapped_column(String(32))
    fields: Mapped[str] = mapped_column(String(64))  # "name,phone,email": what was shown
    purpose: Mapped[str] = mapped_column(String(64))  # where it was shown, e.g. web.call_desk
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class PrivacyPurge(Base):
    """One run of `jiesu privacy purge`: what it removed, for which cutoff, by whom. Sealed
    with a hash over its counts and its redactions, chained to the previous run."""

    __tablename__ = "privacy_purges"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    actor: Mapped[str] = mapped_column(String(100))
    older_than: Mapped[str] = mapped_column(String(16))
    cutoff: Mapped[datetime]
    requests: Mapped[int] = mapped_column(Integer, default=0)
    contacts: Mapped[int] = mapped_column(Integer, default=0)
    texts: Mapped[int] = mapped_column(Integer, default=0)
    events: Mapped[int] = mapped_column(Integer, default=0)
    # Set when the run is sealed (at its end, or by the next run if this one was interrupted).
    interrupted: Mapped[bool] = mapped_column(default=False)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")


class EventRedaction(Base):
    """An event whose free text a purge masked. The event keeps its original hash, so its
    request's chain and the daily digests still verify; its new content is bound to this
    row's hash instead, and this row to the purge's seal."""

    __tablename__ = "event_redactions"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    purge_id: Mapped[int] = mapped_column(ForeignKey("privacy_purges.id"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
