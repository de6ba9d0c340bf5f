"""Articles and hits in the shapes the API and the pages show."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category
from jiesu.city.service import city_context
from jiesu.kb.models import KbArticle
from jiesu.kb.past import PastHit
from jiesu.kb.schemas import ArticleHitOut, ArticleOut, PastAnswerOut
from jiesu.kb.search import ArticleHit


def today_in_city(session: Session, now: datetime) -> date:
    return now.astimezone(city_context(session).tz).date()


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def article_out(a: KbArticle) -> ArticleOut:
    unit = a.owner_unit
    return ArticleOut(
        id=a.id,
        title=a.title,
        body_html=a.body_html,
        owner_unit=unit.code if unit else None,
        owner_unit_name=unit.name if unit else None,
        categories=list(a.categories or []),
        areas=list(a.areas or []),
        valid_from=a.valid_from,
        valid_until=a.valid_until,
        status=a.status,
        version=a.version,
        updated_at=_utc(a.updated_at),
        helpful=a.helpful,
        not_helpful=a.not_helpful,
    )


def hit_out(h: ArticleHit) -> ArticleHitOut:
    a = h.article
    return ArticleHitOut(
        id=a.id,
        title=a.title,
        snippet=h.snippet,
        owner_unit_name=a.owner_unit_name,
        updated_on=a.updated_on,
        valid_until=a.valid_until,
        score=round(h.score, 3),
        match=round(h.match, 3),
    )


def past_out(h: PastHit, tz: ZoneInfo) -> PastAnswerOut:
    p = h.past
    return PastAnswerOut(
        ticket=p.ticket,
        title=p.title,
        reply=h.snippet,
        unit=p.unit,
        replied_on=p.replied_on,
        score=round(h.score, 3),
        match=round(h.match, 3),
    )


def paths_for(
    session: Session, category: str | None, area: str | None
) -> tuple[str | None, str | None]:
    """The materialised paths of a category and an area given by code; unknown codes (a
    half-typed one at the desk) count as not given."""
    cat = (
        session.scalar(select(Category.path).where(Category.code == category)) if category else None
    )
    place = session.scalar(select(Area.path).where(Area.code == area)) if area else None
    return cat, place
