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
    score: float  # BM25: ranks the hits of one search
    snippet: str
    match: float = 0.0  # share of the question found (see Bm25Index.coverage)


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
        query = self.query_terms(question, kinds)
        scores = self.bm25.scores(query)
        if category_path:
            for i, a in enumerate(self.articles):
                if any(category_path.startswith(p) for p in a.category_paths):
                    scores[i] *= CATEGORY_BOOST
        scores = np.where(allowed, scores, 0.0)
        k = min(limit, len(scores))
        best = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=int)
        best = best[np.argsort(-scores[best], kind="stable")]
        return [
            ArticleHit(
                a,
                float(scores[i]),
                snippet(_without_title(a), question),
                self.bm25.coverage(query, int(i)),
            )
            for i in best
            if (a := self.articles[i]) is not None
            if scores[i] > 0
        ]


def _without_title(a: IndexedArticle) -> str:
    # A body that opens with its own title (# 标题) would show it twice under the title.
    return a.plain[len(a.title) :].lstrip() if a.plain.startswith(a.title) else a.plain


def snippet(plain: str, question: str, width: int = SNIPPET) -> str:
    """The part of the text around the first word of the question it contains."""
    flat = re.sub(r"\s+", " ", plain).strip()
    low = normalise(flat)
    found = [low.find(w) for w in sorted(set(words(normalise(question))), key=len, reverse=True)]
    hits = [p for p in found if p >= 0]
    start = max(0, min(hits) - width // 3) if hits else 0
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


# Up to this many articles, the search that sees a change rebuilds the index itself (about a
# second); above it the rebuild runs in a thread and searches use the previous index meanwhile,
# each hit checked against the database, so nothing unpublished or expired is ever shown.
SYNC_REBUILD = 2_000


@dataclass
class _Slot:
    stamp: tuple[object, ...]
    index: ArticleIndex
    building: threading.Thread | None = None
    building_stamp: tuple[object, ...] | None = None


class _IndexCache(PerDatabase[_Slot]):
    """The index of each database, kept until its stamp moves (not by time); a PerDatabase so
    that it is cleared with every other per-database cache (``forget_everything``)."""

    def __init__(self) -> None:
        super().__init__(ttl_seconds=float("inf"))
        self.slots: dict[str, _Slot] = {}
        self.lock = threading.Lock()

    def clear(self) -> None:
        super().clear()
        self.slots.clear()


_cache = _IndexCache()


def _stamp(session: Session) -> tuple[object, ...]:
    row = session.execute(
        select(func.count(), func.max(KbArticle.updated_at), func.max(KbArticle.id)).where(
            KbArticle.status == "published"
        )
    ).one()
    return (*tuple(row), *synonym_store.stamp(session))


def _load(session: Session) -> tuple[list[IndexedArticle], Synonyms]:
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
    return articles, Synonyms(synonym_store.current(session))


def _build_later(
    key: str, slot: _Slot, stamp: tuple[object, ...], loaded: tuple[list[IndexedArticle], Synonyms]
) -> None:
    def build() -> None:
        index = ArticleIndex(*loaded)
        with _cache.lock:
            if _cache.slots.get(key) is slot:  # not forgotten meanwhile
                _cache.slots[key] = _Slot(stamp, index)

    slot.building_stamp = stamp
    slot.building = threading.Thread(target=build, name="kb-index", daemon=True)
    slot.building.start()


def article_index(session: Session) -> tuple[ArticleIndex, bool]:
    """The index, and whether it is older than the articles (being rebuilt)."""
    key = str(session.get_bind().engine.url)
    stamp = _stamp(session)
    slot = _cache.slots.get(key)
    if slot is not None and slot.stamp == stamp:
        return slot.index, False
    if slot is not None and slot.building_stamp == stamp and slot.building is not None:
        return slot.index, True  # this change is being indexed
    loaded = _load(session)
    if slot is None or len(loaded[0]) <= SYNC_REBUILD:
        index = ArticleIndex(*loaded)
        with _cache.lock:
            _cache.slots[key] = _Slot(stamp, index)
        return index, False
    with _cache.lock:
        if slot.building is None or not slot.building.is_alive():
            _build_later(key, slot, stamp, loaded)
    return slot.index, True


def forget() -> None:
    _cache.clear()


def _in_force(session: Session, hits: list[ArticleHit], today: date) -> list[ArticleHit]:
    """Hits of an index being rebuilt, less those unpublished or out of date since."""
    ids = [h.article.id for h in hits]
    live = set(
        session.scalars(
            select(KbArticle.id).where(
                KbArticle.id.in_(ids),
                KbArticle.status == "published",
                (KbArticle.valid_from.is_(None)) | (KbArticle.valid_from <= today),
                (KbArticle.valid_until.is_(None)) | (KbArticle.valid_until >= today),
            )
        )
    )
    return [h for h in hits if h.article.id in live]


def search_articles(
    session: Session,
    question: str,
    *,
    today: date,
    limit: int = 5,
    category_path: str | None = None,
    area_path: str | None = None,
) -> list[ArticleHit]:
    index, stale = article_index(session)
    hits = index.search(
        question,
        today=today,
        limit=limit + 5 if stale else limit,
        category_path=category_path,
        area_path=area_path,
    )
    return _in_force(session, hits, today)[:limit] if stale and hits else hits
