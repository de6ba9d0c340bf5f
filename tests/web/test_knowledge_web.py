"""The knowledge base on the web: the knowledge desk, the operator's answers as they type,
and self-service for citizens."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from jiesu.kb.models import KbArticle, KbConsultation
from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest
from kbkit import HEATING, PARKING, article

from factories import World


def _publish(session: Session, world: World, clock: FixedClock) -> KbArticle:
    a = article(session, world.actor("sup"), clock.now(), HEATING, owner_unit="ST-110101001")
    article(session, world.actor("sup"), clock.now(), PARKING)
    session.commit()
    return a


def test_knowledge_owner_writes_edits_and_reads_the_history(browser, session: Session) -> None:
    h1 = browser("h1")
    form = {
        "title": "供暖报修",
        "body": "# 供暖报修\n\n<img src=x onerror=alert(1)>拨打热线",
        "status": "published",
    }
    r = h1.post_form("/desk/knowledge/new", form, page="/desk/knowledge/new")
    assert r.status_code == 303
    article_id = int(re.search(r"/desk/knowledge/(\d+)", r.headers["location"]).group(1))
    page = h1.client.get(f"/desk/knowledge/{article_id}").text
    body = page.split('id="kb-body"')[1].split("</article>")[0]
    assert "东华门街道办事处" in page and "拨打热线" in body and "onerror" not in body
    edit = form | {"body": "改后的正文", "note": "更新热线"}
    r = h1.post_form(f"/desk/knowledge/{article_id}", edit,
                     page=f"/desk/knowledge/{article_id}")  # fmt: skip
    assert r.status_code == 303
    page = h1.client.get(f"/desk/knowledge/{article_id}").text
    assert (
        "改后的正文" in page
        and "更新热线" in page
        and f"/desk/knowledge/{article_id}/versions/1" in page
    )
    old = h1.client.get(f"/desk/knowledge/{article_id}/versions/1").text
    assert "拨打热线" in old and "改后的正文" not in old
    desk = h1.client.get("/desk/knowledge").text
    assert "供暖报修" in desk
    # A bad field comes back beside its field, nothing saved.
    bad = h1.post_form("/desk/knowledge/new", form | {"valid_until": "2026-13-40"},
                       page="/desk/knowledge/new")  # fmt: skip
    assert bad.status_code == 422 and 'id="err-valid_until"' in bad.text
    assert session.query(KbArticle).count() == 1


def test_operator_sees_answers_and_records_a_consultation(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    a = _publish(session, web_world, clock)
    op = browser("op")
    csrf = op.csrf("/desk/intake")
    panel = op.client.post(
        "/desk/intake/kb", data={"text": "家里暖气不热，找谁修"}, headers={"X-CSRF-Token": csrf}
    ).text
    first = panel.split('class="kb-hit"')[1]
    assert f'data-article="{a.id}"' in first and "东华门街道办事处" in first
    assert "2026-11-02" in first  # the date it was last updated
    form = {"text": "家里暖气不热，找谁修", "article_id": str(a.id), "kb_top_match": "0.82"}
    r = op.post_form("/desk/intake/consult", form, page="/desk/intake")
    assert r.status_code == 303 and "consulted=" in r.headers["location"]
    c = session.query(KbConsultation).one()
    assert (c.outcome, c.article_id, c.article_version, c.operator) == ("answered", a.id, 1, "op")
    assert c.top_match == 0.82
    assert session.query(ServiceRequest).count() == 0  # not a work order
    assert 'id="consulted"' in op.client.get(r.headers["location"]).text


def test_no_answer_found_is_noted_for_the_knowledge_owners(
    browser, web_world: World, session: Session
) -> None:
    op = browser("op")
    csrf = op.csrf("/desk/intake")
    for q in ("小区电梯坏了谁来修", "电梯坏了谁来修，我电话13812345678"):
        r = op.client.post(
            "/desk/intake/no-answer", data={"text": q}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 200 and 'id="kb-noted-ok"' in r.text
    empty = op.client.post(
        "/desk/intake/no-answer", data={"text": " "}, headers={"X-CSRF-Token": csrf}
    )
    assert empty.status_code == 422
    desk = browser("sup").client.get("/desk/knowledge").text
    gaps = desk.split('id="kb-gaps"')[1]
    assert "小区电梯坏了谁来修" in gaps and "<td>2</td>" in gaps
    kept = [c.question for c in session.query(KbConsultation).all()]
    assert not any("13812345678" in q for q in kept)  # the caller's number is not kept


def test_citizen_finds_an_answer_or_asks_with_the_search_attached(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    a = _publish(session, web_world, clock)
    citizen = browser(None)
    found = citizen.client.get("/help", params={"q": "暖气不热"}).text
    assert f"/help/articles/{a.id}" in found
    page = citizen.client.get(f"/help/articles/{a.id}", params={"q": "暖气不热"}).text
    assert "室温低于18℃" in page and 'id="help-feedback"' in page
    r = citizen.client.post(
        f"/help/articles/{a.id}/feedback",
        data={"helpful": "no", "q": "暖气不热", "seen": str(a.id)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    sorry = citizen.client.get(r.headers["location"]).text
    ask = re.search(r'href="(/\?kb_q=[^"]+)" id="help-ask"', sorry).group(1).replace("&amp;", "&")
    form = citizen.client.get(ask).text
    assert 'name="kb_q" value="暖气不热"' in form and 'id="kb-context"' in form
    form_id = re.search(r'name="form_id" value="([^"]+)"', form).group(1)
    sent = citizen.client.post(
        "/",
        data={"text": "暖气不热，文章里的电话打不通", "kb_q": "暖气不热", "kb_seen": str(a.id),
              "kb_no": str(a.id), "form_id": form_id},
        follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303
    req = session.query(ServiceRequest).one()
    assert req.attributes["self_service"] == {
        "query": "暖气不热", "articles_seen": [a.id], "not_helpful": [a.id],
    }  # fmt: skip
    session.refresh(a)
    assert a.not_helpful == 1
    staff_page = browser("sup").client.get(f"/desk/requests/{req.ticket}").text
    assert 'id="self-service"' in staff_page and "暖气不热" in staff_page


def test_files_uploaded_on_the_desk_are_imported_each_with_its_outcome(
    browser, web_world: World, session: Session
) -> None:
    h1 = browser("h1")
    csrf = h1.csrf("/desk/knowledge")
    md = "---\nstatus: published\n---\n# 垃圾分类\n\n厨余垃圾投入绿色桶。"
    files = [
        ("files", ("sorting.md", md.encode(), "text/markdown")),
        ("files", ("page.html", b"<h1>\xe5\x81\x9c\xe6\xb0\xb4<p>broken <b>markup", "text/html")),
        ("files", ("other-unit.md", b"---\nowner_unit: ST-110101008\n---\nx", "text/markdown")),
        ("files", ("photo.jpg", b"\xff\xd8\xff", "image/jpeg")),
    ]
    r = h1.client.post("/desk/knowledge/import", data={"csrf": csrf}, files=files)
    assert r.status_code == 422  # one or more failed; the rest are in
    rows = r.text.split('id="kb-import-results"')[1]
    assert "sorting.md" in rows and "page.html" in rows and "unknown kind" in rows
    assert "own unit" in rows  # a handler writes only the own unit's articles
    titles = {a.title: a for a in session.query(KbArticle).all()}
    assert set(titles) == {"垃圾分类", "停水"}
    assert titles["垃圾分类"].owner_unit.code == "ST-110101001"  # type: ignore[union-attr]
    again = h1.client.post("/desk/knowledge/import", data={"csrf": csrf}, files=files[:1])
    assert again.status_code == 200 and "无变化" in again.text
    assert session.query(KbArticle).count() == 2
