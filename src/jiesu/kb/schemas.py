"""API shapes of the knowledge base."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BodyFormat = Literal["markdown", "html", "text"]
EditableStatus = Literal["draft", "published"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ArticleIn(_Body):
    title: str = Field(..., min_length=1, max_length=200)
    body: str = Field(..., min_length=1, max_length=200_000)
    body_format: BodyFormat = "markdown"
    owner_unit: str | None = Field(None, max_length=64, description="handling unit code")
    categories: list[str] = Field(default_factory=list, max_length=50)
    areas: list[str] = Field(default_factory=list, max_length=50)
    valid_from: date | None = None
    valid_until: date | None = None
    status: EditableStatus = "draft"
    note: str = Field("", max_length=2_000, description="what changed, kept with the version")


class ArticleOut(BaseModel):
    id: int
    title: str
    body_html: str = Field(description="sanitised HTML, safe to show")
    owner_unit: str | None
    owner_unit_name: str | None
    categories: list[str]
    areas: list[str]
    valid_from: date | None
    valid_until: date | None
    status: str
    version: int
    updated_at: datetime
    helpful: int
    not_helpful: int


class ArticleHitOut(BaseModel):
    id: int
    title: str
    snippet: str
    owner_unit_name: str | None
    updated_on: date
    valid_until: date | None
    score: float = Field(description="BM25: ranks the hits of one search")
    match: float = Field(description="share of the question found in the article, 0–1")


class PastAnswerOut(BaseModel):
    ticket: str
    title: str
    reply: str = Field(description="the unit's published reply, personal data masked")
    unit: str | None
    replied_on: date
    score: float
    match: float


class SearchOut(BaseModel):
    query: str
    articles: list[ArticleHitOut]
    past_answers: list[PastAnswerOut] = Field(default_factory=list)
    took_ms: float


class FeedbackIn(_Body):
    helpful: bool
    query: str = Field("", max_length=500)


class FeedbackOut(BaseModel):
    article_id: int
    helpful: int
    not_helpful: int
