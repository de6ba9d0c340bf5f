"""The cold-start category classifier: the taxonomy's own names and keyword lists.

A city with no history still gets suggestions on day one, each with the words that produced
it, and the city improves them by editing keywords in its pack. A trained model (see
``model.py``) takes over once enough confirmed history exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from jiesu.nlp.normalize import normalize

# Evidence a single short keyword gives is weak: with this prior one 2-character match alone
# reaches an even chance (0.5), while two categories matching equally stay at a third each.
PRIOR = 1.0
NAME_WEIGHT = 1.5


@dataclass(frozen=True)
class Suggestion:
    code: str
    name: str
    confidence: float
    why: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "confidence": self.confidence,
                "why": self.why}  # fmt: skip


@dataclass(frozen=True)
class Leaf:
    code: str
    name: str
    keywords: tuple[str, ...]


class KeywordClassifier:
    def __init__(self, leaves: Iterable[Leaf]):
        self._terms: list[tuple[str, str, float]] = []  # (term, leaf code, weight)
        self._names: dict[str, str] = {}
        for leaf in leaves:
            self._names[leaf.code] = leaf.name
            terms = {normalize(k): 1.0 for k in leaf.keywords if len(normalize(k)) >= 2}
            name = normalize(leaf.name)
            if len(name) >= 2:
                terms[name] = NAME_WEIGHT
            self._terms.extend((t, leaf.code, w) for t, w in terms.items())

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        clean = normalize(text)
        scores: dict[str, float] = {}
        why: dict[str, list[str]] = {}
        for term, code, weight in self._terms:
            if term in clean:
                # Longer phrases are stronger evidence than two-character words.
                scores[code] = scores.get(code, 0.0) + weight * len(term) / 2
                why.setdefault(code, []).append(term)
        if not scores:
            return []
        total = sum(scores.values()) + PRIOR
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [
            Suggestion(code, self._names[code], round(score / total, 3), why[code])
            for code, score in ranked
        ]
