"""Place suggestions from the database: active areas and places, cached per database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Place
from jiesu.city.service import apply_pack
from jiesu.nlp import places
from jiesu.nlp.places import suggest_place

from factories import city_pack

NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[116.40, 39.93], [116.41, 39.93], [116.41, 39.95], [116.40, 39.95]]],
}


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    # The session fixture empties the database; the gazetteer built from it must go too.
    places.forget()
    yield
    places.forget()


def area(session: Session, code: str) -> Area:
    return session.scalars(select(Area).where(Area.code == code)).one()


def add_place(session: Session, name: str, kind: str, code: str, **fields: object) -> Place:
    place = Place(name=name, kind=kind, area=area(session, code), updated_at=NOW, **fields)
    session.add(place)
    session.flush()
    return place


@pytest.fixture
def city(session: Session) -> Session:
    """The factory city (东城区: 东华门街道, 交道口街道; 西城区) and a few places."""
    apply_pack(session, city_pack(), now=NOW)
    add_place(session, "南锣鼓巷", "road", "110101008", aliases=["南锣"])
    add_place(session, "王府井", "landmark", "110101001", aliases=["Wangfujing"])
    add_place(session, "示例大街", "road", "110101001")
    add_place(session, "示例大街", "road", "110101008")
    session.flush()
    return session


def test_places_and_areas_from_the_database(city: Session) -> None:
    r = suggest_place(city, "南锣鼓巷里面有人私搭乱建")
    assert r.best is not None
    assert (r.best.area_code, r.best.source, r.best.text) == ("110101008", "place", "南锣鼓巷")
    assert r.best.area_path == "北京市/东城区/交道口街道"
    assert suggest_place(city, "Noise near wangfujing at night").area_code == "110101001"
    assert suggest_place(city, "西城区有人遛狗不拴绳").area_code == "110102"


def test_a_road_across_two_streets_from_the_database(city: Session) -> None:
    r = suggest_place(city, "示例大街井盖丢了")
    assert r.ambiguous and r.candidates == ("110101001", "110101008")
    assert r.area_code == "110101"  # 东城区, the streets' common district


def test_chaoyang_of_another_city_is_outside(city: Session) -> None:
    r = suggest_place(city, "吉林省长春市朝阳区的亲戚托我反映路灯不亮")
    assert r.outside_city and r.area_code is None
    assert r.best is not None and (r.best.area_code, r.best.source) == ("220104", "cpca")


def test_inactive_rows_are_left_out(city: Session) -> None:
    place = city.scalars(select(Place).where(Place.name == "南锣鼓巷")).one()
    place.active = False
    area(city, "110102").active = False
    city.flush()
    assert suggest_place(city, "南锣鼓巷里面有人私搭乱建").best is None
    assert suggest_place(city, "西城区有人遛狗不拴绳").best is None


def test_polygons_stored_on_areas_are_used(city: Session) -> None:
    area(city, "110101008").geometry = SQUARE
    city.flush()
    r = suggest_place(city, "楼道里堆满杂物", lat=39.94, lon=116.405)
    assert r.best is not None
    assert (r.best.area_code, r.best.source) == ("110101008", "polygon")
    assert suggest_place(city, "楼道里堆满杂物", lat=39.0, lon=116.0).best is None


def test_the_gazetteer_is_cached_until_forgotten(city: Session) -> None:
    assert suggest_place(city, "示例胡同夜里太吵").best is None
    add_place(city, "示例胡同", "road", "110101001")
    assert suggest_place(city, "示例胡同夜里太吵").best is None  # still the cached gazetteer
    places.forget()
    assert suggest_place(city, "示例胡同夜里太吵").area_code == "110101001"
