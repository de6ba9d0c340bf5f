"""A supervisor kept to a district sees and acts on that district's requests only — in the
API's lists and details, its actions and the web list — and cannot ask for another area;
the account is scoped from the command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.analytics.hot import hot_issues as hot_groups
from jiesu.cli import app as cli
from jiesu.errors import BadInput
from jiesu.kit.clock import FixedClock
from jiesu.people.service import create_user, issue_token, set_area
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.overview import hot_issues, live_counts, street_heat
from loopkit import A, run

from apiclient import Api
from factories import make_request

DONGCHENG, XICHENG = "110101", "110102"


@pytest.fixture
def district(api: Api, session: Session, clock: FixedClock) -> tuple[str, str, dict[str, str]]:
    now = clock.now()
    user = create_user(
        session, username="sup-dc", role="supervisor", password="password-123", now=now,
        area=DONGCHENG,
    )  # fmt: skip
    inside = make_request(session, api.world, now, area="110101001").ticket
    outside = make_request(session, api.world, now, area=XICHENG).ticket
    token = issue_token(session, user, now=now)
    session.commit()
    return inside, outside, {"Authorization": f"Bearer {token}"}


def test_lists_details_and_actions_stay_in_the_district(
    api: Api, district: tuple[str, str, dict[str, str]]
) -> None:
    inside, outside, h = district
    c = api.client
    listed = {r["ticket"] for r in c.get("/api/v1/requests", headers=h).json()["items"]}
    assert inside in listed and outside not in listed
    # The city supervisor still sees both.
    everything = {r["ticket"] for r in api.get("/api/v1/requests", "sup").json()["items"]}
    assert {inside, outside} <= everything
    assert c.get(f"/api/v1/requests?area={XICHENG}", headers=h).status_code == 403
    street = c.get("/api/v1/requests?area=110101001", headers=h).json()["items"]
    assert [r["ticket"] for r in street] == [inside]  # a street inside the district is fine
    assert c.get(f"/api/v1/requests/{inside}", headers=h).status_code == 200
    refused = c.get(f"/api/v1/requests/{outside}", headers=h)
    assert refused.status_code == 403 and "outside your area" in refused.json()["error"]["message"]
    note = {"text": "请街道核实"}
    assert c.post(f"/api/v1/requests/{inside}/notes", headers=h, json=note).status_code == 200
    assert c.post(f"/api/v1/requests/{outside}/notes", headers=h, json=note).status_code == 403


def test_the_web_list_stays_in_the_district_too(
    api: Api, district: tuple[str, str, dict[str, str]]
) -> None:
    inside, outside, _ = district
    c = api.client
    login = {"username": "sup-dc", "password": "password-123"}
    assert c.post("/login", data=login, follow_redirects=False).status_code == 303
    page = c.get("/desk/requests").text
    assert inside in page and outside not in page
    assert c.get(f"/desk/requests/{outside}").status_code == 403


def test_accounts_are_scoped_from_the_command_line(
    api: Api, session: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(cli, ["users", "scope", "analyst", "--area", XICHENG]).exit_code == 0
    session.expire_all()
    assert api.get("/api/v1/requests", "analyst").status_code == 200
    handler = runner.invoke(cli, ["users", "scope", "h1", "--area", XICHENG])
    assert handler.exit_code != 0
    neither = runner.invoke(cli, ["users", "scope", "analyst"])
    assert neither.exit_code == 1 and "--area CODE or --city" in neither.output
    assert runner.invoke(cli, ["users", "scope", "analyst", "--city"]).exit_code == 0
    with pytest.raises(BadInput, match="area"):
        set_area(session, "op", DONGCHENG)


def test_rates_and_ranking_are_the_districts(
    api: Api, session: Session, clock: FixedClock, district: tuple[str, str, dict[str, str]]
) -> None:
    inside, outside, h = district
    for ticket in (inside, outside):  # dispatched: each now has a response deadline to count
        req = session.scalars(select(ServiceRequest).where(ServiceRequest.ticket == ticket)).one()
        run(session, api.world, req, "dispatch", "disp", clock, unit=A)
    session.commit()
    c, period = api.client, "2026-11"
    mine = c.get(f"/api/v1/rates?period={period}&by=area", headers=h)
    assert mine.status_code == 200, mine.text
    # The same figures the city's supervisor gets when asking for the district.
    city = api.get(f"/api/v1/rates?period={period}&by=area&area={DONGCHENG}").json()
    everything = api.get(f"/api/v1/rates?period={period}&by=area").json()
    assert mine.json()["total"]["counts"] == city["total"]["counts"]
    assert mine.json()["total"]["counts"]["response_due"] == 1
    assert everything["total"]["counts"]["response_due"] == 2
    assert mine.json()["filters"]["area"] == DONGCHENG
    refused = c.get(f"/api/v1/rates?period={period}&area={XICHENG}", headers=h)
    assert refused.status_code == 403
    assert refused.json()["error"]["fields"][0]["field"] == "area"
    export = c.get(f"/api/v1/rates/export?period={period}&area={XICHENG}", headers=h)
    assert export.status_code == 403
    ranked = c.get(f"/api/v1/rates/ranking?period={period}&kind=street_office", headers=h)
    assert ranked.status_code == 200, ranked.text
    city_ranked = api.get(f"/api/v1/rates/ranking?period={period}&kind=street_office").json()

    def assessed(r: dict[str, object]) -> int:
        return sum(sum(u["counts"].values()) for u in r["units"])  # type: ignore[attr-defined,index]

    assert assessed(ranked.json()) < assessed(city_ranked)


def test_the_desks_show_the_districts_figures(
    api: Api, district: tuple[str, str, dict[str, str]]
) -> None:
    _, outside, _ = district
    c = api.client
    login = {"username": "sup-dc", "password": "password-123"}
    assert c.post("/login", data=login, follow_redirects=False).status_code == 303
    overview = c.get("/desk/overview")
    assert overview.status_code == 200
    hot = c.get("/desk/hot?days=7")
    assert hot.status_code == 200 and outside not in hot.text
    assert c.get("/desk/warnings").status_code == 200
    rates = c.get("/desk/rates?period=2026-11&by=area")
    assert rates.status_code == 200 and XICHENG not in rates.text
    # The reports desk keeps the district's own reports; the city's monthly topic is refused
    # and not offered in the navigation.
    assert c.get("/desk/reports").status_code == 200
    assert c.get("/desk/topics").status_code == 403
    assert 'href="/desk/topics"' not in overview.text
    assert 'href="/desk/reports"' in overview.text and 'href="/desk/heat"' in overview.text


def test_live_figures_narrow_to_the_district(
    api: Api, session: Session, clock: FixedClock, district: tuple[str, str, dict[str, str]]
) -> None:
    inside, _, _ = district
    now, tz, dc = clock.now(), ZoneInfo("Asia/Shanghai"), "110000/110101/"
    assert live_counts(session, now=now, tz=tz).received_today == 2
    assert live_counts(session, now=now, tz=tz, area_path=dc).received_today == 1
    assert {h.code for h in street_heat(session, now=now, area_path=dc)} == {"110101001"}
    assert street_heat(session, now=now, area_path="110000/110102/") == []
    later = now + timedelta(minutes=1)  # the week before ``now``, ``now`` itself left out
    leaves = hot_issues(session, now=later, area_path=dc).leaves
    assert [(i.code, i.current) for i in leaves] == [("010101", 1)]
    assert [(i.code, i.current) for i in hot_issues(session, now=later).leaves] == [("010101", 2)]
    groups = hot_groups(session, end=now, days=7, area_path="110000/110102/")["groups"]
    assert all(inside not in str(g) for g in groups)
