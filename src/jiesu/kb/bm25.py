"""Okapi BM25 over an index held in memory.

The index is built from the documents in one pass (postings as NumPy arrays), and a query
adds up each of its terms' contributions into one score array: at 10,000 articles that is a
few milliseconds (``jiesu kb bench``). Term weights let a query count synonyms and bigrams
for less than the words typed; the title counts twice by being read twice.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from jiesu.kb.tokens import kind_of

K1 = 1.2
B = 0.75
# How much each kind of query term counts: a word typed, a synonym group, a bigram.
WEIGHTS = {"w": 1.0, "s": 0.8, "b": 0.5}


@dataclass(frozen=True)
class Hit:
    doc: int  # position in the list the index was built from
    score: float


class Bm25Index:
    def __init__(self, docs: Sequence[Counter[str]]):
        self.size = len(docs)
        lengths = np.array([sum(d.values()) for d in docs], dtype=np.float64)
        self.avg_length = float(lengths.mean()) if self.size else 0.0
        # The length normalisation of BM25, per document, computed once.
        self._norm = (
            K1 * (1 - B + B * lengths / self.avg_length) if self.size and self.avg_length else None
        )
        docs_of: dict[str, list[int]] = {}
        tfs_of: dict[str, list[int]] = {}
        for i, d in enumerate(docs):
            for term, tf in d.items():
                docs_of.setdefault(term, []).append(i)
                tfs_of.setdefault(term, []).append(tf)
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {
            t: (np.array(ids, dtype=np.int32), np.array(tfs_of[t], dtype=np.float64))
            for t, ids in docs_of.items()
        }

    def idf(self, term: str) -> float:
        posting = self._postings.get(term)
        df = 0 if posting is None else len(posting[0])
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def scores(self, query: Mapping[str, float]) -> np.ndarray:
        """One score per document; ``query`` maps each term to its weight."""
        total = np.zeros(self.size, dtype=np.float64)
        if self._norm is None:
            return total
        for term, weight in query.items():
            posting = self._postings.get(term)
            if posting is None:
                continue
            ids, tfs = posting
            part = self.idf(term) * tfs * (K1 + 1) / (tfs + self._norm[ids])
            total[ids] += weight * part  # ids are unique within one posting list
        return total

    def coverage(self, query: Mapping[str, float], doc: int) -> float:
        """How much of the question a document contains, 0–1: the weight × idf of the query
        terms it has over that of all of them. Unlike the BM25 score, it hardly depends on
        how large the collection is, so one threshold ("a good answer") holds everywhere.
        A bigram no document has is left out: it is the chatter around the question (您好,
        麻烦问下), while a *word* no document has is what the collection lacks."""
        total = found = 0.0
        for term, weight in query.items():
            posting = self._postings.get(term)
            if posting is None and kind_of(term) == "b":
                continue
            part = weight * self.idf(term)
            total += part
            if posting is not None:
                ids = posting[0]
                at = int(np.searchsorted(ids, doc))  # postings are in document order
                if at < len(ids) and ids[at] == doc:
                    found += part
        return found / total if total else 0.0

    def top(
        self, query: Mapping[str, float], k: int, allowed: np.ndarray | None = None
    ) -> list[Hit]:
        """The ``k`` best documents with a score above zero; ``allowed`` is a mask."""
        scores = self.scores(query)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        if k <= 0 or not self.size:
            return []
        k = min(k, self.size)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [Hit(int(i), float(scores[i])) for i in best if scores[i] > 0]


def weighted(terms: Counter[str]) -> dict[str, float]:
    """A query's terms with their kind's weight (repeats in the question do not add up)."""
    return {t: WEIGHTS[kind_of(t)] for t in terms}
