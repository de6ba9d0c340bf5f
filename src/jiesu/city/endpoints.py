"""Read-only routes over the city: areas, categories, handling units."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from jiesu.city.models import AREA_LEVELS, UNIT_KINDS, Area, Category, HandlingUnit
from jiesu.city.schemas import AreaOut, CategoryOut, UnitOut
from jiesu.deps import DB
from jiesu.errors import BadInput

router = APIRouter(tags=["city"])
Limit = Annotated[int, Query(ge=1, le=2000)]


@router.get("/areas", response_model=list[AreaOut])
async def areas(
    db: DB,
    level: str | None = None,
    parent: str | None = None,
    q: str | None = None,
    limit: Limit = 500,
) -> list[AreaOut]:
    if level and level not in AREA_LEVELS:
        raise BadInput("level", f"use one of {', '.join(AREA_LEVELS)}")

    def work(s: Session) -> list[AreaOut]:
        stmt = select(Area).where(Area.active.is_(True)).options(selectinload(Area.parent))
        if level:
            stmt = stmt.where(Area.level == level)
        if parent:
            stmt = stmt.where(Area.parent.has(Area.code == parent))
        if q:
            stmt = stmt.where(Area.name.contains(q, autoescape=True))
        rows = s.scalars(stmt.order_by(Area.path).limit(limit))
        return [
            AreaOut(
                code=a.code,
                name=a.name,
                level=a.level,
                parent=a.parent.code if a.parent else None,
                aliases=a.aliases,
                lat=a.lat,
                lon=a.lon,
            )
            for a in rows
        ]

    return await db.run_sync(work)


@router.get("/categories", response_model=list[CategoryOut])
async def categories(
    db: DB,
    level: Annotated[int | None, Query(ge=1, le=3)] = None,
    parent: str | None = None,
    q: str | None = None,
    limit: Limit = 1000,
) -> list[CategoryOut]:
    def work(s: Session) -> list[CategoryOut]:
        stmt = (
            select(Category).where(Category.active.is_(True)).options(selectinload(Category.parent))
        )
        if level:
            stmt = stmt.where(Category.level == level)
        if parent:
            stmt = stmt.where(Category.parent.has(Category.code == parent))
        if q:
            stmt = stmt.where(Category.name.contains(q, autoescape=True))
        return [
            CategoryOut(
                code=c.code,
                name=c.name,
                level=c.level,
                parent=c.parent.code if c.parent else None,
                urgency=c.urgency,
                response_limit=c.response_limit,
                handling_limit=c.handling_limit,
            )
            for c in s.scalars(stmt.order_by(Category.path).limit(limit))
        ]

    return await db.run_sync(work)


@router.get("/units", response_model=list[UnitOut])
async def units(
    db: DB, kind: str | None = None, q: str | None = None, limit: Limit = 1000
) -> list[UnitOut]:
    if kind and kind not in UNIT_KINDS:
        raise BadInput("kind", f"use one of {', '.join(UNIT_KINDS)}")

    def work(s: Session) -> list[UnitOut]:
        stmt = (
            select(HandlingUnit)
            .where(HandlingUnit.active.is_(True))
            .options(selectinload(HandlingUnit.areas), selectinload(HandlingUnit.categories))
        )
        if kind:
            stmt = stmt.where(HandlingUnit.kind == kind)
        if q:
            stmt = stmt.where(HandlingUnit.name.contains(q, autoescape=True))
        return [
            UnitOut(
                code=u.code,
                name=u.name,
                kind=u.kind,
                phone=u.phone,
                areas=[a.code for a in u.areas],
                categories=[c.code for c in u.categories],
                all_categories=u.all_categories,
            )
            for u in s.scalars(stmt.order_by(HandlingUnit.code).limit(limit))
        ]

    return await db.run_sync(work)
