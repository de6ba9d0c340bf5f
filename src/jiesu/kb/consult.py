"""Consultations: contacts answered on the spot from the knowledge base (直接答复), or left
without an answer, and the questions that keep coming without a good article.

A consultation is not a work order: it has no unit, no deadline and no call-back, and it is
counted apart (``consultation_counts``). It keeps the article and the version the operator
read out, the search's top score, and who answered — never the caller's contact details.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.errors import BadInput
from jiesu.kb.models import KbArticle, KbConsultation
from jiesu.kb.tokens import bigrams, normalise
from jiesu.people.service import Actor
from jiesu.privacy.pii import mask_text

log = structlog.get_logger()
# Below this share of the question found in the best article, it was not a good answer (see
# Bm25Index.coverage and docs/knowledge.md).
GOOD_MATCH = 0.2
# Two questions are "the same question" when this share of the shorter one's bigrams is in
# the other (the overlap coefficient: callers add or drop words around the same matter).
SAME_QUESTION = 0.6
MAX_QUESTION = 2_000


def record_consultation(
    session: Session,
    *,
    question: str,
    actor: Actor,
    now: datetime,
    outcome: str = "answered",
    article: KbArticle | None = None,
    past_ticket: str | None = None,
    top_match: float | None = None,
    category_code: str | None = None,
    area_code: str | None = None,
    channel: str = "phone",
    note: str = "",
) -> KbConsultation:
    question = question.strip()
    if not question:
        raise BadInput("text", "write the caller's question first")
    if outcome not in ("answered", "no_answer"):
        raise BadInput("outcome", "must be answered or no_answer")
    if outcome == "answered" and article is None and not past_ticket:
        raise BadInput("article_id", "say which article (or past answer) answered the question")
    c = KbConsultation(
        at=now,
        channel=channel,
        operator_id=actor.user_id,
        operator=actor.name,
        # Callers say their name and number in the question; the record keeps neither.
        question=mask_text(question[:MAX_QUESTION]),
        category_code=category_code or None,
        area_code=area_code or None,
        outcome=outcome,
        article_id=article.id if article else None,
        article_version=article.version if article else None,
        past_ticket=past_ticket or None,
        top_match=top_match,
        note=note[:2_000],
    )
    session.add(c)
    session.flush()
    log.info(
        "kb.consultation.recorded",
        consultation_id=c.id,
        outcome=outcome,
        article_id=c.article_id,
        actor=actor.name,
    )
    return c


def consultation_counts(session: Session, since: datetime) -> dict[str, int]:
    rows = session.execute(
        select(KbConsultation.outcome, func.count())
        .where(KbConsultation.at >= since)
        .group_by(KbConsultation.outcome)
    ).all()
    return {outcome: n for outcome, n in rows}


def recent_consultations(session: Session, limit: int = 50) -> list[KbConsultation]:
    q = select(KbConsultation).order_by(KbConsultation.at.desc(), KbConsultation.id.desc())
    return list(session.scalars(q.limit(limit)))


@dataclass
class Gap:
    """A question asked again and again with no good article."""

    question: str  # the first time it was asked, as typed
    count: int
    last_at: datetime
    no_answer: int  # marked "no answer found" by the operator
    best_match: float | None


def _shingles(text: str) -> set[str]:
    return set(bigrams(normalise(text)))


def _similar(a: set[str], b: set[str]) -> bool:
    shorter = min(len(a), len(b))
    return bool(shorter) and len(a & b) / shorter >= SAME_QUESTION


def gaps(
    session: Session, *, now: datetime, days: int = 90, min_count: int = 2, limit: int = 50
) -> list[Gap]:
    """Consultations of the last ``days`` marked "no answer found" or answered with a top
    score below ``GOOD_MATCH``, grouped by near-identical wording, most asked first."""
    rows = session.scalars(
        select(KbConsultation)
        .where(
            KbConsultation.at >= now - timedelta(days=days),
            (KbConsultation.outcome == "no_answer")
            | (KbConsultation.top_match.is_(None))
            | (KbConsultation.top_match < GOOD_MATCH),
        )
        .order_by(KbConsultation.at)
        .limit(20_000)
    ).all()
    groups: list[tuple[set[str], Gap]] = []
    for c in rows:
        if c.outcome == "answered" and c.top_match is None and c.article_id is not None:
            continue  # answered from an article, the score not known: not a gap
        sh = _shingles(c.question)
        gap = next((g for seen, g in groups if _similar(seen, sh)), None)
        if gap is None:
            gap = Gap(c.question, 0, c.at, 0, None)
            groups.append((sh, gap))
        gap.count += 1
        gap.last_at = max(gap.last_at, c.at)
        gap.no_answer += c.outcome == "no_answer"
        if c.top_match is not None:
            gap.best_match = max(gap.best_match or 0.0, c.top_match)
    found = [g for _, g in groups if g.count >= min_count]
    found.sort(key=lambda g: (-g.count, -g.last_at.timestamp()))
    return found[:limit]


def articles_used(session: Session, since: datetime, limit: int = 20) -> Counter[int]:
    rows = session.execute(
        select(KbConsultation.article_id, func.count())
        .where(KbConsultation.at >= since, KbConsultation.article_id.is_not(None))
        .group_by(KbConsultation.article_id)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    return Counter({a: n for a, n in rows if a is not None})
