"""Tables of the knowledge base: articles and every version of them, synonyms the city
edits, consultations answered at first contact, and self-service feedback."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiesu.city.models import HandlingUnit
from jiesu.db.base import Base

ARTICLE_STATUSES = ("draft", "published", "expired")
BODY_FORMATS = ("markdown", "html", "text")
CONSULTATION_OUTCOMES = ("answered", "no_answer")


class KbArticle(Base):
    """The current version of an article. Editing writes a new ``KbArticleVersion`` and
    copies it here; nothing is overwritten without its predecessor being kept."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # as written (Markdown, HTML or plain text)
    body_format: Mapped[str] = mapped_column(String(16), default="markdown")
    # What is shown: rendered and sanitised once on write, so no page can carry a script.
    body_html: Mapped[str] = mapped_column(Text)
    # The words the search reads: the body without markup.
    plain: Mapped[str] = mapped_column(Text)
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("handling_units.id"), index=True)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(String(500), default="")  # file it was imported from
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    helpful: Mapped[int] = mapped_column(Integer, default=0)
    not_helpful: Mapped[int] = mapped_column(Integer, default=0)

    owner_unit: Mapped[HandlingUnit | None] = relationship()
    versions: Mapped[list[KbArticleVersion]] = relationship(
        back_populates="article", order_by="KbArticleVersion.version"
    )


class KbArticleVersion(Base):
    __tablename__ = "kb_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_format: Mapped[str] = mapped_column(String(16))
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("handling_units.id"))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16))
    edited_at: Mapped[datetime]
    edited_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")

    article: Mapped[KbArticle] = relationship(back_populates="versions")


class KbSynonym(Base):
    """One group of words the search treats as the same (暖气, 供暖, 采暖)."""

    __tablename__ = "kb_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class KbConsultation(Base):
    """A contact answered on the spot (咨询, 直接答复) or left without an answer: counted
    apart from work orders. No contact details are kept, only the question as typed."""

    __tablename__ = "kb_consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    operator: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str | None] = mapped_column(String(32))
    area_code: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16), default="answered", index=True)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="SET NULL"), index=True
    )
    article_version: Mapped[int | None] = mapped_column(Integer)
    # The reply of a past request used as the answer, when that was the source.
    past_ticket: Mapped[str | None] = mapped_column(String(32))
    top_match: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")

    article: Mapped[KbArticle | None] = relationship()


class KbFeedback(Base):
    """ "Did this answer your question?" from self-service, with what was searched."""

    __tablename__ = "kb_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(index=True)
    helpful: Mapped[bool]
    query: Mapped[str] = mapped_column(String(500), default="")
    channel: Mapped[str] = mapped_column(String(16), default="web")
