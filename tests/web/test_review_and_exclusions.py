"""A unit asks to leave an unreasonable request out of scoring; a supervisor decides it on the
review desk, which also lists contested dispatches, invalid proposals and flagged replies."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.loop.models import ScoringExclusion
from jiesu.workflow.service import apply_action

from factories import World, make_request


def _with_unit(session: Session, world: World, clock: FixedClock):  # type: ignore[no-untyped-def]
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


def test_exclusion_asked_by_the_unit_and_decided_by_a_supervisor(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = _with_unit(session, web_world, clock)
    h1 = browser("h1")
    assert 'id="ask-exclusion"' in h1.client.get(f"/desk/requests/{req.ticket}").text
    r = h1.post_form(
        f"/desk/requests/{req.ticket}/exclusion",
        {
            "reason": "诉求人要求为其个人装修提供资金，超出政府职责",
            "evidence_note": "现场核实记录",
            "evidence_url": "https://example.org/photo.jpg",
        },
    )
    assert r.status_code == 303
    x = session.query(ScoringExclusion).one()
    assert x.status == "pending" and len(x.evidence) == 2
    sup = browser("sup")
    page = sup.client.get("/desk/review").text
    assert f'id="exclusion-{x.id}"' in page and "超出政府职责" in page
    bad = sup.post_form(
        f"/desk/review/exclusions/{x.id}", {"note": "理由不足"}, page="/desk/review"
    )
    assert bad.status_code == 422 and 'id="err-decision"' in bad.text
    ok = sup.post_form(
        f"/desk/review/exclusions/{x.id}",
        {"decision": "approve", "note": "核实属实"},
        page="/desk/review",
    )
    assert ok.status_code == 303
    session.expire_all()
    assert session.get(ScoringExclusion, x.id).status == "approved"


def test_review_lists_disputes_and_invalid_proposals(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    contested = _with_unit(session, web_world, clock)
    apply_action(
        session,
        contested,
        "contest",
        actor=web_world.actor("h1"),
        now=clock.now(),
        ctx=web_world.ctx,
        params={"reason": "应由交道口街道办理", "proposed_unit": "ST-110101008"},
    )
    spam = make_request(session, web_world, clock.now(), text="广告：办证刻章")
    apply_action(
        session,
        spam,
        "mark_invalid",
        actor=web_world.actor("op"),
        now=clock.now(),
        ctx=web_world.ctx,
        params={"reason": "广告"},
    )
    session.commit()
    page = browser("sup").client.get("/desk/review").text
    disputes = page.split('id="disputes"')[1].split("</table>")[0]
    assert contested.ticket in disputes and "应由交道口街道办理" in disputes
    assert spam.ticket in page.split('id="invalid"')[1].split("</ul>")[0]
    assert browser("h1").client.get("/desk/review").status_code == 403
    assert browser("op").client.get("/desk/review").status_code == 403
    # Another unit's handler may not ask to exclude it.
    h2 = browser("h2")
    refused = h2.post_form(
        f"/desk/requests/{contested.ticket}/exclusion", {"reason": "x"}, page="/desk/unit"
    )
    assert refused.status_code == 403
