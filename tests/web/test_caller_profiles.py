"""Caller profiles on the desks: the phone panel shows the caller's earlier requests with their
outcomes, open flags and unsolved ones; the request page raises a repeat caller, takes a flag
(reason and consent required) and removes it; analysts see only the shape."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock

from factories import World, make_request

PHONE = "13900002222"


def test_the_caller_on_the_phone_panel_and_the_request_page(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    first = make_request(session, web_world, clock.now(), contact={"phone": PHONE})
    again = make_request(session, web_world, clock.now(), contact={"phone": PHONE},
                         text="夜里施工又开始了，还是很吵")  # fmt: skip
    session.commit()
    op = browser("op")
    page = op.client.get(f"/desk/requests/{again.ticket}").text
    assert 'id="repeat-caller"' in page and first.ticket in page.split('id="repeat-caller"')[1]
    url = f"/desk/requests/{again.ticket}/caller-flags"
    bad = op.post_form(url, {"kind": "elderly_alone", "reason": "", "consent": "yes"})
    assert bad.status_code == 422 and 'id="err-reason"' in bad.text
    bad = op.post_form(url, {"kind": "elderly_alone", "reason": "独居"})
    assert bad.status_code == 422 and 'id="err-consent"' in bad.text
    ok = op.post_form(url, {"kind": "elderly_alone", "reason": "八十五岁独居", "consent": "yes"})
    assert ok.status_code == 303
    page = op.client.get(f"/desk/requests/{again.ticket}").text
    assert "八十五岁独居" in page and "标记为困难群体" in page  # the flag and its history step

    csrf = op.csrf("/desk/intake")
    panel = op.client.post("/desk/intake/read", data={"text": "", "phone": PHONE},
                           headers={"X-CSRF-Token": csrf}).text  # fmt: skip
    assert 'data-kind="elderly_alone"' in panel and "八十五岁独居" in panel
    assert 'id="caller-unsolved"' in panel
    history = panel.split('id="caller-history"')[1]
    assert first.ticket in history and again.ticket in history

    analyst = browser("analyst")
    masked = analyst.client.get(f"/desk/requests/{again.ticket}").text
    assert 'data-kind="elderly_alone"' in masked and "八十五岁独居" not in masked
    assert 'id="caller-profile-history"' not in masked and 'id="caller-flag-form"' not in masked

    flag_id = re.search(r"caller-flags/(\d+)/remove", page)
    assert flag_id is not None
    gone = op.post_form(f"/desk/requests/{again.ticket}/caller-flags/{flag_id.group(1)}/remove",
                        {"reason": "已与子女同住", "back": again.ticket})  # fmt: skip
    assert gone.status_code == 303
    assert (
        "八十五岁独居"
        not in op.client.get(f"/desk/requests/{again.ticket}")
        .text.split('id="caller"')[1]
        .split("</section>")[0]
    )
