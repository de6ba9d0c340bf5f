"""Turning source values into our categories, units and areas — creating what history brings
that the city pack does not know, under an "imported" branch, and remembering every decision
so the import summary can say what was mapped and what was created."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.city.service import CityContext
from jiesu.intake.importer.mapping import Mapping

IMPORTED_ROOT = "IMP"


def _h(*parts: str, n: int = 10) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:n].upper()


class Resolver:
    def __init__(self, session: Session, mapping: Mapping, ctx: CityContext, now: datetime):
        self.session, self.mapping, self.ctx, self.now = session, mapping, ctx, now
        self.categories: dict[tuple[str, str], Category] = {}
        self.units: dict[str, HandlingUnit] = {}
        self.areas: dict[str, Area | None] = {}
        self.created_categories: list[str] = []
        self.created_units: list[str] = []
        self.mapped_categories: Counter[str] = Counter()
        self.unmatched_areas: Counter[str] = Counter()
        general = ctx.urgency_classes.get("general") or {"response": "24h", "handling": "7wd"}
        self.limits = (str(general["response"]), str(general["handling"]))

    def reattach(self) -> None:
        """After the session was cleared between batches, put cached rows back into it."""
        for obj in [*self.categories.values(), *self.units.values(), *self.areas.values()]:
            if obj is not None:
                self.session.add(obj)

    # ------------------------------------------------------------------ categories
    def category(self, value: str, group: str = "") -> Category:
        key = (value, group)
        cat = self.categories.get(key)
        if cat is None:
            cat = self._find_category(value) or self._create_category(value, group)
            self.categories[key] = cat
        return cat

    def _find_category(self, value: str) -> Category | None:
        code = self.mapping.category_map.get(value)
        stmt = select(Category).where(Category.active.is_(True))
        if code is not None:
            found = self.session.scalar(stmt.where(Category.code == code))
            if found is None:
                raise LookupError(f"category_map sends {value!r} to {code}, which does not exist")
            self.mapped_categories[f"{value} → {found.code}"] += 1
            return found
        matches = self.session.scalars(
            stmt.where(or_(Category.code == value, Category.name == value)).order_by(
                Category.level.desc()
            )
        ).all()
        if matches:
            self.mapped_categories[f"{value} → {matches[0].code}"] += 1
            return matches[0]
        return None

    def _node(self, code: str, name: str, parent: Category | None, level: int) -> Category:
        existing = self.session.scalar(select(Category).where(Category.code == code))
        if existing is not None:
            return existing
        cat = Category(
            code=code,
            name=name[:100],
            level=level,
            parent=parent,
            path=(parent.path if parent else "") + code + "/",
            urgency="general",
            response_limit=self.limits[0],
            handling_limit=self.limits[1],
            keywords=[],
            attributes=[],
            updated_at=self.now,
        )
        self.session.add(cat)
        self.session.flush()
        self.created_categories.append(f"{code} {name}")
        return cat

    def _create_category(self, value: str, group: str) -> Category:
        root = self._node(IMPORTED_ROOT, "导入分类 (imported)", None, 1)
        branch = group or self.mapping.name
        mid = self._node(f"{IMPORTED_ROOT}{_h(branch, n=8)}", branch, root, 2)
        return self._node(f"{IMPORTED_ROOT}{_h(branch, value)}", value, mid, 3)

    # ------------------------------------------------------------------ units
    def unit(self, value: str) -> HandlingUnit:
        unit = self.units.get(value)
        if unit is None:
            unit = self._find_unit(value) or self._create_unit(value)
            self.units[value] = unit
        return unit

    def _find_unit(self, value: str) -> HandlingUnit | None:
        code = self.mapping.unit_map.get(value)
        stmt = select(HandlingUnit).where(HandlingUnit.active.is_(True))
        if code is not None:
            found = self.session.scalar(stmt.where(HandlingUnit.code == code))
            if found is None:
                raise LookupError(f"unit_map sends {value!r} to {code}, which does not exist")
            return found
        found = self.session.scalars(
            stmt.where(or_(HandlingUnit.code == value, HandlingUnit.name == value)).limit(1)
        ).first()
        if found is None:
            # A former name (units are renamed and merged): history lands on today's unit.
            found = next(
                (u for u in self.session.scalars(stmt) if value in (u.aliases or [])), None
            )
        return found

    def _create_unit(self, value: str) -> HandlingUnit:
        code = f"IMP-{_h(value)}"
        unit = self.session.scalar(select(HandlingUnit).where(HandlingUnit.code == code))
        if unit is None:
            city = self.session.scalar(select(Area).where(Area.level == "city"))
            unit = HandlingUnit(
                code=code,
                name=value[:200],
                kind="city_bureau",
                areas=[city] if city else [],
                updated_at=self.now,
            )
            self.session.add(unit)
            self.session.flush()
            self.created_units.append(f"{code} {value}")
        return unit

    # ------------------------------------------------------------------ areas
    def area(self, value: str) -> Area | None:
        if value in self.areas:
            area = self.areas[value]
        else:
            area = self.session.scalars(
                select(Area).where(Area.active.is_(True), Area.name == value).limit(1)
            ).first() or self._by_alias(value)
            self.areas[value] = area
        if area is None:
            self.unmatched_areas[value] += 1
        return area

    def _by_alias(self, value: str) -> Area | None:
        for area in self.session.scalars(select(Area).where(Area.active.is_(True))):
            if value in (area.aliases or []):
                return area
        return None

    def summary(self) -> dict[str, Any]:
        return {
            "created_categories": self.created_categories,
            "created_units": self.created_units,
            "mapped_categories": dict(self.mapped_categories.most_common(50)),
            "unmatched_areas": dict(self.unmatched_areas.most_common(50)),
        }
