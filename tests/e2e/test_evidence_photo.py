"""In the browser: a citizen attaches a phone photo carrying a GPS position to the public
form; after dispatch the handling unit's reply page shows the photo, and the bytes the browser
receives carry no GPS (nor any other) metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from e2e_helpers import sign_in

import evidencekit as kit

PASSWORD = "password-123"


def _page(chromium: Any, server: str) -> Any:
    ctx = chromium.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    return ctx.new_page()


def test_a_photo_with_gps_reaches_the_unit_without_it(
    chromium: Any, server: str, shots: Any, tmp_path: Path
) -> None:
    photo = tmp_path / "IMG_20261102_0930.jpg"
    photo.write_bytes(kit.photo_with_gps())
    assert kit.has_gps(photo.read_bytes())

    citizen = _page(chromium, server)
    citizen.goto("/")
    citizen.fill("#f-text", "南池子大街路面塌陷一个大坑，车辆绕行，很危险")
    citizen.select_option("#f-area", "110101001")
    citizen.set_input_files("#f-files", str(photo))
    citizen.click("form.stack button[type=submit]")
    ticket = citizen.inner_text("#ticket").strip()
    assert citizen.locator("img.evidence-thumb").count() == 1
    shots.take(citizen, "evidence-tracking")

    disp = _page(chromium, server)
    sign_in(disp, "disp", PASSWORD)
    disp.goto(f"/desk/requests/{ticket}")
    box = disp.locator("#action-dispatch")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    box.locator("[name=unit]").fill("ST-110101001")
    box.locator("[name=category]").fill("010101")
    box.locator("button[type=submit]").click()
    disp.wait_for_selector("#done")

    unit = _page(chromium, server)
    sign_in(unit, "h1", PASSWORD)
    unit.goto(f"/desk/unit/reply/{ticket}")
    thumb = unit.locator("img.evidence-thumb")
    assert thumb.count() == 1
    # The picture really rendered (decoded by the browser), at thumbnail size.
    width = unit.evaluate("document.querySelector('img.evidence-thumb').naturalWidth")
    assert width == 320
    shots.take(unit, "evidence-unit-reply")
    # Follow the link to the photo as the unit's browser does, and inspect what arrived.
    href = unit.locator("img.evidence-thumb").evaluate("img => img.parentElement.href")
    answer = unit.request.get(href)
    assert answer.status == 200 and answer.headers["content-type"] == "image/jpeg"
    served = answer.body()
    assert not kit.has_gps(served)
    assert kit.metadata_left(served) == []
    # Another unit's handler is refused the same photo.
    other = _page(chromium, server)
    sign_in(other, "h2", PASSWORD)
    assert other.request.get(href).status == 403
