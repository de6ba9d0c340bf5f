"""What the search counts in a text: words (rjieba), character bigrams of every run of
Chinese characters, and one term per synonym group found anywhere in the text.

Words find what the operator means when the segmenter agrees with the article; bigrams find
it when it does not (供暖费 vs 供暖 + 费, names the dictionary lacks); synonym groups find
暖气 in an article that only says 供暖. Terms carry a prefix so that the word 供暖 and the
bigram 供暖 are counted apart (bigrams are the terms without a prefix).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import rjieba
from ahocorasick_rs import AhoCorasick, MatchKind

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORDLIKE = re.compile(r"[\w\u3400-\u9fff]")
# Words too common in requests and articles to say anything about which one fits.
_STOP = (
    "的 了 是 在 和 与 及 或 我 你 他 她 它 我们 你们 他们 这 那 这个 那个 有 没有 就 都 也 还 "
    "吗 呢 吧 啊 呀 请 请问 您好 你好 一下 一个 怎么 怎么办 什么 如何 可以 能 能否 是否 为什么 "
    "哪里 哪些 多少 因为 所以 但是 如果 要 想 会 被 把 对 向 从 给 让 问题 情况 反映 希望 "
    "the a an of to and or is are in on for at by with be it this that what how can do i my"
)
STOPWORDS = frozenset(_STOP.split())


def normalise(text: str) -> str:
    # Full-width letters and digits (ＡＢＣ１２３) read as the usual ones; case does not count.
    return unicodedata.normalize("NFKC", text).lower()


class Synonyms:
    """Groups of words that mean the same; found as substrings, so a group member inside a
    longer word (供暖费) still counts."""

    def __init__(self, groups: Sequence[Sequence[str]]):
        self.groups: list[list[str]] = []
        patterns: list[str] = []
        self._group_of: list[int] = []
        for terms in groups:
            clean = sorted({normalise(t).strip() for t in terms if t.strip()})
            if len(clean) < 2:
                continue
            index = len(self.groups)
            self.groups.append(clean)
            for term in clean:
                patterns.append(term)
                self._group_of.append(index)
        self._matcher = AhoCorasick(patterns, matchkind=MatchKind.Standard) if patterns else None

    def found(self, text: str) -> set[int]:
        if self._matcher is None:
            return set()
        return {self._group_of[i] for i, _, _ in self._matcher.find_matches_as_indexes(text, True)}


NO_SYNONYMS = Synonyms([])


def words(text: str) -> list[str]:
    return [
        w
        for w in rjieba.cut(text)
        if w.strip() and _WORDLIKE.search(w) and w not in STOPWORDS and not w.isdigit()
    ]


def bigrams(text: str) -> Iterable[str]:
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            yield run
        for i in range(len(run) - 1):
            yield run[i : i + 2]


def terms(text: str, synonyms: Synonyms = NO_SYNONYMS) -> Counter[str]:
    """Every term of a text with its count: ``w:<word>``, ``s:<group>`` and bare bigrams (the
    bulk of the terms; left without a prefix because building those strings was the slowest
    part of indexing)."""
    t = normalise(text)
    counts: Counter[str] = Counter(bigrams(t))
    for w in words(t):
        counts["w:" + w] += 1
    for g in synonyms.found(t):
        counts[f"s:{g}"] += 1
    return counts


def kind_of(term: str) -> str:
    """w (word), s (synonym group) or b (bigram)."""
    return term[0] if term[1:2] == ":" and term[0] in "ws" else "b"
