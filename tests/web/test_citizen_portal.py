"""The citizen portal without JavaScript: report, follow, answer the call-back, switches."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from jiesu.workflow.models import ServiceRequest

LINK = re.compile(r'id="private-link">[^<]*(/t/[^<"]+)</a>')


def _submit(anon, **fields: str):  # type: ignore[no-untyped-def]
    data = {
        "text": "小区门口路灯坏了一周",
        "area": "110101001",
        "contact_phone": "13800001234",
        "form_id": "f1",
    } | fields
    return anon.client.post("/", data=data, follow_redirects=False)


def test_submit_gives_ticket_and_private_link_that_tracks(browser, session: Session) -> None:
    anon = browser(None)
    r = _submit(anon)
    assert r.status_code == 303
    page = anon.client.get(r.headers["location"])
    assert page.status_code == 200
    ticket = re.search(r'id="ticket">([^<]+)<', page.text).group(1)
    link = LINK.search(page.text).group(1)
    req = session.query(ServiceRequest).filter_by(ticket=ticket).one()
    assert req.channel == "web" and req.contact.phone == "13800001234"
    # The link opens for anyone who has it, with the plain-language status; nothing personal.
    again = browser(None).client.get(link)
    assert again.status_code == 200 and "已受理" in again.text
    assert "13800001234" not in again.text
    # A forged link is refused.
    assert anon.client.get(link[:-3] + "000").status_code == 404


def test_pressing_submit_twice_makes_one_request(browser, session: Session) -> None:
    anon = browser(None)
    first, second = _submit(anon), _submit(anon)
    assert first.headers["location"] == second.headers["location"]
    assert session.query(ServiceRequest).count() == 1


def test_bad_input_names_the_field_and_keeps_what_was_typed(browser, session: Session) -> None:
    anon = browser(None)
    r = _submit(anon, text="", address="东四十条", contact_email="not-an-email")
    assert r.status_code == 422
    assert 'id="err-text"' in r.text and "东四十条" in r.text
    r = _submit(anon, category="999999")
    assert r.status_code == 422 and 'id="err-category"' in r.text and "路灯坏了" in r.text
    assert session.query(ServiceRequest).count() == 0


def test_track_by_ticket_and_phone_digits(browser) -> None:
    anon = browser(None)
    loc = _submit(anon).headers["location"]
    ticket = loc.split("/")[2]
    ok = anon.client.post(
        "/track", data={"ticket": ticket.lower(), "phone_last4": "1234"}, follow_redirects=False
    )
    assert ok.status_code == 303 and ok.headers["location"] == loc.split("?")[0]
    wrong = anon.client.post("/track", data={"ticket": ticket, "phone_last4": "9999"})
    assert wrong.status_code == 422 and "不匹配" in wrong.text
    unknown = anon.client.post("/track", data={"ticket": "NOPE", "phone_last4": "1234"})
    assert unknown.status_code == 422 and "不匹配" in unknown.text
    missing = anon.client.post("/track", data={"ticket": ticket, "phone_last4": "12"})
    assert 'id="err-phone_last4"' in missing.text


def test_script_in_a_request_is_shown_as_text(browser) -> None:
    anon = browser(None)
    loc = _submit(anon, text="<script>alert(1)</script> 井盖丢了").headers["location"]
    page = anon.client.get(loc).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_language_and_large_text_switches(browser) -> None:
    anon = browser(None)
    r = anon.client.get("/lang/en?next=/track", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/track"
    assert "Track your request" in anon.client.get("/track").text
    # Only paths of this site are followed back.
    assert (
        anon.client.get("/lang/zh?next=//evil.example", follow_redirects=False).headers["location"]
        == "/"
    )
    anon.client.get("/view/large?next=/")
    assert '<html lang="zh-CN" class="large">' in anon.client.get("/").text


def test_staff_pages_need_sign_in_and_csrf(browser) -> None:
    anon = browser(None)
    r = anon.client.get("/desk/requests", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/desk/requests"
    bad = anon.client.post("/login", data={"username": "disp", "password": "wrong-password"})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    disp = browser("disp")
    assert disp.client.get("/desk/requests").status_code == 200
    forged = disp.client.post("/desk/requests/X/act/accept", data={"csrf": "0" * 32})
    assert forged.status_code == 403
    # Signing out ends the session on the server too.
    disp.post_form("/logout", {})
    assert disp.client.get("/desk/requests", follow_redirects=False).status_code == 303


def test_public_statistics_are_computed(browser) -> None:
    anon = browser(None)
    for i in range(3):
        _submit(anon, form_id=f"s{i}", text=f"路灯坏了 {i}")
    page = anon.client.get("/stats?period=2026-11")
    assert page.status_code == 200
    assert re.search(r'id="kpi-received">3<', page.text)
    assert anon.client.get("/stats?period=nonsense").status_code == 422


def test_a_signed_in_citizen_finds_their_own_requests(browser, session: Session) -> None:
    me = browser("citizen")
    form = me.client.get("/").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form).group(1)
    mine = me.client.post(
        "/",
        data={"text": "我家门前井盖丢了", "form_id": "m1", "csrf": csrf},
        follow_redirects=False,
    )
    assert mine.status_code == 303
    # Without the page's CSRF value the request is taken, but as an anonymous one.
    me.client.post("/", data={"text": "匿名的诉求：路灯坏了", "form_id": "m2"})
    page = me.client.get("/my").text
    assert "井盖丢了" in page and "路灯坏了" not in page
    assert mine.headers["location"].split("?")[0] in page
    assert browser(None).client.get("/my", follow_redirects=False).status_code == 303
