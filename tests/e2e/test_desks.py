"""Each staff role does its job on its own desk, in the browser: the operator takes a phone
call, the dispatcher sends it from the queue, the street office accepts and replies with the
reply hints, the operator makes the call-back, and the citizen's page shows it closed."""

from __future__ import annotations

import re
from typing import Any

from e2e_helpers import sign_in

PASSWORD = "password-123"


def _desk(chromium: Any, server: str, username: str) -> Any:
    ctx = chromium.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    page = ctx.new_page()
    sign_in(page, username, PASSWORD)
    return page


def test_a_phone_call_through_every_desk(chromium: Any, server: str, shots: Any) -> None:
    # The operator lands on the phone desk, types the call, and sees it read as they type.
    op = _desk(chromium, server, "op")
    assert op.url.endswith("/desk/intake")
    op.fill("#f-phone", "13600003333")
    op.fill("#f-text", "家里停水两天了，楼里好几户都没水")
    op.wait_for_selector(".pick-category")
    op.keyboard.press("Alt+1")  # takes the first suggestion
    assert op.input_value("#f-category") != ""
    op.fill("#f-area", "110101001")
    shots.take(op, "desk-intake")
    op.keyboard.press("Control+Enter")
    op.wait_for_selector("#created")
    ticket = op.inner_text("#created .ticket").strip()
    assert re.fullmatch(r"\d{8}-[0-9A-Z]{6}", ticket)
    assert op.evaluate("document.activeElement.id") == "f-text"  # ready for the next call

    # The dispatcher sends it with one press on the first suggestion.
    disp = _desk(chromium, server, "disp")
    assert disp.url.endswith("/desk/dispatch")
    card = disp.locator(f"article[data-ticket='{ticket}']")
    shots.take(disp, "desk-dispatch")
    card.locator("button.secondary").first.click()
    disp.wait_for_url(re.compile(r"/desk/dispatch\?done="))
    assert disp.locator(f"article[data-ticket='{ticket}']").count() == 0

    # Which unit got it decides who replies; the factory city's water company or a street.
    op.goto(f"/desk/requests/{ticket}")
    unit_name = op.inner_text("#h-handling + p")
    handler = "h1" if "东华门" in unit_name else None
    if handler is None:  # another unit: move it to the street office for this walk
        op.context.close()
        sup = _desk(chromium, server, "sup")
        sup.goto(f"/desk/requests/{ticket}")
        sup.locator("#action-transfer summary").click()
        sup.fill("#transfer-unit", "ST-110101001")
        sup.fill("#transfer-reason", "由属地街道牵头")
        sup.locator("#action-transfer button[type=submit]").click()
        sup.wait_for_selector("#done")
        sup.context.close()
    else:
        op.context.close()

    # The street office accepts from its inbox and replies with the hints beside it.
    unit = _desk(chromium, server, "h1")
    assert unit.url.endswith("/desk/unit")
    row = unit.locator(f"tr[data-ticket='{ticket}']")
    shots.take(unit, "desk-unit-inbox")
    row.locator("button:has-text('签收')").click()
    unit.wait_for_url(re.compile(r"/desk/unit"))
    unit.locator(f"tr[data-ticket='{ticket}'] a.button").click()
    unit.fill("#f-text", "您好，12月2日我街道联系自来水公司抢修，管道已修复，当日18时恢复供水。")
    unit.wait_for_selector("#reply-score")
    shots.take(unit, "desk-unit-reply")
    unit.locator("button:has-text('提交答复')").click()
    unit.wait_for_url(re.compile(r"/desk/unit"))
    unit.context.close()

    # The operator calls back: reached, solved, satisfied.
    op = _desk(chromium, server, "op")
    op.goto("/desk/callbacks")
    call = op.locator(f"article[data-ticket='{ticket}']")
    assert "恢复供水" in call.inner_text()
    shots.take(op, "desk-callbacks")
    call.locator("input[name=resolution][value=solved]").check()
    call.locator("input[name=satisfaction][value=satisfied]").check()
    call.locator("button:has-text('记录本次回访')").click()
    op.wait_for_selector("#done")
    op.goto(f"/desk/requests/{ticket}")
    assert "已办结" in op.inner_text("h1")
    shots.take(op, "desk-request-closed")
    op.context.close()
