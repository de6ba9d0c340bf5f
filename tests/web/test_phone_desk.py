"""The operator's phone desk: reading the call as it is typed, and its three ways out."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest

from factories import World, make_request

CALL = {
    "phone": "13900002222",
    "name": "王先生",
    "text": "楼下饭店每天夜里施工，噪音很大",
    "area": "110101001",
    "form_id": "call-1",
}


def test_operator_creates_a_work_order_from_the_desk(browser, session: Session) -> None:
    op = browser("op")
    assert op.client.get("/desk/intake").status_code == 200
    r = op.post_form("/desk/intake", CALL | {"how": "order"}, page="/desk/intake")
    assert r.status_code == 303
    ticket = re.search(r"created=([^&]+)", r.headers["location"]).group(1)
    req = session.query(ServiceRequest).filter_by(ticket=ticket).one()
    assert req.channel == "phone" and req.contact.phone == "13900002222"
    assert req.area.code == "110101001"
    # Pressing twice (or the browser resending) finds the same request.
    again = op.post_form("/desk/intake", CALL | {"how": "order"}, page="/desk/intake")
    assert again.headers["location"] == r.headers["location"]
    assert session.query(ServiceRequest).count() == 1
    page = op.client.get(r.headers["location"]).text
    assert f"/desk/requests/{ticket}" in page


def test_panel_reads_the_call_and_shows_the_callers_history(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    earlier = make_request(session, web_world, clock.now(), contact={"phone": "13900002222"})
    session.commit()
    op = browser("op")
    csrf = op.csrf("/desk/intake")
    panel = op.client.post(
        "/desk/intake/read",
        data={"text": "家里停水两天了", "phone": "13900002222"},
        headers={"X-CSRF-Token": csrf},
    ).text
    assert 'class="secondary pick-category" data-code="010102"' in panel  # 停水
    assert earlier.ticket in panel.split('id="caller-history"')[1]
    # The same text about the same place: the open request is offered as a duplicate.
    dup = op.client.post(
        "/desk/intake/read",
        headers={"X-CSRF-Token": csrf},
        data={"text": "楼下饭店每天夜里施工，噪音很大", "area": "110101001"},
    ).text
    assert f'data-ticket="{earlier.ticket}"' in dup


def test_merge_as_duplicate_and_answer_directly(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    original = make_request(session, web_world, clock.now())
    session.commit()
    op = browser("op")
    r = op.post_form(
        "/desk/intake", CALL | {"how": "merge", "merge_into": original.ticket}, page="/desk/intake"
    )
    assert r.status_code == 303 and "how=merge" in r.headers["location"]
    ticket = re.search(r"created=([^&]+)", r.headers["location"]).group(1)
    merged = session.query(ServiceRequest).filter_by(ticket=ticket).one()
    assert merged.status == "merged" and merged.duplicate_of_id == original.id
    question = {
        "text": "请问办理居住证需要带哪些材料？",
        "form_id": "call-2",
        "how": "answer",
        "answer": "带身份证和租房合同到社区服务站办理。",
    }
    r = op.post_form("/desk/intake", question, page="/desk/intake")
    ticket = re.search(r"created=([^&]+)", r.headers["location"]).group(1)
    answered = session.query(ServiceRequest).filter_by(ticket=ticket).one()
    assert answered.status == "answered" and answered.lead_unit_id is None


def test_bad_input_names_the_field_and_keeps_the_words(browser, session: Session) -> None:
    op = browser("op")
    r = op.post_form(
        "/desk/intake", {"text": "", "phone": "13900002222", "how": "order"}, page="/desk/intake"
    )
    assert r.status_code == 422 and 'id="err-text"' in r.text and "13900002222" in r.text
    r = op.post_form(
        "/desk/intake", CALL | {"category": "999999", "how": "order"}, page="/desk/intake"
    )
    assert r.status_code == 422 and 'id="err-category"' in r.text and "噪音很大" in r.text
    r = op.post_form("/desk/intake", CALL | {"how": "answer", "form_id": "x"}, page="/desk/intake")
    assert r.status_code == 422 and 'id="err-answer"' in r.text
    assert session.query(ServiceRequest).count() == 0


def test_only_the_call_desk_uses_it(browser) -> None:
    assert browser("h1").client.get("/desk/intake").status_code == 403
    assert browser("disp").client.get("/desk/intake").status_code == 403
