"""Category suggestions at intake, from the loaded taxonomy (cached per database)."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Category
from jiesu.nlp.keywords import KeywordClassifier, Leaf, Suggestion

# Below this confidence a suggestion is shown but not applied: a person decides (人工复核).
APPLY_THRESHOLD = 0.5
CACHE_SECONDS = 30.0
_cache: dict[str, tuple[float, KeywordClassifier]] = {}


def forget() -> None:
    _cache.clear()


def _classifier(session: Session) -> KeywordClassifier:
    key = str(session.get_bind().engine.url)
    hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    rows = session.execute(
        select(Category.code, Category.name, Category.keywords).where(
            Category.active.is_(True), Category.level == 3
        )
    )
    classifier = KeywordClassifier(Leaf(c, n, tuple(k or ())) for c, n, k in rows)
    _cache[key] = (time.monotonic(), classifier)
    return classifier


def suggest_categories(session: Session, text: str, k: int = 3) -> list[Suggestion]:
    return _classifier(session).suggest(text, k)
