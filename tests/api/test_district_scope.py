"""A supervisor kept to a district sees and acts on that district's requests only — in the
API's lists and details, its actions and the web list — and cannot ask for another area;
the account is scoped from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.cli import app as cli
from jiesu.errors import BadInput
from jiesu.kit.clock import FixedClock
from jiesu.people.service import create_user, issue_token, set_area

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
