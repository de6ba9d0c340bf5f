"""Routes of the knowledge base: public search and articles (no sign-in), feedback, the
staff's assisted search with past answers, editing with versions, consultations, and the
knowledge owners' lists (expiring articles, questions without a good answer)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, CurrentActor, require_role, write
from jiesu.errors import Forbidden, error_responses
from jiesu.kb.consult import gaps, record_consultation
from jiesu.kb.past import similar_past_answers
from jiesu.kb.present import article_out, hit_out, past_out, paths_for, today_in_city
from jiesu.kb.schemas import (
    ArticleIn,
    ArticleOut,
    FeedbackIn,
    FeedbackOut,
    SearchOut,
)
from jiesu.kb.search import search_articles
from jiesu.kb.service import (
    EDITORS,
    ArticleFields,
    create_article,
    expiring,
    get_article,
    public_article,
    record_feedback,
    update_article,
)

router = APIRouter(prefix="/kb", tags=["knowledge"])
PUBLIC_ERRORS = error_responses(
    {404: "no such published article", 422: "a field is missing or wrong; names the field"}
)
ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role or unit may not do this",
        404: "no such article or version",
        422: "a field is missing or wrong; names the field",
    }
)
ASSISTED = ("operator", "dispatcher", "handler", "supervisor", "analyst", "admin")
CONSULT_DESK = ("operator", "supervisor", "admin")
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
# An empty question finds nothing (and is not an error: a search box starts empty).
Question = Annotated[str, Query(max_length=2_000, description="the question")]
Code = Annotated[str | None, Query(max_length=64)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VersionOut(BaseModel):
    version: int
    title: str
    status: str
    edited_at: datetime
    edited_by: str
    note: str


class ConsultationIn(_Body):
    question: str = Field(..., min_length=1, max_length=2_000)
    outcome: Literal["answered", "no_answer"] = "answered"
    article_id: int | None = Field(None, ge=1, le=2_147_483_647)
    past_ticket: str | None = Field(None, max_length=32)
    top_match: float | None = Field(
        None, ge=0, le=1, description="share of the question the best answer contained"
    )
    category: str | None = Field(None, max_length=32)
    area: str | None = Field(None, max_length=32)
    note: str = Field("", max_length=2_000)


class ConsultationOut(BaseModel):
    id: int
    at: datetime
    outcome: str
    article_id: int | None
    article_version: int | None
    operator: str


class GapOut(BaseModel):
    question: str
    count: int
    no_answer: int
    best_match: float | None
    last_at: datetime


class ExpiringOut(BaseModel):
    unit: str
    unit_name: str
    article_id: int
    title: str
    valid_until: date
    days_left: int


@router.get("/search", response_model=SearchOut, responses=PUBLIC_ERRORS, tags=["public"])
async def public_search(
    db: DB,
    clock: ClockDep,
    q: Question = "",
    category: Code = None,
    area: Code = None,
    limit: int = Query(5, ge=1, le=20),
) -> SearchOut:
    """Search the published articles in force (no sign-in): words, characters, synonyms."""
    now = clock.now()

    def work(s: Session) -> SearchOut:
        started = time.perf_counter()
        cat, place = paths_for(s, category, area)
        hits = search_articles(
            s, q, today=today_in_city(s, now), limit=limit, category_path=cat, area_path=place
        )
        took = 1000 * (time.perf_counter() - started)
        return SearchOut(query=q, articles=[hit_out(h) for h in hits], took_ms=round(took, 2))

    return await db.run_sync(work)


@router.get("/answers", response_model=SearchOut, responses=ERRORS)
async def assisted_search(
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    q: Question = "",
    category: Code = None,
    area: Code = None,
    limit: int = Query(5, ge=1, le=20),
) -> SearchOut:
    """What the operator desk shows: articles, and the replies units published to past
    requests of the same category (and place) that match the question."""
    require_role(actor, *ASSISTED)
    now = clock.now()

    def work(s: Session) -> SearchOut:
        started = time.perf_counter()
        cat, place = paths_for(s, category, area)
        today = today_in_city(s, now)
        hits = search_articles(s, q, today=today, limit=limit, category_path=cat, area_path=place)
        past = similar_past_answers(s, q, category_path=cat, area_path=place)
        tz = city_context(s).tz
        took = 1000 * (time.perf_counter() - started)
        return SearchOut(
            query=q,
            articles=[hit_out(h) for h in hits],
            past_answers=[past_out(p, tz) for p in past],
            took_ms=round(took, 2),
        )

    return await db.run_sync(work)


@router.get(
    "/articles/{article_id}", response_model=ArticleOut, responses=PUBLIC_ERRORS, tags=["public"]
)
async def get_public_article(article_id: Id, db: DB, clock: ClockDep) -> ArticleOut:
    """A published article in force, its body as sanitised HTML (no sign-in)."""
    now = clock.now()

    def work(s: Session) -> ArticleOut:
        return article_out(public_article(s, article_id, today_in_city(s, now)))

    return await db.run_sync(work)


@router.post(
    "/articles/{article_id}/feedback",
    response_model=FeedbackOut,
    responses=PUBLIC_ERRORS,
    tags=["public"],
)
async def post_feedback(article_id: Id, body: FeedbackIn, db: DB, clock: ClockDep) -> FeedbackOut:
    """ "Did this answer your question?" (no sign-in)."""
    now = clock.now()

    def work(s: Session) -> FeedbackOut:
        a = public_article(s, article_id, today_in_city(s, now))
        record_feedback(s, a, helpful=body.helpful, query=body.query, now=now, channel="api")
        return FeedbackOut(article_id=a.id, helpful=a.helpful, not_helpful=a.not_helpful)

    return await write(db, work)


@router.post("/articles", response_model=ArticleOut, status_code=201, responses=ERRORS)
async def post_article(body: ArticleIn, db: DB, actor: CurrentActor, clock: ClockDep) -> ArticleOut:
    """A new article (version 1). A handler writes for the own unit only."""
    require_role(actor, *EDITORS)
    now = clock.now()

    def work(s: Session) -> ArticleOut:
        a = create_article(
            s, ArticleFields.of(body), actor=actor, now=now, today=today_in_city(s, now)
        )
        return article_out(a)

    return await write(db, work)


@router.put("/articles/{article_id}", response_model=ArticleOut, responses=ERRORS)
async def put_article(
    article_id: Id, body: ArticleIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> ArticleOut:
    """Edit an article: a new version; the earlier ones stay readable."""
    require_role(actor, *EDITORS)
    now = clock.now()

    def work(s: Session) -> ArticleOut:
        a = get_article(s, article_id)
        update_article(
            s, a, ArticleFields.of(body), actor=actor, now=now, today=today_in_city(s, now)
        )
        return article_out(a)

    return await write(db, work)


@router.get("/articles/{article_id}/versions", response_model=list[VersionOut], responses=ERRORS)
async def get_versions(article_id: Id, db: DB, actor: CurrentActor) -> list[VersionOut]:
    """Every version of an article, the first first."""
    require_role(actor, *EDITORS)

    def work(s: Session) -> list[VersionOut]:
        return [
            VersionOut(
                version=v.version,
                title=v.title,
                status=v.status,
                edited_at=v.edited_at.replace(tzinfo=UTC)
                if v.edited_at.tzinfo is None
                else v.edited_at,
                edited_by=v.edited_by,
                note=v.note,
            )
            for v in get_article(s, article_id).versions
        ]

    return await db.run_sync(work)


@router.post("/consultations", response_model=ConsultationOut, status_code=201, responses=ERRORS)
async def post_consultation(
    body: ConsultationIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> ConsultationOut:
    """A contact answered on the spot from an article (or marked "no answer found"):
    recorded as a consultation, not a work order."""
    require_role(actor, *CONSULT_DESK)
    now = clock.now()

    def work(s: Session) -> ConsultationOut:
        article = get_article(s, body.article_id) if body.article_id else None
        c = record_consultation(
            s,
            question=body.question,
            actor=actor,
            now=now,
            outcome=body.outcome,
            article=article,
            past_ticket=body.past_ticket,
            top_match=body.top_match,
            category_code=body.category,
            area_code=body.area,
            note=body.note,
        )
        at = c.at.replace(tzinfo=UTC) if c.at.tzinfo is None else c.at
        return ConsultationOut(
            id=c.id,
            at=at,
            outcome=c.outcome,
            article_id=c.article_id,
            article_version=c.article_version,
            operator=c.operator,
        )

    return await write(db, work)


@router.get("/gaps", response_model=list[GapOut], responses=ERRORS)
async def get_gaps(
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    days: int = Query(90, ge=1, le=3650),
    min_count: int = Query(2, ge=1, le=1000),
) -> list[GapOut]:
    """Questions asked again and again that no article answers well (low top score or
    marked "no answer found"), most asked first: what the knowledge owners should write."""
    require_role(actor, *EDITORS)
    now = clock.now()

    def work(s: Session) -> list[GapOut]:
        return [
            GapOut(
                question=g.question,
                count=g.count,
                no_answer=g.no_answer,
                best_match=g.best_match,
                last_at=g.last_at.replace(tzinfo=UTC) if g.last_at.tzinfo is None else g.last_at,
            )
            for g in gaps(s, now=now, days=days, min_count=min_count)
        ]

    return await db.run_sync(work)


@router.get("/expiring", response_model=list[ExpiringOut], responses=ERRORS)
async def get_expiring(
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    days: int = Query(30, ge=0, le=3650),
) -> list[ExpiringOut]:
    """Articles that have run out or run out within ``days``, by owner unit; a handler sees
    the own unit's."""
    require_role(actor, *EDITORS)
    if actor.role == "handler" and actor.unit_id is None:
        raise Forbidden("a handler without a unit owns no articles")
    unit_id = actor.unit_id if actor.role == "handler" else None
    now = clock.now()

    def work(s: Session) -> list[ExpiringOut]:
        today = today_in_city(s, now)
        return [ExpiringOut(**e.__dict__) for e in expiring(s, today, days=days, unit_id=unit_id)]

    return await db.run_sync(work)
