"""Category suggestions at intake, from the loaded taxonomy (cached per database)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Category
from jiesu.kit.cache import PerDatabase
from jiesu.nlp.keywords import KeywordClassifier, Leaf, Suggestion

# Below this confidence a suggestion is shown but not applied: a person decides (人工复核).
APPLY_THRESHOLD = 0.5
_cache: PerDatabase[KeywordClassifier] = PerDatabase(ttl_seconds=30.0)


def forget() -> None:
    _cache.clear()


def _build(session: Session) -> KeywordClassifier:
    rows = session.execute(
        select(Category.code, Category.name, Category.keywords).where(
            Category.active.is_(True), Category.level == 3
        )
    )
    return KeywordClassifier(Leaf(c, n, tuple(k or ())) for c, n, k in rows)


def suggest_categories(session: Session, text: str, k: int = 3) -> list[Suggestion]:
    return _cache.get(session, _build).suggest(text, k)
