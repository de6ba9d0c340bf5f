"""Who answers a sensor's alarm: its own unit, else the street office, else the district.

A unit's ``areas`` are the roots of its jurisdiction, so the street office of a grid is the one
whose roots include the grid or one of its ancestors (community, street…). The nearest root
wins, so a street office given a single community takes that community's sensors.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, HandlingUnit, unit_areas
from jiesu.intake.models import Sensor

# In order of preference: the street office works the grid (网格化管理); the district
# government answers where no street office is set up (towns or districts without streets).
FALLBACK_KINDS = ("street_office", "district_government")
WHY = {
    "sensor": "传感器指定的承办单位",
    "street_office": "网格所属街道（乡镇）",
    "district_government": "网格所属区政府（无街道承办单位）",
}


@dataclass(frozen=True)
class Route:
    unit: HandlingUnit
    why: str  # which rule picked the unit, written into the dispatch note


def ancestry(area: Area) -> list[str]:
    """Codes from the area up to the city, nearest first (from the materialised path)."""
    return list(reversed([code for code in area.path.split("/") if code]))


def route(session: Session, sensor: Sensor, area: Area) -> Route | None:
    if sensor.unit_id is not None:
        own = session.get(HandlingUnit, sensor.unit_id)
        if own is not None and own.active:
            return Route(own, WHY["sensor"])
    chain = ancestry(area)
    rows = session.execute(
        select(HandlingUnit, Area.code)
        .join(unit_areas, unit_areas.c.unit_id == HandlingUnit.id)
        .join(Area, Area.id == unit_areas.c.area_id)
        .where(
            Area.code.in_(chain),
            HandlingUnit.kind.in_(FALLBACK_KINDS),
            HandlingUnit.active.is_(True),
        )
    ).all()
    if not rows:
        return None
    unit, _ = min(
        rows,
        key=lambda r: (FALLBACK_KINDS.index(r[0].kind), chain.index(r[1]), r[0].code),
    )
    return Route(unit, WHY[unit.kind])
