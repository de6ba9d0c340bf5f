"""Searching the knowledge base: one BM25 index of the articles per database, in memory.

The index is rebuilt when an article or the synonyms change — each search first reads a
stamp (how many articles, the latest change), two indexed one-row queries, so a change made
by another process is seen at once too. Articles in force only are answered: the dates are
checked at query time, so an article is hidden from its last day on even before the tick
marks it expired. An article limited to some areas answers questions about those areas (or
about no area); one in the question's category ranks a little higher.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.kb import synonyms as synonym_store
from jiesu.kb.bm25 import Bm25Index, weighted
from jiesu.kb.models import KbArticle
from jiesu.kb.tokens import Synonyms, kind_of, normalise, terms, words
from jiesu.kit.cache import PerDatabase

# An article in the question's category counts this much more.
CATEGORY_BOOST = 1.25
SNIPPET = 90
MAX_QUERY = 2_000


@dataclass(frozen=True)
class IndexedArticle:
    id: int
    title: str
    plain: str
    owner_unit_name: str | None
    updated_on: date
    valid_from: date | None
    valid_until: date | None
    category_paths: tuple[str, ...]
    area_paths: tuple[str, ...]


@dataclass(frozen=True)
class ArticleHit:
    article: IndexedArticle
    score: float
    snippet: str


class ArticleIndex:
    def __init__(self, articles: list[IndexedArticle], synonyms: Synonyms):
        self.articles = articles
        self.synonyms = synonyms
        # The title is read twice: a word in it says more than one in the tenth paragraph.
        self.bm25 = Bm25Index(
            [terms(f"{a.title}\n{a.title}\n{a.plain}", synonyms) for a in articles]
        )
        self._from = np.array([(a.valid_from or date.min).toordinal() for a in articles])
        self._until = np.array([(a.valid_until or date.max).toordinal() for a in articles])

    def query_terms(self, question: str, kinds: str = "wbs") -> dict[str, float]:
        """The question's terms; ``kinds`` keeps words (w), bigrams (b), synonyms (s)."""
        found = weighted(terms(question[:MAX_QUERY], self.synonyms))
        return {t: w for t, w in found.items() if kind_of(t) in kinds}

    def search(
        self,
        question: str,
        *,
        today: date,
        limit: int = 5,
        category_path: str | None = None,
        area_path: str | None = None,
        kinds: str = "wbs",
    ) -> list[ArticleHit]:
        if not self.articles or not question.strip():
            return []
        day = today.toordinal()
        allowed = (self._from <= day) & (self._until >= day)
        if area_path:
            for i, a in enumerate(self.articles):
                if a.area_paths and not any(area_path.startswith(p) for p in a.area_paths):
                    allowed[i] = False
        scores = self.bm25.scores(self.query_terms(question, kinds))
        if category_path:
            for i, a in enumerate(self.articles):
                if any(category_path.startswith(p) for p in a.category_paths):
                    scores[i] *= CATEGORY_BOOST
        scores = np.where(allowed, scores, 0.0)
        k = min(limit, len(scores))
        best = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=int)
        best = best[np.argsort(-scores[best], kind="stable")]
        return [
            ArticleHit(a, float(scores[i]), snippet(a.plain, question))
            for i in best
            if (a := self.articles[i]) is not None
            if scores[i] > 0
        ]


def snippet(plain: str, question: str, width: int = SNIPPET) -> str:
    """The part of the text around the first word of the question it contains."""
    flat = re.sub(r"\s+", " ", plain).strip()
    low = normalise(flat)
    found = [low.find(w) for w in sorted(set(words(normalise(question))), key=len, reverse=True)]
    hits = [p for p in found if p >= 0]
    start = max(0, min(hits) - width // 3) if hits else 0
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


class _StampedCache(PerDatabase[tuple[tuple[object, ...], "ArticleIndex"]]):
    """Kept until the stamp moves; cleared with every other per-database cache."""

    def __init__(self) -> None:
        super().__init__(ttl_seconds=float("inf"))
        self.lock = threading.Lock()


_cache = _StampedCache()


def _stamp(session: Session) -> tuple[object, ...]:
    row = session.execute(
        select(func.count(), func.max(KbArticle.updated_at), func.max(KbArticle.id)).where(
            KbArticle.status == "published"
        )
    ).one()
    return (*tuple(row), *synonym_store.stamp(session))


def _build(session: Session) -> ArticleIndex:
    area_path = {c: p for c, p in session.execute(select(Area.code, Area.path))}
    category_path = {c: p for c, p in session.execute(select(Category.code, Category.path))}
    rows = session.execute(
        select(KbArticle, HandlingUnit.name)
        .outerjoin(HandlingUnit, HandlingUnit.id == KbArticle.owner_unit_id)
        .where(KbArticle.status == "published")
        .order_by(KbArticle.id)
    ).all()
    articles = [
        IndexedArticle(
            id=a.id,
            title=a.title,
            plain=a.plain,
            owner_unit_name=unit_name,
            updated_on=a.updated_at.date(),
            valid_from=a.valid_from,
            valid_until=a.valid_until,
            category_paths=tuple(category_path[c] for c in a.categories if c in category_path),
            area_paths=tuple(area_path[c] for c in a.areas if c in area_path),
        )
        for a, unit_name in rows
    ]
    return ArticleIndex(articles, Synonyms(synonym_store.current(session)))


def article_index(session: Session) -> ArticleIndex:
    stamp = _stamp(session)
    kept = _cache.get(session, lambda s: (stamp, _build(s)))
    if kept[0] == stamp:
        return kept[1]
    with _cache.lock:  # one rebuild at a time; the others wait and reuse it
        kept = _cache.get(session, lambda s: (stamp, _build(s)))
        if kept[0] != stamp:
            _cache.clear()
            kept = _cache.get(session, lambda s: (stamp, _build(s)))
    return kept[1]


def forget() -> None:
    _cache.clear()


def search_articles(
    session: Session,
    question: str,
    *,
    today: date,
    limit: int = 5,
    category_path: str | None = None,
    area_path: str | None = None,
) -> list[ArticleHit]:
    return article_index(session).search(
        question, today=today, limit=limit, category_path=category_path, area_path=area_path
    )
