"""The call-back desk: the queue, a call reached or not, and the private answer link."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.loop.models import CallbackTask
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_request


def _replied(session: Session, world: World, clock: FixedClock) -> ServiceRequest:
    req = make_request(session, world, clock.now(), contact={"phone": "13700001111", "name": "李"})
    ctx, now = world.ctx, clock.now()
    apply_action(
        session,
        req,
        "dispatch",
        actor=world.actor("disp"),
        now=now,
        ctx=ctx,
        params={"unit": "ST-110101001"},
    )
    apply_action(session, req, "accept", actor=world.actor("h1"), now=now, ctx=ctx)
    apply_action(
        session,
        req,
        "reply",
        actor=world.actor("h1"),
        now=now,
        ctx=ctx,
        params={"text": "已责令施工方夜间停工。"},
    )
    session.commit()
    return req


def _task(session: Session, req: ServiceRequest) -> CallbackTask:
    session.expire_all()
    return session.query(CallbackTask).filter_by(request_id=req.id).one()


def test_queue_shows_reply_and_phone_and_a_reached_call_closes(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = _replied(session, web_world, clock)
    op = browser("op")
    page = op.client.get("/desk/callbacks").text
    card = page.split(f'data-ticket="{req.ticket}"')[1]
    assert "已责令施工方夜间停工" in card and "13700001111" in card
    task = _task(session, req)
    # Reached but no verdict: refused, naming the fields.
    bad = op.post_form(
        f"/desk/callbacks/{task.id}/attempt", {"reached": "yes"}, page="/desk/callbacks"
    )
    assert bad.status_code == 422 and 'id="err-resolution"' in bad.text
    ok = op.post_form(
        f"/desk/callbacks/{task.id}/attempt",
        {"reached": "yes", "resolution": "solved", "satisfaction": "satisfied"},
        page="/desk/callbacks",
    )
    assert ok.status_code == 303
    session.expire_all()
    assert session.get(ServiceRequest, req.id).status == "closed"
    assert f'data-ticket="{req.ticket}"' not in op.client.get("/desk/callbacks").text


def test_unsatisfied_answer_reopens_and_no_answer_is_counted(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = _replied(session, web_world, clock)
    op = browser("op")
    task = _task(session, req)
    op.post_form(
        f"/desk/callbacks/{task.id}/attempt",
        {"reached": "no", "note": "无人接听"},
        page="/desk/callbacks",
    )
    assert _task(session, req).attempts == 1
    op.post_form(
        f"/desk/callbacks/{task.id}/attempt",
        {"reached": "yes", "resolution": "unsolved", "satisfaction": "unsatisfied"},
        page="/desk/callbacks",
    )
    session.expire_all()
    got = session.get(ServiceRequest, req.id)
    assert got.status == "dispatched" and got.reopen_count == 1


def test_private_link_lets_the_caller_answer_online(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = _replied(session, web_world, clock)
    op = browser("op")
    r = op.post_form(f"/desk/callbacks/{_task(session, req).id}/link", {}, page="/desk/callbacks")
    path = re.search(r"link=(/cb/[^&]+)", r.headers["location"]).group(1)
    assert path in op.client.get(r.headers["location"]).text
    caller = browser(None)
    assert req.ticket in caller.client.get(path).text
    done = caller.client.post(
        path, data={"resolution": "solved", "satisfaction": "basically"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert caller.client.get(path).status_code == 410  # once only


def test_call_desk_roles(browser) -> None:
    assert browser("h1").client.get("/desk/callbacks").status_code == 403
    assert browser("sup").client.get("/desk/callbacks").status_code == 200
