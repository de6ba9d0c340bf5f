"""A consultation from opening to decision to tracked work orders, in the browser: the
supervisor opens a poll on the desk, a caller verifies with the code from the outbox and
votes, a second vote is refused, the supervisor ends it, decides and opens a work order, and
the public page shows the decision and the work order's progress as the unit takes it on."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from deliberationkit import INSIDE, code_from_outbox, plant_callers
from e2e_helpers import sign_in
from jiesu.deliberation.models import ConsultationWorkOrder
from jiesu.kit.clock import FixedClock
from jiesu.workflow.service import apply_action

from factories import World

PASSWORD = "password-123"


def test_consultation_from_opening_to_work_orders(
    chromium: Any, server: str, shots: Any, e2e_world: World, session: Session, clock: FixedClock
) -> None:
    plant_callers(session, e2e_world, clock)
    session.commit()
    ctx = chromium.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    desk = ctx.new_page()
    sign_in(desk, "sup", PASSWORD)
    desk.goto("/desk/consult")
    desk.fill("#f-title", "东华门夜间施工噪音怎么管")
    desk.fill("#f-question", "夜间施工噪音反复发生，您支持哪种办法？")
    desk.fill("#f-options", "限定施工时段\n设立噪音监测点\n维持现状")
    desk.select_option("#f-area", "110101001")
    desk.fill("#f-category", "0101")
    desk.click("#open-form button[type=submit]")
    desk.wait_for_url(lambda url: "done=opened" in url)
    cid = desk.url.split("/desk/consult/")[1].split("?")[0]
    assert desk.get_attribute("#phase", "data-phase") == "open"

    # A caller, not signed in, in a browser of their own.
    citizen = chromium.new_context(base_url=server, locale="zh-CN").new_page()
    citizen.goto(f"/consult/{cid}")
    assert "背景：诉求数据" in citizen.inner_text("#background")
    citizen.fill("#f-phone", INSIDE)
    citizen.click("#phone-form button[type=submit]")
    citizen.wait_for_selector("#code-form")
    session.expire_all()
    citizen.fill("#f-code", code_from_outbox(session))
    citizen.click("#code-form button[type=submit]")
    citizen.wait_for_url(lambda url: "done=verified" in url)
    citizen.check("#vote-form input[name=option_id] >> nth=1")
    citizen.click("#vote-form button[type=submit]")
    citizen.wait_for_url(lambda url: "done=vote" in url)
    assert citizen.inner_text("#turnout") == "已投票 1 人"
    assert citizen.get_attribute("#results li >> nth=1", "data-votes") == "1"
    shots.take(citizen, "consultation-voted")
    # A second vote from the same person (the form sent again) is refused and not counted.
    again = citizen.evaluate(
        """async (cid) => {
            const page = await (await fetch(`/consult/${cid}`)).text();
            const key = page.match(/name="form_key" value="([0-9a-f]+)"/);
            const option = page.match(/id="option-([0-9]+)"/)[1];
            const body = new URLSearchParams({form_key: key ? key[1] : '', option_id: option});
            const r = await fetch(`/consult/${cid}/vote`, {method: 'POST', body});
            return r.status;
        }""",
        cid,
    )
    assert again == 409, again
    citizen.reload()
    assert citizen.inner_text("#turnout") == "已投票 1 人"

    desk.reload()
    desk.click("#end-form button[type=submit]")
    desk.wait_for_url(lambda url: "done=end" in url)
    desk.fill("#f-decision", "22点后禁止产生噪音的施工，并设立噪音监测点")
    desk.select_option("#f-option_id", index=2)
    desk.fill("#f-reasons", "投票中“设立噪音监测点”居首，与近三个月的诉求一致")
    desk.click("#decide-form button[type=submit]")
    desk.wait_for_url(lambda url: "done=decide" in url)
    desk.fill("#f-text", "在东华门街道各工地周边设立噪音监测点，夜间巡查")
    desk.click("#work-order-form button[type=submit]")
    desk.wait_for_url(lambda url: "done=work-order" in url)
    assert desk.inner_text("#stages [data-stage=planned]") == "1"

    citizen.goto(f"/consult/{cid}")
    assert "22点后禁止产生噪音的施工" in citizen.inner_text("#decision")
    assert citizen.get_attribute("#decision tr[data-stage]", "data-stage") == "planned"
    # The unit takes the work order on: the public progress follows its real status.
    session.expire_all()
    wo = session.query(ConsultationWorkOrder).one()
    req, w = wo.request, e2e_world
    if req.status == "received":
        apply_action(session, req, "dispatch", actor=w.actor("disp"), now=clock.now(), ctx=w.ctx,
                     params={"unit": "ST-110101001"})  # fmt: skip
    apply_action(session, req, "accept", actor=w.actor("h1"), now=clock.now(), ctx=w.ctx)
    session.commit()
    citizen.reload()
    assert citizen.get_attribute("#decision tr[data-stage]", "data-stage") == "in_progress"
    assert citizen.inner_text("#stages [data-stage=in_progress]") == "1"
    shots.take(citizen, "consultation-decided")
    ctx.close()
