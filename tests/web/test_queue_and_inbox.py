"""The dispatcher's queue and the unit's inbox, through the pages and their forms."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_request


def _dispatched(session: Session, world: World, clock: FixedClock, unit: str, **kw: str):  # type: ignore[no-untyped-def]
    req = make_request(session, world, clock.now(), **kw)
    apply_action(
        session,
        req,
        "dispatch",
        actor=world.actor("disp"),
        now=clock.now(),
        ctx=world.ctx,
        params={"unit": unit},
    )
    return req


def test_queue_shows_waiting_requests_and_dispatches_with_one_press(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = make_request(session, web_world, clock.now(), text="小区楼下噪音扰民，夜里施工")
    session.commit()
    disp = browser("disp")
    page = disp.client.get("/desk/dispatch")
    assert page.status_code == 200
    assert f'data-ticket="{req.ticket}"' in page.text
    units = re.findall(r'name="unit" value="([^"]+)"', page.text)
    assert units, "the queue offers suggested units"
    r = disp.post_form(
        f"/desk/requests/{req.ticket}/act/dispatch",
        {"unit": units[0], "next": "/desk/dispatch"},
        page="/desk/dispatch",
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/desk/dispatch?done=")
    session.expire_all()
    got = session.get(ServiceRequest, req.id)
    assert got.status == "dispatched" and got.lead_unit.code == units[0]
    assert f'data-ticket="{req.ticket}"' not in disp.client.get("/desk/dispatch").text


def test_returned_request_shows_its_reason_in_the_queue(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = _dispatched(session, web_world, clock, "ST-110101001")
    apply_action(
        session,
        req,
        "return",
        actor=web_world.actor("h1"),
        now=clock.now(),
        ctx=web_world.ctx,
        params={"reason": "不属于本街道管辖，应由交道口街道办理"},
    )
    session.commit()
    page = browser("disp").client.get("/desk/dispatch").text
    assert "不属于本街道管辖" in page
    # The unit that returned it is not suggested again.
    card = page.split(f'data-ticket="{req.ticket}"')[1].split("</article>")[0]
    assert 'value="ST-110101001"' not in card


def test_queue_is_for_dispatch_roles_only(browser) -> None:
    assert browser("h1").client.get("/desk/dispatch").status_code == 403
    assert browser("analyst").client.get("/desk/dispatch").status_code == 403


def test_inbox_lists_own_unit_by_deadline_and_accepts(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    slow = _dispatched(session, web_world, clock, "ST-110101001", category="010101")  # 7wd
    fast = _dispatched(session, web_world, clock, "ST-110101001", category="010102")  # 24h
    other = _dispatched(session, web_world, clock, "ST-110101008")
    session.commit()
    h1 = browser("h1")
    page = h1.client.get("/desk/unit").text
    order = re.findall(r'<tr data-ticket="([^"]+)"', page)
    assert order == [fast.ticket, slow.ticket]
    assert other.ticket not in page
    assert re.search(r'id="n-to-accept">2<', page)
    r = h1.post_form(
        f"/desk/requests/{fast.ticket}/act/accept", {"next": "/desk/unit"}, page="/desk/unit"
    )
    assert r.status_code == 303
    assert re.search(r'id="n-in-progress">1<', h1.client.get("/desk/unit").text)
    assert browser("disp").client.get("/desk/unit").status_code == 403


def test_reply_hints_score_a_draft_and_reply_is_recorded(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = _dispatched(session, web_world, clock, "ST-110101001")
    apply_action(
        session, req, "accept", actor=web_world.actor("h1"), now=clock.now(), ctx=web_world.ctx
    )
    session.commit()
    h1 = browser("h1")
    assert h1.client.get(f"/desk/unit/reply/{req.ticket}").status_code == 200
    csrf = h1.csrf(f"/desk/unit/reply/{req.ticket}")
    url = f"/desk/unit/reply-check/{req.ticket}"
    weak = h1.client.post(url, data={"text": "已处理。"}, headers={"X-CSRF-Token": csrf})
    good = h1.client.post(
        url,
        headers={"X-CSRF-Token": csrf},
        data={
            "text": "您好，11月3日我街道城管队到现场核查，施工方夜间施工噪音属实，已责令其晚22点后"
            "停止施工并罚款，后续每晚巡查一周。感谢您的监督。"
        },
    )
    score = lambda html: int(re.search(r'id="reply-score"[^>]*>(\d+)/100', html).group(1))  # noqa: E731
    assert 'id="reply-flags"' in weak.text
    assert score(good.text) > score(weak.text)
    # Another unit's handler may not even check a reply on it.
    other = browser("h2")
    refused = other.client.post(
        url, data={"text": "x"}, headers={"X-CSRF-Token": other.csrf("/desk/unit")}
    )
    assert refused.status_code == 403
    r = h1.post_form(
        f"/desk/requests/{req.ticket}/act/reply",
        {"text": "已更换路灯。", "next": "/desk/unit"},
        page="/desk/unit",
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.get(ServiceRequest, req.id).status == "replied"
