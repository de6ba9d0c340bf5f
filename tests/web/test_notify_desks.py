"""Desk messages: a unit sees what it was told on its inbox, supervisors on the warnings desk."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiesu.config import Settings
from jiesu.jobs import send_due_notifications
from jiesu.kit.clock import FixedClock


def test_the_unit_inbox_shows_its_messages(browser, session: Session, clock: FixedClock) -> None:
    anon = browser(None)
    r = anon.client.post(
        "/", data={"text": "路灯坏了很久", "area": "110101001", "category": "010101",
                   "form_id": "m-1"}, follow_redirects=False,
    )  # fmt: skip
    ticket = r.headers["location"].split("/")[2]
    browser("disp").post_form(f"/desk/requests/{ticket}/act/dispatch", {"unit": "ST-110101001"})
    session.expire_all()
    sent = send_due_notifications(session, Settings(notify_quiet_hours=""), now=clock.now())
    assert sent is not None and sent.sent == 1  # the unit's (the citizen left no contact)
    page = browser("h1").client.get("/desk/unit").text
    assert 'id="messages"' in page and 'data-kind="new"' in page and ticket in page
    other = browser("h2").client.get("/desk/unit").text
    assert ticket not in other
