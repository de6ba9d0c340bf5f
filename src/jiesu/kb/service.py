"""Articles: write a version, publish, expire, and who may edit which.

Every change is a new ``KbArticleVersion`` (the article row is the latest one, copied), so an
answer an operator gave last month can be read as it stood then. Handlers edit only the
articles their unit owns; supervisors and admins edit all. The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import HandlingUnit
from jiesu.city.service import find_area, find_category, find_unit
from jiesu.errors import BadInput, Forbidden, NotFound
from jiesu.kb.markup import to_html, to_plain
from jiesu.kb.models import KbArticle, KbArticleVersion, KbFeedback
from jiesu.kb.schemas import ArticleIn
from jiesu.people.service import Actor
from jiesu.privacy.pii import mask_text

log = structlog.get_logger()
EDITORS = ("admin", "supervisor", "handler")
# An owner unit is reminded this many days before its article runs out.
EXPIRING_DAYS = 30


@dataclass
class ArticleFields:
    """An article's content as checked: the one shape the API, the desk and the importer
    write through."""

    title: str
    body: str
    body_format: str = "markdown"
    owner_unit: str | None = None
    categories: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)
    valid_from: date | None = None
    valid_until: date | None = None
    status: str = "draft"
    note: str = ""

    @classmethod
    def of(cls, data: ArticleIn) -> ArticleFields:
        return cls(**data.model_dump())


def may_edit(actor: Actor, article: KbArticle | None = None) -> bool:
    if actor.role in ("admin", "supervisor"):
        return True
    if actor.role != "handler" or actor.unit_id is None:
        return False
    return article is None or article.owner_unit_id == actor.unit_id


def _check(session: Session, f: ArticleFields, actor: Actor) -> HandlingUnit | None:
    if not f.title.strip():
        raise BadInput("title", "an article needs a title")
    if len(f.title) > 200:
        raise BadInput("title", "at most 200 characters")
    if not f.body.strip():
        raise BadInput("body", "an article needs a body")
    if f.status not in ("draft", "published"):
        raise BadInput("status", "must be draft or published (expired follows the dates)")
    if f.valid_from and f.valid_until and f.valid_until < f.valid_from:
        raise BadInput("valid_until", "ends before it starts (valid_from)")
    f.categories = [find_category(session, c, "categories").code for c in _unique(f.categories)]
    f.areas = [find_area(session, a, "areas").code for a in _unique(f.areas)]
    unit = find_unit(session, f.owner_unit, "owner_unit") if f.owner_unit else None
    if actor.role == "handler":
        if unit is None:
            unit = session.get(HandlingUnit, actor.unit_id) if actor.unit_id else None
        if unit is None or unit.id != actor.unit_id:
            raise Forbidden("a unit's handler writes only the articles of the own unit")
    return unit


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def _status_on(f: ArticleFields, today: date) -> str:
    if f.status == "published" and f.valid_until is not None and f.valid_until < today:
        return "expired"
    return f.status


def _apply(a: KbArticle, f: ArticleFields, unit: HandlingUnit | None, today: date) -> None:
    safe = to_html(f.body, f.body_format)
    a.title, a.body, a.body_format = f.title.strip(), f.body, f.body_format
    a.body_html, a.plain = safe, to_plain(safe)
    a.owner_unit_id = unit.id if unit else None
    a.categories, a.areas = f.categories, f.areas
    a.valid_from, a.valid_until = f.valid_from, f.valid_until
    a.status = _status_on(f, today)


def _version(a: KbArticle, actor: Actor, now: datetime, note: str) -> KbArticleVersion:
    return KbArticleVersion(
        article_id=a.id,
        version=a.version,
        title=a.title,
        body=a.body,
        body_format=a.body_format,
        owner_unit_id=a.owner_unit_id,
        categories=list(a.categories),
        areas=list(a.areas),
        valid_from=a.valid_from,
        valid_until=a.valid_until,
        status=a.status,
        edited_at=now,
        edited_by=actor.name,
        note=note,
    )


def create_article(
    session: Session,
    f: ArticleFields,
    *,
    actor: Actor,
    now: datetime,
    today: date,
    source: str = "",
) -> KbArticle:
    if not may_edit(actor):
        raise Forbidden(f"this needs one of the roles {', '.join(EDITORS)}; you are {actor.role}")
    unit = _check(session, f, actor)
    a = KbArticle(created_at=now, updated_at=now, updated_by=actor.name, version=1, source=source)
    _apply(a, f, unit, today)
    session.add(a)
    session.flush()
    session.add(_version(a, actor, now, f.note or "created"))
    session.flush()
    log.info("kb.article.created", article_id=a.id, status=a.status, actor=actor.name)
    return a


def update_article(
    session: Session,
    a: KbArticle,
    f: ArticleFields,
    *,
    actor: Actor,
    now: datetime,
    today: date,
) -> KbArticle:
    """A new version; an unchanged submission writes nothing (importing twice is harmless)."""
    if not may_edit(actor, a):
        raise Forbidden("only the owner unit's handlers, supervisors and admins edit this")
    unit = _check(session, f, actor)
    before = _snapshot(a)
    _apply(a, f, unit, today)
    if _snapshot(a) == before:
        return a
    a.version += 1
    a.updated_at, a.updated_by = now, actor.name
    session.add(_version(a, actor, now, f.note))
    session.flush()
    log.info("kb.article.updated", article_id=a.id, version=a.version, actor=actor.name)
    return a


def _snapshot(a: KbArticle) -> tuple[object, ...]:
    return (
        a.title, a.body, a.body_format, a.owner_unit_id, list(a.categories or []),
        list(a.areas or []), a.valid_from, a.valid_until, a.status,
    )  # fmt: skip


def get_article(session: Session, article_id: int) -> KbArticle:
    a = session.get(KbArticle, article_id)
    if a is None:
        raise NotFound(f"no article {article_id}")
    return a


def public_article(session: Session, article_id: int, today: date) -> KbArticle:
    """A published article in force; drafts and expired ones do not exist for the public."""
    a = session.get(KbArticle, article_id)
    if a is None or not in_force(a, today):
        raise NotFound(f"no published article {article_id}")
    return a


def in_force(a: KbArticle, today: date) -> bool:
    return (
        a.status == "published"
        and (a.valid_from is None or a.valid_from <= today)
        and (a.valid_until is None or a.valid_until >= today)
    )


def get_version(session: Session, article_id: int, version: int) -> KbArticleVersion:
    v = session.scalar(
        select(KbArticleVersion).where(
            KbArticleVersion.article_id == article_id, KbArticleVersion.version == version
        )
    )
    if v is None:
        raise NotFound(f"article {article_id} has no version {version}")
    return v


def list_articles(
    session: Session,
    *,
    status: str | None = None,
    unit_id: int | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[KbArticle]:
    q = select(KbArticle).order_by(KbArticle.updated_at.desc(), KbArticle.id.desc())
    if status:
        q = q.where(KbArticle.status == status)
    if unit_id is not None:
        q = q.where(KbArticle.owner_unit_id == unit_id)
    return list(session.scalars(q.limit(limit).offset(offset)))


def expire_articles(session: Session, today: date) -> int:
    """Published articles past their last day become expired (the tick runs this); the
    search already hides them from that day on, whether or not this has run."""
    rows = session.scalars(
        select(KbArticle).where(KbArticle.status == "published", KbArticle.valid_until < today)
    ).all()
    for a in rows:
        a.status = "expired"
    if rows:
        session.flush()
        log.info("kb.articles.expired", count=len(rows))
    return len(rows)


@dataclass(frozen=True)
class Expiring:
    unit: str
    unit_name: str
    article_id: int
    title: str
    valid_until: date
    days_left: int  # negative: expired that many days ago


def expiring(
    session: Session, today: date, *, days: int = EXPIRING_DAYS, unit_id: int | None = None
) -> list[Expiring]:
    """Articles that ran out or run out within ``days``, by owner unit: the reminder list."""
    q = (
        select(KbArticle, HandlingUnit)
        .outerjoin(HandlingUnit, HandlingUnit.id == KbArticle.owner_unit_id)
        .where(
            KbArticle.valid_until.is_not(None),
            KbArticle.valid_until <= date.fromordinal(today.toordinal() + days),
            KbArticle.status.in_(("published", "expired")),
        )
        .order_by(HandlingUnit.code, KbArticle.valid_until)
    )
    if unit_id is not None:
        q = q.where(KbArticle.owner_unit_id == unit_id)
    out = []
    for a, unit in session.execute(q).all():
        assert a.valid_until is not None
        out.append(
            Expiring(
                unit=unit.code if unit else "-",
                unit_name=unit.name if unit else "（无主管单位）",
                article_id=a.id,
                title=a.title,
                valid_until=a.valid_until,
                days_left=(a.valid_until - today).days,
            )
        )
    return out


def record_feedback(
    session: Session, a: KbArticle, *, helpful: bool, query: str, now: datetime, channel: str
) -> KbArticle:
    session.add(
        KbFeedback(
            article_id=a.id, at=now, helpful=helpful, query=mask_text(query[:500]), channel=channel
        )
    )
    if helpful:
        a.helpful += 1
    else:
        a.not_helpful += 1
    session.flush()
    return a


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(KbArticle.status, func.count()).group_by(KbArticle.status))
    return {status: n for status, n in rows.all()}
