"""API shapes of evidence files."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class EvidenceOut(BaseModel):
    id: str = Field(description="the file's id in URLs")
    stage: str = Field(description="request | reply | call_back")
    kind: str = Field(description="image | document")
    name: str = Field(description="the sender's file name (shown only)")
    media_type: str
    bytes: int
    sha256: str = Field(description="SHA-256 of the stored (served) bytes")
    original_sha256: str = Field(description="SHA-256 of the file as received")
    width: int | None = None
    height: int | None = None
    removed: list[str] = Field(description="metadata the original carried and the copy does not")
    uploaded_at: datetime
    uploaded_by: str
    action_seq: int | None = Field(None, description="the reply or call-back event it went with")
    url: str
    thumbnail_url: str | None = None
