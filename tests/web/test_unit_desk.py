"""A unit asks to leave a request out of its scoring (不合理诉求) through the form, sees its
requests, and a supervisor decides it on the review desk."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.loop.models import ScoringExclusion
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_request


def _at_h1(session: Session, world: World, clock: FixedClock) -> ServiceRequest:
    req = make_request(session, world, clock.now())
    apply_action(
        session,
        req,
        "dispatch",
        actor=world.actor("disp"),
        now=clock.now(),
        ctx=world.ctx,
        params={"unit": "ST-110101001"},
    )
    session.commit()
    return req


def test_exclusion_is_asked_listed_and_decided_by_a_supervisor(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = _at_h1(session, web_world, clock)
    h1 = browser("h1")
    url = f"/desk/requests/{req.ticket}/exclusion"
    form = h1.client.get(url)
    assert form.status_code == 200 and 'name="reason"' in form.text
    r = h1.post_form(
        url,
        {
            "reason": "诉求人要求为其私人车位免费安装充电桩，超出政府职责",
            "evidence_note": "已电话说明政策，录音编号 20261102-17",
            "evidence_url": "https://example.org/policy.pdf",
        },
        page=url,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/desk/unit/exclusions")
    session.expire_all()
    x = session.scalar(select(ScoringExclusion).where(ScoringExclusion.request_id == req.id))
    assert x is not None and x.status == "pending" and len(x.evidence) == 2
    kinds = session.scalars(select(Event.kind).where(Event.request_id == req.id)).all()
    assert "exclusion_requested" in kinds
    mine = h1.client.get("/desk/unit/exclusions").text
    assert f'data-exclusion="{x.id}"' in mine and "超出政府职责" in mine

    sup = browser("sup")
    review = sup.client.get("/desk/review")
    assert review.status_code == 200 and f'id="exclusion-{x.id}"' in review.text
    r = sup.post_form(
        f"/desk/review/exclusions/{x.id}",
        {"decision": "approve", "note": "属实，超出职责范围"},
        page="/desk/review",
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.get(ScoringExclusion, x.id).status == "approved"
    assert "已同意" in h1.client.get("/desk/unit/exclusions").text


def test_refused_exclusion_form_keeps_what_was_typed(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = _at_h1(session, web_world, clock)
    h1 = browser("h1")
    url = f"/desk/requests/{req.ticket}/exclusion"
    r = h1.post_form(url, {"reason": "  ", "evidence_note": "现场照片三张"}, page=url)
    assert r.status_code == 422
    assert 'id="err-reason"' in r.text and "现场照片三张" in r.text
    r = h1.post_form(url, {"reason": "不合理", "evidence_url": "ftp://x"}, page=url)
    assert r.status_code == 422 and 'id="err-evidence_url"' in r.text
    assert session.scalar(select(ScoringExclusion)) is None
    # A second request while one is pending is refused with the reason on the form.
    assert h1.post_form(url, {"reason": "超出职责"}, page=url).status_code == 303
    again = h1.post_form(url, {"reason": "再次申请"}, page=url)
    assert again.status_code == 409 and "再次申请" in again.text


def test_only_the_own_units_handler_may_ask(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = _at_h1(session, web_world, clock)
    url = f"/desk/requests/{req.ticket}/exclusion"
    h2 = browser("h2")
    assert h2.client.get(url).status_code == 403
    refused = h2.client.post(url, data={"reason": "x", "csrf": h2.csrf("/desk/unit/exclusions")})
    assert refused.status_code == 403
    for who in ("disp", "sup", "analyst"):
        assert browser(who).client.get("/desk/unit/exclusions").status_code == 403
    assert session.scalar(select(ScoringExclusion)) is None
