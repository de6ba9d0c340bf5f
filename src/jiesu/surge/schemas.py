"""API shapes of surge mode."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jiesu.surge.models import EVENT_KINDS

MAX_WORDS = 50


class EventIn(BaseModel):
    """A declaration: what happened, where, when, how to recognise its callers, and the
    temporary rules for them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(..., min_length=1, max_length=200, description="e.g. 2026年11月寒潮")
    kind: str = Field(..., description=f"one of: {', '.join(EVENT_KINDS)}")
    areas: list[str] = Field(
        ..., max_length=100, description="area codes or exact names from the city's area tree"
    )
    starts_at: AwareDatetime | None = Field(None, description="ISO 8601; default now")
    ends_at: AwareDatetime = Field(..., description="ISO 8601 with a time zone")
    keywords: list[str] = Field(default_factory=list, max_length=MAX_WORDS)
    categories: list[str] = Field(
        default_factory=list, max_length=MAX_WORDS, description="category codes or exact names"
    )
    script: str = Field("", max_length=5000, description="what operators tell callers (口径)")
    response_limit: str | None = Field(None, description="temporary response limit, e.g. 2h")
    handling_limit: str | None = Field(None, description="temporary handling limit, e.g. 24h")
    rules: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=100,
        description="temporary dispatch rules, written like the dispatch catalogue's",
    )
    auto_dispatch: bool = Field(True, description="dispatch the event's requests at intake")


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str = Field("", max_length=5000)


class BulkReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(..., min_length=1, max_length=10_000)
    area: str | None = Field(None, description="only the master case of this declared area")


class CaseOut(BaseModel):
    area: str
    area_name: str
    master: str = Field(description="the master case's ticket")
    status: str
    callers: int


class EventOut(BaseModel):
    id: int
    name: str
    kind: str
    status: str = Field(description="scheduled | active | ended")
    starts_at: datetime
    ends_at: datetime
    keywords: list[str]
    categories: list[str]
    script: str
    response_limit: str | None
    handling_limit: str | None
    rules: list[dict[str, Any]]
    auto_dispatch: bool
    declared_at: datetime
    declared_by: str
    ended_at: datetime | None
    ended_by: str | None
    end_reason: str | None
    cases: list[CaseOut]
    warnings: list[str] = Field(default_factory=list)


class SkippedOut(BaseModel):
    ticket: str
    reason: str


class BulkReplyOut(BaseModel):
    replied: list[str]
    skipped: list[SkippedOut]


class ScriptOut(BaseModel):
    event: int
    name: str
    kind: str
    script: str
    why: list[str]
