"""The evidence file table: one row per accepted file, pointing at its stored bytes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from jiesu.db.base import Base

# Where in the request's life a file came: with the request, with the unit's reply, with the
# call-back (回访) — which also says who may add it.
STAGES = ("request", "reply", "call_back")


class EvidenceFile(Base):
    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id in URLs: random, so that file ids cannot be counted through.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # image | document
    media_type: Mapped[str] = mapped_column(String(64))
    # The sender's file name, shortened and cleaned: shown, never used as a path.
    name: Mapped[str] = mapped_column(String(200), default="")
    # The file as received: its hash proves what was sent; its bytes are not kept (decision 0014).
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_bytes: Mapped[int] = mapped_column(Integer)
    original_media_type: Mapped[str] = mapped_column(String(64))
    # The file as stored and served (re-encoded for photos).
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    storage: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(100))
    thumb_key: Mapped[str | None] = mapped_column(String(100))
    thumb_sha256: Mapped[str | None] = mapped_column(String(64))
    # What the original carried that the stored copy does not (exif, gps, xmp, icc …).
    removed: Mapped[str] = mapped_column(String(100), default="")
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploader_role: Mapped[str] = mapped_column(String(16))
    # The event seq of the reply or call-back the file went with (None: not yet sent with one).
    action_seq: Mapped[int | None] = mapped_column(Integer)
