"""Stored XSS, in the browser: scripts, event handlers and javascript: links planted in every
field a citizen, a client system or a unit can fill (text, title, address, contact name, an
Open311 description and media URL, a dispatch note, a unit's reply) are shown as text on every
page that shows them — staff lists and desks, the request page, the public tracking page —
and none of them runs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from e2e_helpers import sign_in
from jiesu.config import Settings
from jiesu.intake.open311.keys import create_key
from jiesu.intake.schemas import ContactIn, RequestIn
from jiesu.intake.service import submit_request
from jiesu.kit.clock import FixedClock
from jiesu.web.citizen import track_code
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World

# Each one sets window.hacked if it ever runs; each closes the context it might sit in first.
PAYLOADS = [
    "<script>window.hacked='script'</script>",
    "<img src=x onerror=\"window.hacked='img'\">",
    '"><svg onload="window.hacked=\'attr\'">',
    "'><script>window.hacked='quote'</script>",
    "</textarea><script>window.hacked='textarea'</script>",
    "</script><script>window.hacked='island'</script>",
    "javascript:window.hacked='link'",
]
HOSTILE = " ".join(PAYLOADS)


@pytest.fixture
def planted(e2e_world: World, session: Session, clock: FixedClock, server: str) -> dict[str, str]:
    now, ctx = clock.now(), e2e_world.ctx
    data = RequestIn(
        text=f"路灯坏了 {HOSTILE}", title=PAYLOADS[1][:200], address=PAYLOADS[2],
        category="010101", area="110101001",
        contact=ContactIn(name=PAYLOADS[3][:100], phone="13800001234"),
    )  # fmt: skip
    req, _ = submit_request(session, data, actor=e2e_world.actor("op"), now=now, ctx=ctx)
    for action, who, params in (
        ("dispatch", "disp", {"unit": "ST-110101001", "note": HOSTILE}),
        ("accept", "h1", {}),
        ("reply", "h1", {"text": f"已处理 {HOSTILE}"}),
    ):
        apply_action(session, req, action, actor=e2e_world.actor(who), now=now, ctx=ctx,
                     params=params)  # fmt: skip
    key = create_key(session, "a-client", now=now)[1]
    session.commit()
    # A client system plants its own through Open311.
    form = {
        "api_key": key, "service_code": "010101", "lat": "39.915", "long": "116.404",
        "description": f"井盖缺失 {HOSTILE}", "first_name": PAYLOADS[0][:50],
        "media_url": "https://example.org/x.jpg?\"><script>window.hacked='url'</script>",
    }  # fmt: skip
    posted = httpx.post(f"{server}/open311/v2/requests.json", data=form)
    assert posted.status_code in (200, 201), posted.text
    other = session.scalar(select(ServiceRequest.ticket).where(ServiceRequest.ticket != req.ticket))
    assert other is not None
    secret = Settings().secret_key
    return {"ticket": req.ticket, "open311": other, "track": track_code(req.ticket, secret)}


def _visit(page: Any, path: str, fired: list[str]) -> str:
    response = page.goto(path)  # waits for the load event: images (and their onerror) too
    assert response is not None and response.status == 200, (path, response and response.status)
    assert page.evaluate("window.hacked") is None, (path, page.evaluate("window.hacked"))
    assert fired == [], (path, fired)
    # No link the page offers leads to script.
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    assert not [h for h in hrefs if h.lower().startswith("javascript:")], (path, hrefs)
    return str(page.inner_text("body"))


def test_planted_markup_is_shown_as_text_everywhere(
    chromium: Any, server: str, planted: dict[str, str]
) -> None:
    ticket, other = planted["ticket"], planted["open311"]
    pages = {
        "disp": ["/desk/requests", f"/desk/requests/{ticket}", f"/desk/requests/{other}",
                 "/desk/dispatch"],
        "h1": ["/desk/unit", f"/desk/requests/{ticket}"],
        "op": ["/desk/callbacks", "/desk/intake", f"/desk/requests/{ticket}"],
        "sup": ["/desk/review", "/desk/hot", "/desk/overview", f"/desk/requests/{other}"],
        None: [f"/t/{ticket}/{planted['track']}", "/stats"],
    }  # fmt: skip
    for who, paths in pages.items():
        ctx = chromium.new_context(base_url=server, locale="zh-CN")
        page = ctx.new_page()
        fired: list[str] = []
        page.on("dialog", lambda d, fired=fired: (fired.append(d.message), d.dismiss()))
        if who is not None:
            sign_in(page, who, "password-123")
        for path in paths:
            body = _visit(page, path, fired)
            if path.startswith(f"/desk/requests/{ticket}"):
                # The citizen's words as typed, tags and all.
                assert PAYLOADS[0] in body and PAYLOADS[1] in body, path
            if path.startswith("/t/"):
                assert PAYLOADS[0] in body, "the unit's reply, as text"
        ctx.close()
