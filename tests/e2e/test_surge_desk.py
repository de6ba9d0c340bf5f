"""In the browser: a supervisor declares a cold wave on the event desk, an operator taking a
heating call sees the event's script, and the supervisor's dashboard counts the caller, draws
the volume and sends one reply to every caller."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from e2e_helpers import sign_in
from jiesu.kit.clock import FixedClock
from surgekit import HEAT_TEXT, HEATING, make_surge_world

from factories import World

PASSWORD = "password-123"


@pytest.fixture
def e2e_world(session: Session, clock: FixedClock) -> World:
    world = make_surge_world(session, clock.now())
    session.commit()
    return world


def _desk(chromium: Any, server: str, username: str) -> Any:
    ctx = chromium.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    page = ctx.new_page()
    sign_in(page, username, PASSWORD)
    return page


def test_a_supervisor_declares_a_cold_wave_and_watches_it(
    chromium: Any, server: str, shots: Any
) -> None:
    sup = _desk(chromium, server, "sup")
    sup.goto("/desk/surge")
    sup.fill("#f-name", "十一月寒潮")
    sup.select_option("#f-kind", "cold_wave")
    sup.fill("#f-areas", "110101")
    sup.fill("#f-ends_at", "2026-11-05T00:00")
    sup.fill("#f-keywords", "暖气，供暖")
    sup.fill("#f-categories", HEATING)
    sup.fill("#f-script", "寒潮期间热力集团已加派抢修人员，24小时内上门。")
    sup.fill("#f-handling_limit", "12h")
    sup.fill(
        "#f-rules",
        f"- id: heat\n  name: 寒潮供暖\n  match: {{categories: ['{HEATING}']}}\n  lead: PS-HEAT\n",
    )
    shots.take(sup, "desk-surge-declare")
    sup.click("#declare-form button[type=submit]")
    sup.wait_for_selector("#done")
    assert "/desk/surge/1" in sup.url
    assert sup.inner_text("#k-callers") == "0"

    op = _desk(chromium, server, "op")
    op.fill("#f-phone", "13600003333")
    op.fill("#f-text", HEAT_TEXT)
    op.wait_for_selector(".surge-script")
    assert "热力集团已加派抢修人员" in op.inner_text(".surge-script")
    op.fill("#f-area", "110101001")
    shots.take(op, "desk-intake-surge-script")
    op.keyboard.press("Control+Enter")
    op.wait_for_selector("#created")

    sup.reload()
    assert sup.inner_text("#k-callers") == "1"
    sup.wait_for_selector(".chart svg")  # the volume, drawn from the page's own numbers
    shots.take(sup, "desk-surge-dashboard")
    sup.fill("#f-text", "热力集团已完成抢修，供暖恢复正常。")
    sup.click("#bulk-form button[type=submit]")
    sup.wait_for_selector("#bulk-result")
    assert "1" in sup.inner_text("#bulk-result")
    sup.click("#end-form button[type=submit]")
    sup.wait_for_selector("#report-link")
    assert sup.inner_text("#event-status") in ("已结束", "ended")
