"""The heat map's data: counts per area and bucket equal direct SQL; categories at any level;
bad parameters named; the API and the desk page serve it to the roles it is for."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from analyticskit import History
from jiesu.analytics.heat import check_query, heat
from jiesu.app import create_app
from jiesu.city.models import Area
from jiesu.config import Settings
from jiesu.errors import BadInput
from jiesu.people.service import issue_token
from jiesu.workflow.models import ServiceRequest

OCT1, NOV30 = date(2026, 10, 1), date(2026, 11, 30)


def _heat(h: History, level: str = "street", bucket: str = "month", category: str | None = None):  # type: ignore[no-untyped-def]
    h.wh.refresh(h.session, now=h.clock.now())
    with h.wh.connect() as con:
        return heat(con, check_query(level, OCT1, NOV30, bucket, category))


def test_counts_per_street_and_month_match_the_database(history: History) -> None:
    data = _heat(history)
    rows = history.session.execute(
        select(Area.code, func.count())
        .select_from(ServiceRequest)
        .join(Area, Area.id == ServiceRequest.area_id)
        .where(Area.level == "street")
        .group_by(Area.code)
    ).all()
    assert {a.code: a.n for a in data.areas} == dict(rows) == {"110101001": 8, "110101008": 5}
    assert data.buckets == ["2026-10-01", "2026-11-01"]
    dhm = next(a for a in data.areas if a.code == "110101001")
    assert dhm.by_bucket == {"2026-10-01": 3, "2026-11-01": 5}
    # The two requests placed only at 西城区 have no street.
    assert data.unplaced == 2 and data.as_dict()["total"] == 15
    districts = _heat(history, level="district")
    assert {a.name: a.n for a in districts.areas} == {"东城区": 13, "西城区": 2}


def test_a_district_sees_its_own_requests_only(history: History) -> None:
    history.wh.refresh(history.session, now=history.clock.now())
    with history.wh.connect() as con:
        xicheng = heat(con, check_query("district", OCT1, NOV30, "month", None, "110000/110102/"))
        dongcheng = heat(con, check_query("street", OCT1, NOV30, "month", None, "110000/110101/"))
    assert {a.name: a.n for a in xicheng.areas} == {"西城区": 2}
    assert {a.code: a.n for a in dongcheng.areas} == {"110101001": 8, "110101008": 5}
    assert dongcheng.unplaced == 0  # 西城区's two unplaced requests are not the district's


def test_a_category_at_any_level_filters(history: History) -> None:
    assert sum(a.n for a in _heat(history, category="0101").areas) == 13
    water = _heat(history, category="010102")
    assert {a.code: a.n for a in water.areas} == {"110101001": 1, "110101008": 1}
    weekly = _heat(history, bucket="week", category="010101")
    # 1 October is a Thursday and 30 November a Monday: ten ISO weeks touch the span.
    assert len(weekly.buckets) == 10 and weekly.buckets[0] == "2026-09-28"
    with pytest.raises(BadInput) as e:
        _heat(history, category="999")
    assert e.value.fields[0]["field"] == "category"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("town", OCT1, NOV30, "week"), "level"),
        (("street", OCT1, NOV30, "hour"), "bucket"),
        (("street", NOV30, OCT1, "week"), "to"),
        (("street", date(2024, 1, 1), NOV30, "day"), "bucket"),
        (("street", date(2020, 1, 1), NOV30, "month"), "to"),
    ],
)
def test_bad_parameters_are_named(args: tuple[str, date, date, str], field: str) -> None:
    with pytest.raises(BadInput) as e:
        check_query(*args, None)
    assert e.value.fields[0]["field"] == field


def test_the_api_and_the_desk(history: History, db_url: str, tmp_path: Path) -> None:
    h = history
    h.wh.refresh(h.session, now=h.clock.now())
    tokens = {n: issue_token(h.session, h.world.users[n], now=h.clock.now()) for n in ("sup", "h1")}
    h.session.commit()
    app = create_app(
        Settings(database_url=db_url, data_dir=tmp_path), clock=h.clock, schedule=False
    )
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {tokens['sup']}"}
        r = client.get(
            "/api/v1/analytics/heat?level=street&from=2026-10-01&to=2026-11-30&bucket=month",
            headers=auth,
        )
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["total"] == 15 and doc["refreshed_at"] is not None
        assert {a["code"]: a["n"] for a in doc["areas"]} == {"110101001": 8, "110101008": 5}
        bad = client.get("/api/v1/analytics/heat?level=town", headers=auth)
        assert bad.status_code == 422 and "level" in bad.text
        handler = {"Authorization": f"Bearer {tokens['h1']}"}
        assert client.get("/api/v1/analytics/heat", headers=handler).status_code == 403
        login = client.post(
            "/login", data={"username": "sup", "password": "password-123"}, follow_redirects=False
        )
        assert login.status_code == 303
        page = client.get("/desk/heat?from=2026-10-01&to=2026-11-30&bucket=month&level=street")
        assert page.status_code == 200 and 'data-area="110101001"' in page.text
        assert "<strong>15</strong>" in page.text
        # No polygons in the factory city: dots at the centres, no choropleth.
        assert '"polygons": null' in page.text
        street = h.session.scalars(select(Area).where(Area.code == "110101001")).one()
        street.geometry = {
            "type": "Polygon",
            "coordinates": [[[116.39, 39.91], [116.41, 39.91], [116.41, 39.93], [116.39, 39.91]]],
        }
        h.session.commit()
        shaped = client.get("/desk/heat?from=2026-10-01&to=2026-11-30&level=street").text
        assert '"polygons": {"type": "FeatureCollection"' in shaped
        assert '"properties": {"name": "110101001"}' in shaped
        # A refresh brings a new request into the next view (answers are kept per refresh).
        from factories import make_request

        url = "/desk/heat?from=2026-10-01&to=2026-12-31&bucket=month&level=street"
        assert "<strong>15</strong>" in client.get(url).text
        make_request(h.session, h.world, h.clock.now(), area="110101001")
        h.session.commit()
        h.wh.refresh(h.session, now=h.clock.now())
        assert "<strong>16</strong>" in client.get(url).text
        wrong = client.get("/desk/heat?from=2026-10-40")
        assert wrong.status_code == 422 and 'id="err-from"' in wrong.text
