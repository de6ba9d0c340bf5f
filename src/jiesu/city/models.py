"""Tables of the city: areas, handling units (承办单位), categories, calendar years."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiesu.db.base import Base

AREA_LEVELS = ("city", "district", "street", "community", "grid")
PLACE_KINDS = ("road", "landmark", "estate", "poi")
UNIT_KINDS = (
    "street_office",  # 街道办事处 / 乡镇政府
    "district_government",  # 区政府
    "city_bureau",  # 市级部门
    "public_service_company",  # 公共服务企业 (water, power, gas, heating, transit, telecom)
    "platform_company",  # 平台企业 (delivery, ride-hailing, e-commerce)
)
URGENCY_CLASSES = ("emergency", "utility", "general", "complex")


def check_urgency(value: str | None) -> str | None:
    """The one check of an urgency class name, for every input that carries one."""
    if value is not None and value not in URGENCY_CLASSES:
        raise ValueError(f"unknown urgency {value!r}; use one of {', '.join(URGENCY_CLASSES)}")
    return value


unit_areas = Table(
    "unit_areas",
    Base.metadata,
    Column("unit_id", ForeignKey("handling_units.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True),
)

unit_categories = Table(
    "unit_categories",
    Base.metadata,
    Column("unit_id", ForeignKey("handling_units.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
)


class City(Base):
    """The one city this installation serves, with its urgency classes and time limits."""

    __tablename__ = "city"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    jurisdiction_id: Mapped[str] = mapped_column(String(200), default="")
    hotline: Mapped[str] = mapped_column(String(32), default="12345")
    urgency_classes: Mapped[dict[str, Any]] = mapped_column(JSON)
    # How the city reads requests: urgency signals, demand levels, thresholds (understanding.yaml).
    understanding: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]


class Area(Base):
    """A node of the area tree: city → district → street/town → community → grid."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), index=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Materialised path of codes ("110000/110101/110101001/") for subtree queries on any backend.
    path: Mapped[str] = mapped_column(String(400), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]

    parent: Mapped[Area | None] = relationship(remote_side="Area.id")


class Place(Base):
    """A gazetteer entry (地名): a road, landmark, housing estate or other name that points to an
    area. A name may appear once per area (a long road crosses several streets): a text naming
    it is then ambiguous between those areas, which place extraction reports instead of guessing."""

    __tablename__ = "places"
    __table_args__ = (UniqueConstraint("name", "area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]

    area: Mapped[Area] = relationship()


class Category(Base):
    """A node of the category taxonomy (up to three levels) with its urgency and time limits."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100), index=True)
    path: Mapped[str] = mapped_column(String(200), index=True)
    # Resolved values (inheritance from parents and urgency classes is applied at load time).
    urgency: Mapped[str] = mapped_column(String(16))
    response_limit: Mapped[str] = mapped_column(String(16))
    handling_limit: Mapped[str] = mapped_column(String(16))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Extra questions asked at intake (Open311 service definition attributes), as a list of
    # {code, datatype, required, description, order, values: [{key, name}]}.
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]

    parent: Mapped[Category | None] = relationship(remote_side="Category.id")


class HandlingUnit(Base):
    """承办单位: a unit that receives dispatched requests, with its jurisdiction and categories."""

    __tablename__ = "handling_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("handling_units.id"))
    phone: Mapped[str] = mapped_column(String(64), default="")
    # Former and colloquial names: a unit named by any of them is found, history relabelled.
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    all_categories: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]

    areas: Mapped[list[Area]] = relationship(secondary=unit_areas)
    categories: Mapped[list[Category]] = relationship(secondary=unit_categories)


class CalendarYear(Base):
    """A year of the working-day calendar loaded by the city (beyond the built-in range)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    holidays: Mapped[dict[str, Any]] = mapped_column(JSON)
    workdays: Mapped[dict[str, Any]] = mapped_column(JSON)
    provisional: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(Text, default="")
    loaded_at: Mapped[datetime]


class CityPackLoad(Base):
    """History of city pack loads: what was loaded, when, with which counts."""

    __tablename__ = "city_pack_loads"

    id: Mapped[int] = mapped_column(primary_key=True)
    loaded_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
