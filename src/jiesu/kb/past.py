"""Similar past answers: the replies units published to earlier requests of the same
category (and place, when known) whose question or reply matches the one being asked.

The replies are the ones the tracking page shows (``reply`` and imported ``history_reply``
events, the latest per request), masked for personal data the same way. The index is kept
per database for a few minutes: a reply written a minute ago is not yet a "past" answer that
anyone waits for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.kb.bm25 import Bm25Index, weighted
from jiesu.kb.search import snippet
from jiesu.kb.synonyms import current
from jiesu.kb.tokens import Synonyms, terms
from jiesu.kit.cache import PerDatabase
from jiesu.privacy.pii import mask_text
from jiesu.workflow.models import Event, ServiceRequest

REPLY_KINDS = ("reply", "history_reply")
# The newest replies are enough to answer from; older ones mostly repeat them.
MAX_REPLIES = 50_000
REPLY_SNIPPET = 160


@dataclass(frozen=True)
class PastReply:
    ticket: str
    title: str
    reply: str
    unit: str | None
    replied_on: date
    category_path: str | None
    area_path: str | None


@dataclass(frozen=True)
class PastHit:
    past: PastReply
    score: float
    snippet: str
    match: float = 0.0


class PastIndex:
    def __init__(self, replies: list[PastReply], synonyms: Synonyms):
        self.replies = replies
        self.synonyms = synonyms
        self.bm25 = Bm25Index([terms(f"{r.title}\n{r.reply}", synonyms) for r in replies])
        self._cat = np.array([r.category_path or "" for r in replies], dtype=object)
        self._area = np.array([r.area_path or "" for r in replies], dtype=object)

    def search(
        self,
        question: str,
        *,
        category_path: str | None,
        area_path: str | None,
        limit: int = 3,
    ) -> list[PastHit]:
        if not self.replies or not question.strip() or not category_path:
            return []  # without a category, "similar" would be any reply in the city
        same_cat = np.array([c.startswith(category_path) for c in self._cat], dtype=bool)
        query = weighted(terms(question, self.synonyms))
        scores = self.bm25.scores(query)
        mask = same_cat
        if area_path:
            here = same_cat & np.array([a.startswith(area_path) for a in self._area], dtype=bool)
            if (scores[here] > 0).any():
                mask = here  # the same place when it has any; the category's otherwise
        scores = np.where(mask, scores, 0.0)
        k = min(limit, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [
            PastHit(self.replies[i], float(scores[i]), snippet(self.replies[i].reply, question,
                    REPLY_SNIPPET), self.bm25.coverage(query, int(i)))
            for i in best
            if scores[i] > 0
        ]  # fmt: skip


def _build(session: Session) -> PastIndex:
    latest = (
        select(Event.request_id, func.max(Event.id).label("event_id"))
        .where(Event.kind.in_(REPLY_KINDS))
        .group_by(Event.request_id)
        .subquery()
    )
    rows = session.execute(
        select(
            ServiceRequest.ticket,
            ServiceRequest.title,
            Event.payload,
            Event.at,
            HandlingUnit.name,
            Category.path,
            Area.path,
        )
        .join(latest, latest.c.request_id == ServiceRequest.id)
        .join(Event, Event.id == latest.c.event_id)
        .outerjoin(HandlingUnit, HandlingUnit.id == ServiceRequest.lead_unit_id)
        .outerjoin(Category, Category.id == ServiceRequest.category_id)
        .outerjoin(Area, Area.id == ServiceRequest.area_id)
        .where(ServiceRequest.status.not_in(("merged", "invalid")))
        .order_by(Event.id.desc())
        .limit(MAX_REPLIES)
    ).all()
    replies = []
    for ticket, title, payload, at, unit, cat_path, area_path in rows:
        text = str((payload or {}).get("text") or "").strip()
        if not text:
            continue
        replies.append(
            PastReply(
                ticket=ticket,
                title=mask_text(title),
                reply=mask_text(text),
                unit=unit,
                replied_on=at.date(),
                category_path=cat_path,
                area_path=area_path,
            )
        )
    return PastIndex(replies, Synonyms(current(session)))


_cache: PerDatabase[PastIndex] = PerDatabase(ttl_seconds=300)


def past_index(session: Session) -> PastIndex:
    return _cache.get(session, _build)


def forget() -> None:
    _cache.clear()


def similar_past_answers(
    session: Session,
    question: str,
    *,
    category_path: str | None,
    area_path: str | None,
    limit: int = 3,
) -> list[PastHit]:
    return past_index(session).search(
        question, category_path=category_path, area_path=area_path, limit=limit
    )
