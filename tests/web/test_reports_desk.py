"""The reports desk: produce a report in the browser, open it with its files, refuse bad
input at the field, and keep it from the roles it is not for."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.people.service import create_user

from factories import World, make_request


def test_produce_open_and_download_a_report(
    browser, web_world: World, session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    # The clock is 2 November 2026 (Beijing); two requests today, one the day before.
    make_request(session, web_world, clock.now(), channel="web")
    make_request(session, web_world, clock.now())
    session.commit()
    sup = browser("sup")
    assert "还没有报告" in sup.client.get("/desk/reports").text
    r = sup.post_form(
        "/desk/reports", {"kind": "daily", "date": "2026-11-02"}, page="/desk/reports"
    )
    assert r.status_code == 303 and r.headers["location"] == "/desk/reports/daily/2026-11-02/"
    page = sup.client.get("/desk/reports/daily/2026-11-02/")
    assert page.status_code == 200 and '<span class="n" id="total">2</span>' in page.text
    assert sup.client.get("/desk/reports/daily/2026-11-02/echarts.min.js").status_code == 200
    channels = sup.client.get("/desk/reports/daily/2026-11-02/channels.csv")
    assert channels.status_code == 200 and "web,1" in channels.text
    listed = sup.client.get("/desk/reports").text
    assert 'data-report="daily/2026-11-02"' in listed
    assert (tmp_path / "reports" / "daily" / "2026-11-02" / "report.json").exists()
    for bad in ("nope.txt", "..%2Freport.json", "state.json"):
        assert sup.client.get(f"/desk/reports/daily/2026-11-02/{bad}").status_code == 404
    assert sup.client.get("/desk/reports/daily/..%2F..%2Fwarehouse/").status_code == 404


def test_bad_input_is_refused_at_the_field(browser, web_world: World) -> None:
    an = browser("analyst")
    future = an.post_form(
        "/desk/reports", {"kind": "daily", "date": "2026-12-30"}, page="/desk/reports"
    )
    assert future.status_code == 422 and 'id="err-date"' in future.text
    assert 'value="2026-12-30"' in future.text
    month = an.post_form(
        "/desk/reports", {"kind": "monthly", "month": "2026-13"}, page="/desk/reports"
    )
    assert month.status_code == 422 and 'id="err-month"' in month.text


def test_reports_are_for_supervisors_analysts_and_admins(browser, web_world: World) -> None:
    for who in ("op", "disp", "h1"):
        assert browser(who).client.get("/desk/reports").status_code == 403
    assert browser(None).client.get("/desk/reports", follow_redirects=False).status_code in (
        303,
        401,
    )


def test_a_district_account_gets_the_districts_own_reports(
    browser, web_world: World, session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    make_request(session, web_world, clock.now(), area="110101001")  # 东城区
    make_request(session, web_world, clock.now(), area="110102")  # 西城区
    create_user(
        session, username="sup-dc", role="supervisor", password="password-123", now=clock.now(),
        area="110101",
    )  # fmt: skip
    session.commit()
    city = browser("sup")
    city.post_form("/desk/reports", {"kind": "daily", "date": "2026-11-02"}, page="/desk/reports")
    district = browser("sup-dc")
    assert "还没有报告" in district.client.get("/desk/reports").text  # the city's is not theirs
    assert district.client.get("/desk/reports/daily/2026-11-02/").status_code == 404
    r = district.post_form(
        "/desk/reports", {"kind": "daily", "date": "2026-11-02"}, page="/desk/reports"
    )
    assert r.status_code == 303
    page = district.client.get("/desk/reports/daily/2026-11-02/")
    assert page.status_code == 200 and "东城区" in page.text
    assert '<span class="n" id="total">1</span>' in page.text
    kept = tmp_path / "reports" / "areas" / "110101" / "daily" / "2026-11-02" / "report.json"
    data = json.loads(kept.read_text(encoding="utf-8"))
    assert data["total"] == 1 and data["area"] == {"code": "110101", "name": "东城区"}
    assert [d["name"] for d in data["districts"]] == ["东城区"]
    # The city's report still counts both.
    city_page = city.client.get("/desk/reports/daily/2026-11-02/").text
    assert '<span class="n" id="total">2</span>' in city_page
