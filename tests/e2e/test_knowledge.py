"""The knowledge base in the browser: an operator types a caller's question, sees the article
with its source and date, answers directly, and the contact is a consultation; a citizen
finds the answer in self-service and says it helped."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from e2e_helpers import sign_in
from jiesu.kb.models import KbArticle, KbConsultation
from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest
from kbkit import HEATING, PARKING, article

from factories import World


@pytest.fixture
def articles(e2e_world: World, session: Session, clock: FixedClock) -> KbArticle:
    sup = e2e_world.actor("sup")
    a = article(session, sup, clock.now(), HEATING, owner_unit="ST-110101001")
    article(session, sup, clock.now(), PARKING)
    session.commit()
    return a


def test_operator_answers_from_the_knowledge_base(
    chromium: Any, articles: KbArticle, server: str, session: Session, shots: Any
) -> None:
    ctx = chromium.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    op = ctx.new_page()
    sign_in(op, "op", "password-123")
    assert op.url.endswith("/desk/intake")
    op.fill("#f-text", "您好，我家暖气不热，室温才十五度，找谁修？")
    hit = op.wait_for_selector(f".kb-hit[data-article='{articles.id}']")
    text = hit.inner_text()
    assert "供暖期暖气不热怎么办" in text and "东华门街道办事处" in text and "2026-11-02" in text
    shots.take(op, "desk-intake-knowledge")
    op.locator(f".kb-hit[data-article='{articles.id}'] .answered-directly").click()
    op.wait_for_selector("#consulted")
    session.expire_all()
    c = session.query(KbConsultation).one()
    assert (c.outcome, c.article_id, c.operator) == ("answered", articles.id, "op")
    assert c.question.startswith("您好，我家暖气不热") and c.top_match and 0 < c.top_match <= 1
    assert session.query(ServiceRequest).count() == 0
    ctx.close()


def test_citizen_finds_an_answer_in_self_service(
    chromium: Any, articles: KbArticle, server: str, session: Session, shots: Any
) -> None:
    ctx = chromium.new_context(base_url=server, locale="zh-CN")
    page = ctx.new_page()
    page.goto("/")
    page.click("a[href='/help']")
    page.fill("#f-q", "暖气不热找谁")
    page.click("#help-search")
    page.click(f"#help-hits a[href^='/help/articles/{articles.id}']")
    assert "室温低于18℃" in page.inner_text("#help-body")
    shots.take(page, "self-service-article")
    page.click("#help-yes")
    page.wait_for_selector("#help-thanks")
    session.expire_all()
    assert session.get(KbArticle, articles.id).helpful == 1  # type: ignore[union-attr]
    ctx.close()
