"""Deliberation in the web, on both databases: the supervisor's desk opens and decides, the
public page verifies a caller by the code in the outbox, takes one vote, refuses a second,
and shows the decision with its work order's progress."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from deliberationkit import INSIDE, code_from_outbox, plant_callers
from jiesu.kit.clock import FixedClock

from factories import World

FORM = {
    "title": "东华门施工噪音",
    "question": "您支持哪种办法？",
    "kind": "poll",
    "options": "限定施工时段\n设立噪音监测点\n",
    "subject": "community",
    "area": "110101001",
    "category": "0101",
    "method_phone": "1",
    "method_ticket": "1",
    "days": "7",
}


def _form_key(html: str) -> str:
    found = re.search(r'name="form_key" value="([0-9a-f]+)"', html)
    assert found, "no participation form on the page"
    return found.group(1)


def test_open_vote_decide_on_the_pages(
    browser: Callable[[str | None], Any], web_world: World, session: Session, clock: FixedClock
) -> None:
    plant_callers(session, web_world, clock)
    session.commit()
    sup = browser("sup")
    bad = sup.post_form("/desk/consult", {**FORM, "options": "只有一个"}, "/desk/consult")
    assert bad.status_code == 422 and "a poll needs at least two options" in bad.text  # type: ignore[attr-defined]
    r: Any = sup.post_form("/desk/consult", FORM, "/desk/consult")
    assert r.status_code == 303, r.text
    cid = int(r.headers["location"].split("/")[3].split("?")[0])
    desk = sup.client.get(f"/desk/consult/{cid}").text
    assert "东华门施工噪音" in desk and 'data-phase="open"' in desk

    citizen = browser(None)
    page = citizen.client.get(f"/consult/{cid}").text
    assert "背景：诉求数据" in page and 'id="phone-form"' in page
    sent = citizen.client.post(f"/consult/{cid}/code", data={"phone": INSIDE})
    assert sent.status_code == 200 and 'id="code-form"' in sent.text
    code = code_from_outbox(session)
    wrong = citizen.client.post(
        f"/consult/{cid}/verify",
        data={
            "method": "phone",
            "phone": INSIDE,
            "code": "999999" if code != "999999" else "000000",
        },
    )
    assert wrong.status_code == 422 and "wrong code" in wrong.text
    ok = citizen.client.post(
        f"/consult/{cid}/verify", data={"method": "phone", "phone": INSIDE, "code": code},
        follow_redirects=False,
    )  # fmt: skip
    assert ok.status_code == 303
    page = citizen.client.get(f"/consult/{cid}").text
    key = _form_key(page)
    option = re.search(r'name="option_id" value="(\d+)"', page)
    assert option
    vote = {"form_key": key, "option_id": option.group(1)}
    assert (
        citizen.client.post(f"/consult/{cid}/vote", data=vote, follow_redirects=False).status_code
        == 303
    )
    again = citizen.client.post(f"/consult/{cid}/vote", data=vote)
    assert again.status_code == 409
    forged = citizen.client.post(f"/consult/{cid}/vote", data={**vote, "form_key": "0" * 32})
    assert forged.status_code == 403
    page = citizen.client.get(f"/consult/{cid}").text
    assert 'id="voted"' in page and "已投票 1 人" in page

    early = sup.post_form(
        f"/desk/consult/{cid}/decide",
        {"decision": "限时", "reasons": "多数", "option_id": option.group(1)},
        f"/desk/consult/{cid}",
    )
    assert early.status_code == 409  # type: ignore[attr-defined]
    assert sup.post_form(f"/desk/consult/{cid}/end", {}, f"/desk/consult/{cid}").status_code == 303  # type: ignore[attr-defined]
    decided = sup.post_form(
        f"/desk/consult/{cid}/decide",
        {"decision": "22点后禁止施工", "reasons": "多数支持", "option_id": option.group(1)},
        f"/desk/consult/{cid}",
    )
    assert decided.status_code == 303  # type: ignore[attr-defined]
    wo = sup.post_form(
        f"/desk/consult/{cid}/work-order", {"text": "夜间巡查辖区工地"}, f"/desk/consult/{cid}"
    )
    assert wo.status_code == 303  # type: ignore[attr-defined]
    public = browser(None).client.get(f"/consult/{cid}").text
    assert "22点后禁止施工" in public and 'data-stage="planned"' in public
    assert "sup" not in re.sub(r"<[^>]+>", "", public).split()  # no staff name in public


def test_the_rules_and_list_are_public(browser: Callable[[str | None], Any]) -> None:
    anon = browser(None)
    rules = anon.client.get("/consult/rules")
    assert rules.status_code == 200 and "一人一票" in rules.text
    assert anon.client.get("/consult").status_code == 200
    assert anon.client.get("/consult/999").status_code == 404
    assert browser("analyst").client.get("/desk/consult").status_code == 200
    refused = browser("h1").client.get("/desk/consult")
    assert refused.status_code == 403


def test_the_open_form_starts_from_its_subject(browser: Callable[[str | None], Any]) -> None:
    page = browser("sup").client.get("/desk/consult?subject=early_warning&subject_ref=7&title=供暖")
    assert 'value="7"' in page.text and 'value="供暖"' in page.text
    assert '<option value="early_warning" selected>' in page.text
    assert 'name="method_phone" value="1" checked' in page.text


def test_a_survey_on_the_pages(
    browser: Callable[[str | None], Any], web_world: World, session: Session, clock: FixedClock
) -> None:
    plant_callers(session, web_world, clock)
    session.commit()
    sup = browser("sup")
    form = {
        **FORM,
        "kind": "survey",
        "options": "",
        "questions": "几点停工？\n- 20点\n- 22点\n设监测点？\n- 要\n- 不要",
    }
    r: Any = sup.post_form("/desk/consult", form, "/desk/consult")
    assert r.status_code == 303, r.text
    cid = int(r.headers["location"].split("/")[3].split("?")[0])
    citizen = browser(None)
    citizen.client.post(f"/consult/{cid}/code", data={"phone": INSIDE})
    code = code_from_outbox(session)
    citizen.client.post(
        f"/consult/{cid}/verify", data={"method": "phone", "phone": INSIDE, "code": code}
    )
    page = citizen.client.get(f"/consult/{cid}").text
    q0 = re.findall(r'name="q0" value="(\d+)"', page)
    q1 = re.findall(r'name="q1" value="(\d+)"', page)
    assert len(q0) == 2 and len(q1) == 2
    key = _form_key(page)
    half = citizen.client.post(f"/consult/{cid}/vote", data={"form_key": key, "q0": q0[1]})
    assert half.status_code == 422 and "answer question(s) 2" in half.text
    done = citizen.client.post(
        f"/consult/{cid}/vote",
        data={"form_key": key, "q0": q0[1], "q1": q1[0]},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = citizen.client.get(f"/consult/{cid}").text
    assert "已投票 1 人" in page and page.count('class="survey-question"') == 2
