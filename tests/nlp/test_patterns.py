"""The fast pattern set finds exactly what each pattern finds on its own with plain re."""

from __future__ import annotations

import random
import re

import pytest

from jiesu.nlp.patterns import PatternSet, keyword_alternative, regex_alternatives

PATTERNS = [
    "(?:煤气|燃气)[^，]{0,3}泄漏",
    "(?<!烟囱)冒(?:黑|白)?烟",
    "没有?(?:自来)?水(?![费表])",
    "(?<!手机)(?<!电瓶)没电",
    "[煤燃]气",  # starts with a class: the slow path
    "火灾(?!隐患)",
    "不\\.是",
]
ALPHABET = "煤燃气泄漏，冒黑白烟囱没有自来水费表手机电瓶火灾隐患不是."


def spans(pattern: str, text: str) -> set[int]:
    return {m.start() for m in re.finditer(f"(?=(?:{pattern}))", text)}


def test_regexes_are_split_into_literal_heads() -> None:
    assert [a.head for a in regex_alternatives("(?:煤气|燃气)泄漏")] == ["煤气泄漏", "燃气泄漏"]
    assert [a.head for a in regex_alternatives("(?:多|好几)次?反映")] == ["多", "好几"]
    assert regex_alternatives("(?<!烟囱)冒烟")[0].behinds == (("!", "烟囱"),)
    assert [a.head for a in regex_alternatives("[煤燃]气")] == [""]  # slow path
    assert [a.head for a in regex_alternatives("没有?水")] == ["没"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_each_pattern_finds_what_re_finds(pattern: str) -> None:
    rng = random.Random(7)
    compiled = PatternSet([(0, a) for a in regex_alternatives(pattern)])
    for _ in range(400):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14)))
        found = {start for _, start, _ in compiled.finditer(text)}
        assert found == spans(pattern, text), (pattern, text)


def test_keywords_in_one_set_are_all_found_with_their_owner() -> None:
    words = ["煤气泄漏", "煤气味", "停水", "gas leak", "no water"]
    pset = PatternSet([(n, keyword_alternative(w)) for n, w in enumerate(words)])
    text = "停水了，煤气味很大。gas leak! not no watery"
    hits = sorted((start, owner) for owner, start, _ in pset.finditer(text))
    assert hits == [(0, 2), (4, 1), (10, 3)]  # "no watery" is not the word "no water"


def test_owners_anchored_at_the_same_character_are_all_reported() -> None:
    # Both stop at 灾, the rarest character of each; one must not hide the other.
    pset = PatternSet(
        [(0, a) for a in regex_alternatives("(?:引发|造成)火灾")]
        + [(1, a) for a in regex_alternatives("火灾(?!隐患)")]
    )
    assert sorted((o, s) for o, s, _ in pset.finditer("长时间使用造成火灾")) == [(0, 5), (1, 7)]
    assert sorted(o for o, _, _ in pset.finditer("存在火灾隐患")) == []
