"""GET /api/v1/rates…: figures for staff who see everything, a handler's own unit only, 422s."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.people.service import issue_token
from jiesu.rates.endpoints import router

from apiclient import Api

A, B = "ST-110101001", "ST-110101008"
NOV = {"period": "2026-11", "as_of": "2026-12-05T00:00:00Z"}


def with_rates(app: FastAPI) -> FastAPI:
    # Until the router is wired into jiesu.api, mount it the way jiesu.api mounts the others.
    if not any(getattr(r, "path", "") == "/api/v1/rates" for r in app.routes):
        app.include_router(router, prefix="/api/v1")
    return app


@pytest.fixture
def api(walk: Any, db_url: str, tmp_path: Path) -> Iterator[Api]:
    s, world = walk.session, walk.world
    tokens = {name: issue_token(s, u, now=walk.clock.now()) for name, u in world.users.items()}
    s.commit()
    (tmp_path / "rates.yaml").write_text("min_answers: 1\n", encoding="utf-8")
    app = create_app(
        Settings(database_url=db_url, data_dir=tmp_path), clock=walk.clock, schedule=False
    )
    with TestClient(with_rates(app)) as client:
        yield Api(client, tokens, world)


def test_staff_see_every_unit(api: Api) -> None:
    for who in ("sup", "analyst", "admin"):
        r = api.get("/api/v1/rates", who, params=NOV)
        assert r.status_code == 200, r.text
        assert {row["code"] for row in r.json()["rows"]} == {A, B}
    a = next(row for row in r.json()["rows"] if row["code"] == A)
    assert a["rates"]["score"] == 73.0


def test_handler_sees_only_own_unit(api: Api) -> None:
    r = api.get("/api/v1/rates", "h1", params=NOV)
    assert r.status_code == 200 and [row["code"] for row in r.json()["rows"]] == [A]
    r = api.get("/api/v1/rates", "h1", params={**NOV, "by": "category", "level": "3"})
    assert r.status_code == 200 and r.json()["total"]["counts"]["assessed"] == 4  # A's only
    r = api.get("/api/v1/rates", "h1", params={**NOV, "unit": B})
    assert r.status_code == 403 and r.json()["error"]["fields"][0]["field"] == "unit"
    r = api.get("/api/v1/rates/ranking", "h2", params=NOV)
    assert r.status_code == 200
    assert [(u["code"], u["rank"]) for u in r.json()["units"]] == [(B, 2)]
    r = api.get("/api/v1/rates/ranking", "h2", params={**NOV, "kind": "city_bureau"})
    assert r.status_code == 403
    r = api.get("/api/v1/rates/export", "h1", params={**NOV, "unit": B})
    assert r.status_code == 403


@pytest.mark.parametrize("who", ["op", "disp", "citizen"])
def test_other_roles_are_refused(api: Api, who: str) -> None:
    assert api.get("/api/v1/rates", who, params=NOV).status_code == 403


def test_ranking_and_ontime(api: Api) -> None:
    r = api.get("/api/v1/rates/ranking", params=NOV)
    assert r.status_code == 200, r.text
    assert [u["code"] for u in r.json()["units"]] == [A, B]
    r = api.get("/api/v1/rates/ontime", params={**NOV, "by": "area"})
    assert r.status_code == 200, r.text
    rows = {row["code"]: row["ontime"] for row in r.json()["rows"]}
    assert rows["110101001"]["n"] == 4 and rows["110101008"]["n"] == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "March"}, "period"),
        ({"by": "district"}, "by"),
        ({"unit": "NO-SUCH"}, "unit"),
        ({"area": "nowhere"}, "area"),
        ({"category": "999"}, "category"),
        ({"kind": "ministry"}, "kind"),
        ({"by": "category", "level": "7"}, "level"),
        ({"as_of": "2026-12-05T00:00:00"}, "as_of"),  # a time without a zone is ambiguous
    ],
)
def test_bad_input_is_422_naming_the_field(api: Api, params: dict[str, str], field: str) -> None:
    r = api.get("/api/v1/rates", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"][0]["field"] == field


def test_export_downloads(api: Api) -> None:
    r = api.get("/api/v1/rates/export", params={**NOV, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="rates-2026-11.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["code"] for row in rows] == [A, B, "*"]
    r = api.get("/api/v1/rates/export", params={**NOV, "what": "ranking", "format": "xlsx"})
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    ranking = list(wb["ranking"].iter_rows(values_only=True))
    assert ranking[1][:2] == (1, A) and ranking[2][:2] == (2, B)
    r = api.get("/api/v1/rates/export", params={**NOV, "what": "ontime", "format": "csv"})
    assert r.status_code == 200 and r.content.decode("utf-8-sig").startswith("code,name,kind")


def test_openapi_lists_the_routes(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {
        "/api/v1/rates",
        "/api/v1/rates/ranking",
        "/api/v1/rates/ontime",
        "/api/v1/rates/export",
    } <= set(paths)
