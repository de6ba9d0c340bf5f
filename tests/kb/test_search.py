"""The search: words and bigrams, the city's synonyms, articles in force only, areas, the
index following every change, and similar past answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from jiesu.kb import synonyms
from jiesu.kb.bm25 import Bm25Index
from jiesu.kb.consult import GOOD_MATCH
from jiesu.kb.past import forget as forget_past
from jiesu.kb.past import similar_past_answers
from jiesu.kb.search import search_articles
from jiesu.kb.service import ArticleFields, update_article
from jiesu.kb.tokens import terms
from jiesu.kit.clock import FixedClock
from jiesu.workflow.service import apply_action
from kbkit import HEATING, PARKING, TODAY, WATER, article

from factories import make_request, make_world


def _titles(session: Session, q: str, **kw: object) -> list[str]:
    return [h.article.title for h in search_articles(session, q, today=TODAY, **kw)]  # type: ignore[arg-type]


def test_bm25_prefers_the_rarer_term_and_the_shorter_document() -> None:
    docs = [
        terms("停车 收费"),
        terms("停车 停车 停车 收费 公告 小区 物业 通知 很长的文字"),
        terms("供暖"),
    ]
    index = Bm25Index(docs)
    assert index.idf("w:供暖") > index.idf("w:停车")
    hits = index.top({"w:停车": 1.0}, 3)
    assert [h.doc for h in hits][:1] in ([0], [1]) and all(h.doc != 2 for h in hits)
    assert index.top({"w:no-such": 1.0}, 3) == []
    # Coverage: the share of the question (by weight × idf) a document contains.
    assert index.coverage({"w:停车": 1.0, "w:收费": 1.0}, 0) == 1.0
    assert index.coverage({"w:供暖": 1.0}, 0) == 0.0
    half = index.coverage({"w:停车": 1.0, "w:供暖": 1.0}, 0)
    assert 0 < half < 0.5  # 供暖 is the rarer word: it weighs more


def test_words_bigrams_and_synonyms_find_the_article(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    admin = world.actor("admin")
    for body in (HEATING, PARKING, WATER):
        article(session, admin, clock.now(), body)
    best = search_articles(session, "家里暖气不热，找谁修？", today=TODAY)[0]
    assert best.article.title == "供暖期暖气不热怎么办" and best.match > GOOD_MATCH
    off = search_articles(session, "公园的停车场几点开门", today=TODAY)
    assert off and off[0].match < GOOD_MATCH  # found by 停车 alone: not an answer
    # 采暖 is nowhere in the article: the built-in synonym group 暖气/供暖/采暖 finds it.
    assert _titles(session, "采暖")[0] == "供暖期暖气不热怎么办"
    # A word the segmenter splits differently still meets the article through bigrams.
    assert _titles(session, "停车费多少钱一个月")[0] == "居住区停车收费标准"
    assert _titles(session, "") == [] and _titles(session, "今天天气") == []


def test_the_city_edits_synonyms_and_the_index_follows(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    article(session, world.actor("admin"), clock.now(), PARKING)
    assert _titles(session, "泊位") == []
    groups = [*synonyms.current(session), ["停车位", "泊位"]]
    synonyms.replace(session, groups, actor="admin", now=clock.now() + timedelta(seconds=1))
    assert _titles(session, "泊位") == ["居住区停车收费标准"]


def test_only_articles_in_force_are_found(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    admin = world.actor("admin")
    a = article(session, admin, clock.now(), HEATING, valid_until=TODAY + timedelta(days=1))
    article(session, admin, clock.now(), PARKING, status="draft")
    assert _titles(session, "暖气不热") == ["供暖期暖气不热怎么办"]
    assert [
        h.article.id for h in search_articles(session, "暖气", today=TODAY + timedelta(2))
    ] == []
    assert _titles(session, "停车收费") == []  # a draft
    # Unpublishing is seen at once by the next search (the index's stamp moved).
    f = ArticleFields(title=a.title, body=a.body, status="draft")
    update_article(session, a, f, actor=admin, now=clock.now() + timedelta(1), today=TODAY)
    assert _titles(session, "暖气不热") == []


def test_an_article_for_some_areas_answers_their_questions(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    article(session, world.actor("admin"), clock.now(), PARKING, areas=["110101001"])
    street, other = "110101/110101001/", "110102/"
    assert _titles(session, "停车收费", area_path="110000/" + street)
    assert _titles(session, "停车收费", area_path="110000/" + other) == []
    assert _titles(session, "停车收费")  # no place known: shown


def test_similar_past_answers_come_from_the_same_category(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    for text, category in (("夜里施工噪音太大", "010101"), ("小区停水了三天", "010102")):
        req = make_request(session, world, clock.now(), text=text, category=category)
        apply_action(session, req, "dispatch", actor=world.actor("disp"), now=clock.now(),
                     ctx=world.ctx, params={"unit": "ST-110101001"})  # fmt: skip
        apply_action(session, req, "accept", actor=world.actor("h1"), now=clock.now(),
                     ctx=world.ctx)  # fmt: skip
        reply = {"text": f"已处理：{text}，请拨打13800138000联系"}
        apply_action(session, req, "reply", actor=world.actor("h1"), now=clock.now(),
                     ctx=world.ctx, params=reply)  # fmt: skip
    session.flush()
    forget_past()
    noise = "01/0101/010101/"
    hits = similar_past_answers(session, "施工噪音扰民", category_path=noise, area_path=None)
    assert len(hits) == 1 and "施工" in hits[0].past.reply
    assert "13800138000" not in hits[0].past.reply  # masked as on the tracking page
    assert similar_past_answers(session, "停水", category_path=noise, area_path=None) == []
    assert similar_past_answers(session, "施工", category_path=None, area_path=None) == []


def test_a_large_index_is_rebuilt_in_the_background_and_never_shows_what_left(
    session: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jiesu.kb import search

    world = make_world(session, clock.now())
    admin = world.actor("admin")
    a = article(session, admin, clock.now(), HEATING)
    assert _titles(session, "暖气不热") == [a.title]  # the first index is built at once
    monkeypatch.setattr(search, "SYNC_REBUILD", 0)
    f = ArticleFields(title=a.title, body=a.body, status="draft")
    update_article(session, a, f, actor=admin, now=clock.now() + timedelta(1), today=TODAY)
    article(session, admin, clock.now() + timedelta(2), PARKING)
    old = next(iter(search._cache.slots.values()))
    # The old index still holds the heating article, but the hit is checked and dropped.
    assert _titles(session, "暖气不热") == []
    slot = old
    assert slot.building is not None
    slot.building.join(timeout=30)
    assert _titles(session, "停车收费") == ["居住区停车收费标准"]  # the new index
