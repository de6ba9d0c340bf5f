"""Category suggestions at intake: the active trained model, else the taxonomy's keywords.

Each suggestion carries its confidence and why (the words that matched, or the model version),
so an operator can see whether to trust it. Below the city's threshold nothing is applied and
the request waits for a person to categorise it (人工复核).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Category, City
from jiesu.kit.cache import PerDatabase
from jiesu.nlp import registry
from jiesu.nlp.keywords import KeywordClassifier, Leaf, Suggestion
from jiesu.nlp.understanding import cached_config_from_json

_cache: PerDatabase[KeywordClassifier] = PerDatabase(ttl_seconds=30.0)
_names: PerDatabase[dict[str, str]] = PerDatabase(ttl_seconds=30.0)
_threshold: PerDatabase[float] = PerDatabase(ttl_seconds=30.0)


def forget() -> None:
    _cache.clear()
    _names.clear()
    _threshold.clear()
    registry.forget()


def _build(session: Session) -> KeywordClassifier:
    rows = session.execute(
        select(Category.code, Category.name, Category.keywords).where(
            Category.active.is_(True), Category.level == 3
        )
    )
    return KeywordClassifier(Leaf(c, n, tuple(k or ())) for c, n, k in rows)


def keyword_classifier(session: Session) -> KeywordClassifier:
    return _cache.get(session, _build)


def _category_names(session: Session) -> dict[str, str]:
    return {code: name for code, name in session.execute(select(Category.code, Category.name))}


def _load_threshold(session: Session) -> float:
    stored = session.scalar(select(City.understanding)) or {}
    return cached_config_from_json(stored).thresholds.category


def apply_threshold(session: Session) -> float:
    """The confidence a suggestion needs to be applied without a person (per city:
    ``thresholds.category`` in understanding.yaml)."""
    return _threshold.get(session, _load_threshold)


def suggest_categories(
    session: Session, text: str, k: int = 3, title: str = ""
) -> list[Suggestion]:
    act = registry.active(session, "category")
    if act is None:
        return keyword_classifier(session).suggest(f"{title}\n{text}", k)
    names = _names.get(session, _category_names)
    top = act.model.predict_top([(title, text)], k=k)[0]
    why = [f"model {act.version}"]
    return [
        Suggestion(act.codes[lab], names.get(act.codes[lab], lab), round(p, 3), why)
        for lab, p in top
    ]
