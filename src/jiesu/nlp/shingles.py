"""Character shingles of Chinese text, their weights and a similarity between two texts.

Chinese has no spaces, and word segmentation fails most on exactly the words that matter here
(estate, road and shop names). Overlapping 2- and 3-character pieces ("shingles") need no
dictionary: two texts about the same place and problem share many of them whatever the
segmentation, and a reworded sentence still shares most of its bigrams.

Weights come from document frequency (IDF) over a corpus: a shingle found in many texts
(您好, 谢谢, 小区, 反映) says little about which problem a text is about, a rare one
(an estate's name) says a lot. Shingles in more than ``max_df`` of the texts get weight 0:
that is the stop list, derived from the data instead of written by hand. Without a corpus a
small built-in list (``BOILERPLATE``) plays that role and every other shingle weighs 1.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from jiesu.nlp.normalize import normalize

NS = (2, 3)
# Runs of characters that carry content; punctuation ends a run, so no shingle straddles two
# clauses ("坏了。物业" must not make "了物"). Spaces do not: citizens and web forms put spaces
# and line breaks in the middle of words ("路灯 坏了").
_RUN = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_SPACE = re.compile(r"\s+")

# Shingles that occur in more than this share of texts are boilerplate (weight 0). Measured on
# 4,326 real board messages: at 10 % the list is greetings, request verbs and the commonest
# nouns (小区, 业主, 问题, 希望, 领导, 您好); at 5 % it starts to eat topical words (噪音, 物业费).
MAX_DF = 0.10

# Below this many texts document frequencies mislead: a problem reported by three callers out
# of twenty looks as common as 您好.
MIN_CORPUS = 200

# Used only when no corpus is at hand (an empty database, a single pair): the shingles found in
# more than MAX_DF of those same 4,326 messages, without the anonymised place names of that data
# and without shingles holding digits or Latin letters (dates, "a3区"). Fragments across words
# (关部, 们的) are listed because they are what the shingler produces.
_BOILERPLATE = """
没有 部门 我们 问题 一个 领导 政府 小区 严重 希望 相关 现在 业主 什么 解决 居民 关部 关部门 影响
可以 公司 已经 情况 时间 工作 进行 要求 不能 生活 安全 我是 作为 多次 投诉 人员 一直 开发 但是
处理 都是 不是 百姓 这个 无法 这样 街道 尊敬 有关 建设 敬的 尊敬的 请问 就是 您好 还是 环境 相关部
管理 是否 物业 们的 区的 存在 反映 他们 是一 本人 人民 开发商 发商 因为 通过 社区 导致 目前 需要
部分 造成 如果 规划 任何 开始 为什 为什么 有一 谢谢 的一 不知 规定 回复 大的 时候 个月 自己
"""
BOILERPLATE = frozenset(_BOILERPLATE.split())


def compact(text: str) -> str:
    """``text`` normalised, without spaces: a shingle of ``text`` is exactly a substring of this
    made only of content characters (so it cannot straddle punctuation)."""
    return _SPACE.sub("", normalize(text))


def runs(text: str) -> list[str]:
    """The content runs of ``text`` after normalisation (letters, digits, Chinese characters)."""
    return _RUN.findall(compact(text))


def shingles(text: str, ns: tuple[int, ...] = NS) -> frozenset[str]:
    out: set[str] = set()
    for run in runs(text):
        for n in ns:
            out.update(run[i : i + n] for i in range(len(run) - n + 1))
    return frozenset(out)


@dataclass(frozen=True)
class ShingleStats:
    """Document frequencies of shingles over a corpus; ``n_docs == 0`` means no corpus."""

    n_docs: int = 0
    df: Mapping[str, int] = field(default_factory=dict)
    max_df: float = MAX_DF
    fallback_stop: frozenset[str] = BOILERPLATE
    # Weight of every shingle seen, computed once: weighting is the hot loop of comparing.
    _weights: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.n_docs == 0:
            weights = dict.fromkeys(self.fallback_stop, 0.0)
        else:
            # One logarithm per distinct frequency, not per shingle: most are seen once or twice.
            cutoff = self.max_df * self.n_docs
            by_count = {
                c: 0.0 if c > cutoff else math.log((self.n_docs + 1) / (c + 1))
                for c in set(self.df.values())
            }
            weights = {s: by_count[c] for s, c in self.df.items()}
        object.__setattr__(self, "_weights", weights)

    @classmethod
    def fit(cls, docs: Iterable[frozenset[str]], *, max_df: float = MAX_DF) -> ShingleStats:
        """Frequencies over ``docs``; fewer than MIN_CORPUS texts give the built-in list, since
        in a handful of texts the duplicates themselves look like boilerplate."""
        counts: Counter[str] = Counter()
        n = 0
        for doc in docs:
            counts.update(doc)
            n += 1
        if n < MIN_CORPUS:
            return NO_CORPUS
        return cls(n, dict(counts), max_df)

    @property
    def unseen(self) -> float:
        """Weight of a shingle the corpus never saw (a new estate's name): the highest."""
        return math.log(self.n_docs + 1) if self.n_docs else 1.0

    def is_stop(self, shingle: str) -> bool:
        return self.weight(shingle) == 0.0

    def weight(self, shingle: str) -> float:
        # Smoothed IDF, log((N + 1) / (df + 1)); 0 for boilerplate.
        return self._weights.get(shingle, self.unseen)

    def weigh(self, items: Iterable[str]) -> dict[str, float]:
        """The informative shingles of ``items`` with their weights."""
        known, unseen = self._weights, self.unseen
        return {s: w for s in items if (w := known.get(s, unseen)) > 0}

    def stop_list(self, top: int = 50) -> list[str]:
        """The commonest boilerplate shingles, for showing what the data made stop words."""
        if self.n_docs == 0:
            return sorted(self.fallback_stop)[:top]
        common = [s for s, c in self.df.items() if c > self.max_df * self.n_docs]
        return sorted(common, key=lambda s: -self.df[s])[:top]


NO_CORPUS = ShingleStats()


@dataclass(frozen=True)
class Weighted:
    """A text's informative shingles with their weights, ready to compare."""

    weights: Mapping[str, float]
    total: float

    @classmethod
    def of(cls, text: str, stats: ShingleStats = NO_CORPUS) -> Weighted:
        return cls.from_shingles(shingles(text), stats)

    @classmethod
    def from_shingles(cls, items: Iterable[str], stats: ShingleStats = NO_CORPUS) -> Weighted:
        weights = stats.weigh(items)
        return cls(weights, sum(weights.values()))


def overlap(a: Weighted, b: Weighted) -> float:
    """Total weight of the shingles two texts share."""
    # The key intersection runs in C: twice as fast as testing each shingle in Python.
    weights = a.weights
    return sum(map(weights.__getitem__, weights.keys() & b.weights.keys()))


def similarity(a: Weighted, b: Weighted) -> float:
    """Weighted Jaccard: shared weight over the weight of either text's shingles.

    Jaccard rather than containment: a short text ("路灯坏了") is contained in almost any long
    complaint about lights, while two neighbours' reports of one problem share most of their
    specific shingles whatever their lengths. Chosen on the real messages (see docs/nlp.md).
    """
    shared = overlap(a, b)
    union = a.total + b.total - shared
    return shared / union if union > 0 else 0.0


def found_in(part: Weighted, compacted: str) -> float:
    """Share of ``part``'s weight whose shingles occur in a ``compact()``-ed text. Equal to
    ``containment(part, Weighted.of(text))`` but a few times cheaper, since ``in`` on a string
    runs in C and the other text is never shingled: a quick bound before the full comparison."""
    if part.total <= 0:
        return 0.0
    return sum(w for s, w in part.weights.items() if s in compacted) / part.total


def containment(part: Weighted, whole: Weighted) -> float:
    """Share of ``part``'s weight found in ``whole`` (how much of one text the other repeats)."""
    return overlap(part, whole) / part.total if part.total > 0 else 0.0
