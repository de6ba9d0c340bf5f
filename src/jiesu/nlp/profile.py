"""A classifier's training profile, kept in its metadata so that an audit can later tell how
far today's requests have drifted from what it learnt from (jiesu.algoaudit.drift): the label
mix, the text lengths in fixed bins and the most frequent character pairs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from jiesu.nlp.model import Doc

LENGTH_EDGES = (0, 30, 60, 100, 150, 200, 300, 500, 1000)
VOCAB = 3000


def flat(doc: Doc) -> str:
    return doc if isinstance(doc, str) else "".join(doc)


def pairs(text: str) -> list[str]:
    s = "".join(ch for ch in text if not ch.isspace())
    return [s[i : i + 2] for i in range(len(s) - 1)]


def length_bin(n: int) -> int:
    for i in range(len(LENGTH_EDGES) - 1, -1, -1):
        if n >= LENGTH_EDGES[i]:
            return i
    return 0


def profile(docs: Sequence[Doc], labels: Sequence[str]) -> dict[str, Any]:
    texts = [flat(d) for d in docs]
    lengths = Counter(length_bin(len(t)) for t in texts)
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(pairs(t))
    top = [p for p, _ in counts.most_common(VOCAB)]
    covered = sum(counts[p] for p in top)
    total = sum(counts.values())
    return {
        "n": len(texts),
        "labels": dict(Counter(labels)),
        "length_bins": [lengths.get(i, 0) for i in range(len(LENGTH_EDGES))],
        "vocabulary": top,
        "vocabulary_coverage": round(covered / total, 4) if total else None,
    }
