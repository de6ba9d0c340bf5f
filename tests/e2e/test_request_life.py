"""A request's whole life in the browser: citizen → operator → dispatcher → unit → call-back →
the public tracking page shows the closed timeline. Plus the switches and escaping."""

from __future__ import annotations

from typing import Any

import pytest

from e2e_helpers import sign_in

PASSWORD = "password-123"
TEXT = "<b>东华门</b>小区门口路灯坏了一周，晚上很黑 <script>window.hacked=1</script>"


@pytest.fixture
def page(chromium: Any, server: str) -> Any:
    ctx = chromium.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    p = ctx.new_page()
    yield p
    ctx.close()


def _staff(chromium: Any, server: str, username: str) -> Any:
    ctx = chromium.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    p = ctx.new_page()
    sign_in(p, username, PASSWORD)
    return p


def _act(page: Any, action: str, fields: dict[str, str]) -> None:
    box = page.locator(f"#action-{action}")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    for name, value in fields.items():
        box.locator(f"[name={name}]").fill(value)
    box.locator("button[type=submit]").click()
    page.wait_for_selector("#done")


def test_citizen_to_closed_timeline(page: Any, chromium: Any, server: str, shots: Any) -> None:
    # The citizen reports a problem.
    page.goto("/")
    shots.take(page, "citizen-submit")
    page.fill("#f-text", TEXT)
    page.select_option("#f-area", "110101001")
    page.fill("#f-contact_phone", "13800001234")
    page.click("form.stack button[type=submit]")
    ticket = page.inner_text("#ticket").strip()
    link = page.get_attribute("#private-link", "href")
    assert ticket and link and "/t/" + ticket in link
    # What was typed is shown as text, never run as markup.
    assert page.evaluate("window.hacked") is None
    shots.take(page, "citizen-submitted")

    # The operator sees it in the list of requests.
    op = _staff(chromium, server, "op")
    op.goto("/desk/requests")
    assert op.locator(f"tr[data-ticket='{ticket}']").count() == 1
    op.context.close()

    # The dispatcher sends it to the street office, confirming the category.
    disp = _staff(chromium, server, "disp")
    disp.goto(f"/desk/requests/{ticket}")
    assert "<script>window.hacked=1</script>" in disp.inner_text("#request-text")
    _act(disp, "dispatch", {"unit": "ST-110101001", "category": "010101"})
    shots.take(disp, "staff-request")
    disp.context.close()

    # The street office accepts and replies.
    unit = _staff(chromium, server, "h1")
    unit.goto(f"/desk/requests/{ticket}")
    _act(unit, "accept", {})
    _act(unit, "reply", {"text": "已于今日更换路灯灯泡，经现场查看已恢复照明。"})
    unit.context.close()

    # The citizen answers the call-back on the private page and sees the closed timeline.
    page.goto(link)
    page.check("input[name=resolution][value=solved]")
    page.check("input[name=satisfaction][value=satisfied]")
    page.click("#answer-form button[type=submit]")
    page.wait_for_selector(".notice")
    timeline = page.inner_text(".timeline")
    steps = ("已受理", "已派单至承办单位", "承办单位已签收", "承办单位已答复", "已回访", "已办结")
    for step in steps:
        assert step in timeline, step
    assert "更换路灯灯泡" in timeline
    assert page.inner_text("#status") == "已办结"
    shots.take(page, "citizen-closed-timeline")


def test_large_text_and_english_switch(page: Any, shots: Any) -> None:
    page.goto("/track")
    normal = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.click("text=大字模式")
    assert page.get_attribute("html", "class") == "large"
    large = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert large >= normal * 1.3
    page.click("text=English")
    assert page.inner_text("h1") == "Track your request"
    assert page.get_attribute("html", "lang") == "en"
    shots.take(page, "citizen-track-large-english")
    page.click("text=中文")
    assert page.inner_text("h1") == "查询办理进度"


def test_keyboard_reaches_the_form_and_errors_are_announced(page: Any) -> None:
    page.goto("/")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip"
    page.click("form.stack button[type=submit]")  # empty text
    assert page.locator("#error-summary").count() == 1
    assert page.get_attribute("#f-text", "aria-invalid") == "true"


def test_phone_screen(chromium: Any, server: str, shots: Any) -> None:
    ctx = chromium.new_context(base_url=server, viewport={"width": 390, "height": 844})
    p = ctx.new_page()
    p.goto("/")
    # Nothing forces sideways scrolling on a phone.
    assert p.evaluate("document.documentElement.scrollWidth") <= 390
    shots.take(p, "citizen-phone")
    ctx.close()
