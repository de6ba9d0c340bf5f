"""Cold-start category suggestions from the taxonomy's names and keywords, used at intake."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.nlp.keywords import KeywordClassifier, Leaf

from factories import make_request, make_world

LEAVES = [
    Leaf("A", "噪音扰民", ("噪音", "扰民", "夜间施工")),
    Leaf("B", "停水", ("停水", "没水")),
    Leaf("C", "燃气泄漏", ("燃气", "煤气味")),
]


def test_suggestions_rank_with_reasons() -> None:
    kc = KeywordClassifier(LEAVES)
    top = kc.suggest("楼下工地夜间施工，噪音太大了，严重扰民")
    assert top[0].code == "A" and top[0].confidence > 0.5
    assert set(top[0].why) == {"噪音", "扰民", "夜间施工"}
    assert kc.suggest("今天天气不错") == []
    # Normalised first: full-width and stray whitespace do not hide a keyword.
    assert kc.suggest("家里停水一天了，\t没水\n")[0].code == "B"


def test_two_categories_equally_matched_are_not_confident() -> None:
    kc = KeywordClassifier(LEAVES)
    both = kc.suggest("没水，还有煤气味")
    assert {s.code for s in both} == {"B", "C"}
    assert all(s.confidence < 0.5 for s in both)


def test_intake_applies_a_confident_suggestion_unconfirmed(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    req = make_request(
        session, world, clock.now(), category=None, text="小区停水两天了，停水没人管"
    )
    assert req.category is not None and req.category.code == "010102"
    assert not req.category_confirmed and req.category_confidence is not None
    unsure = make_request(session, world, clock.now(), category=None, text="想咨询一下政策")
    assert unsure.category is None and unsure.category_confidence is None
