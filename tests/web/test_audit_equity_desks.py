"""The model audit and equity desks: produce an audit in the browser and open its files; see
outcomes per district and channel from the warehouse; kept from the roles they are not for."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from jiesu.analytics.warehouse import Warehouse
from jiesu.kit.clock import FixedClock

from factories import World, make_request


def test_audit_now_then_open_the_published_files(
    browser, web_world: World, session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    for channel in ("phone", "web", "phone"):
        make_request(session, web_world, clock.now(), channel=channel)
    session.commit()
    sup = browser("sup")
    assert 'id="audit-none"' in sup.client.get("/desk/audit").text
    r = sup.post_form("/desk/audit", {}, page="/desk/audit")
    assert r.status_code == 303 and r.headers["location"] == "/desk/audit"
    page = sup.client.get("/desk/audit").text
    assert 'id="audit-summary"' in page and 'data-component="dispatch"' in page
    (json_file,) = (tmp_path / "audits").glob("model-audit-*.json")
    report = json.loads(json_file.read_text(encoding="utf-8"))
    assert report["requests_read"] == 3
    html = sup.client.get(f"/desk/audit/{json_file.stem}.html")
    assert html.status_code == 200 and "算法审计报告" in html.text
    assert sup.client.get(f"/desk/audit/{json_file.name}").json()["date"] == report["date"]
    for bad in ("nope.html", "state.json", "..%2Fjiesu.db"):
        assert sup.client.get(f"/desk/audit/{bad}").status_code == 404


def test_equity_desk_shows_groups_with_intervals(
    browser, web_world: World, session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    for channel in ("phone", "web", "phone"):
        make_request(session, web_world, clock.now(), channel=channel)
    session.commit()
    Warehouse(tmp_path / "warehouse").refresh(session, now=clock.now())
    an = browser("analyst")
    page = an.client.get("/desk/equity")
    assert page.status_code == 200
    assert 'data-dimension="channel"' in page.text and 'data-group="web"' in page.text
    assert 'id="equity-total">3 ' in page.text
    bad = an.client.get("/desk/equity?from=2026-11-05&to=2026-11-01")
    assert bad.status_code == 422 and "is before from" in bad.text


def test_audit_and_equity_are_for_supervisors_analysts_and_admins(
    browser, web_world: World
) -> None:
    for who in ("op", "disp", "h1"):
        for page in ("/desk/audit", "/desk/equity"):
            assert browser(who).client.get(page).status_code == 403
