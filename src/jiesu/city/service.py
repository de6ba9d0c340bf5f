"""Rules of the city domain: load a pack (upsert by code), build the city context, look up."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import (
    Area,
    CalendarYear,
    Category,
    City,
    CityPackLoad,
    HandlingUnit,
    Place,
)
from jiesu.city.pack import CityPack
from jiesu.errors import ConfigError, UnknownReference
from jiesu.kit.cache import PerDatabase, forget_everything
from jiesu.kit.calendar import WorkCalendar, YearSpec
from jiesu.kit.timelimits import TimeLimit
from jiesu.logs import get_logger

log = get_logger(__name__)


# ---------------------------------------------------------------- loading a pack
def apply_pack(session: Session, pack: CityPack, *, now: datetime) -> dict[str, int]:
    """Upsert everything by code; rows missing from the pack become inactive, never deleted,
    so requests keep pointing at the areas, units and categories they were filed under."""
    _apply_city(session, pack, now)
    areas = _upsert_areas(session, pack, now)
    categories = _upsert_categories(session, pack, now)
    units = _upsert_units(session, pack, now, areas, categories)
    places_deactivated = _upsert_places(session, pack, now, areas)
    for spec in pack.years:
        save_year(session, spec, source=pack.source, now=now)
    counts = {
        "areas": len(pack.areas),
        "categories": len(pack.categories),
        "units": len(pack.units),
        "calendar_years": len(pack.years),
        "places": len(pack.places),
        "deactivated": places_deactivated
        + _deactivate(session, Area, set(areas), now)
        + _deactivate(session, Category, set(categories), now)
        + _deactivate(session, HandlingUnit, set(units), now),
    }
    forget_everything()
    if pack.dispatch is not None:
        # Imported here: dispatch rules are checked against the city this function just loaded.
        from jiesu.dispatch.service import save_catalogue

        row = save_catalogue(session, pack.dispatch, by="city pack", source=pack.source, now=now)
        counts["dispatch_rules"] = len(row.rules)
    session.add(CityPackLoad(loaded_at=now, source=pack.source, digest=pack.digest, counts=counts))
    forget_everything()
    session.flush()
    log.info("city.pack.loaded", source=pack.source, **counts)
    return counts


def _apply_city(session: Session, pack: CityPack, now: datetime) -> None:
    c = pack.city
    city = session.scalar(select(City)) or City()
    city.code = c["code"]
    city.name = c["name"]
    city.name_en = c.get("name_en", "")
    city.timezone = c.get("timezone", "Asia/Shanghai")
    city.jurisdiction_id = c.get("jurisdiction_id", "")
    city.hotline = str(c.get("hotline", "12345"))
    city.urgency_classes = c["urgency_classes"]
    city.understanding = pack.understanding
    city.updated_at = now
    session.add(city)


def _by_code(session: Session, model: Any) -> dict[str, Any]:
    return {row.code: row for row in session.scalars(select(model))}


def _upsert_areas(session: Session, pack: CityPack, now: datetime) -> dict[str, Area]:
    existing = _by_code(session, Area)
    for row in pack.areas:  # parents come first, so paths can be built in one pass
        area = existing.get(row.code) or Area(code=row.code)
        parent = existing[row.parent_code] if row.parent_code else None
        area.parent = parent
        area.level, area.name, area.aliases = row.level, row.name, row.aliases
        area.lat, area.lon, area.geometry = row.lat, row.lon, row.geometry
        area.path = (parent.path if parent else "") + row.code + "/"
        area.active, area.updated_at = True, now
        session.add(area)
        existing[row.code] = area
    session.flush()
    return {r.code: existing[r.code] for r in pack.areas}


def _upsert_categories(session: Session, pack: CityPack, now: datetime) -> dict[str, Category]:
    existing = _by_code(session, Category)
    for row in pack.categories:
        cat = existing.get(row.code) or Category(code=row.code)
        parent = existing[row.parent_code] if row.parent_code else None
        cat.parent = parent
        cat.level, cat.name, cat.keywords = row.level, row.name, row.keywords
        cat.attributes = row.attributes
        cat.path = (parent.path if parent else "") + row.code + "/"
        cat.urgency = row.urgency
        cat.response_limit, cat.handling_limit = row.response_limit, row.handling_limit
        cat.active, cat.updated_at = True, now
        session.add(cat)
        existing[row.code] = cat
    session.flush()
    return {r.code: existing[r.code] for r in pack.categories}


def _upsert_units(
    session: Session,
    pack: CityPack,
    now: datetime,
    areas: dict[str, Area],
    categories: dict[str, Category],
) -> dict[str, HandlingUnit]:
    existing = _by_code(session, HandlingUnit)
    for row in pack.units:
        unit = existing.get(row.code) or HandlingUnit(code=row.code)
        unit.name, unit.kind, unit.phone = row.name, row.kind, row.phone
        unit.aliases = list(row.aliases)
        unit.all_categories = "*" in row.categories
        unit.areas = [areas[a] for a in row.areas]
        unit.categories = [categories[c] for c in row.categories if c != "*"]
        unit.active, unit.updated_at = True, now
        session.add(unit)
        existing[row.code] = unit
    session.flush()
    for row in pack.units:
        existing[row.code].parent_id = existing[row.parent_code].id if row.parent_code else None
    return {r.code: existing[r.code] for r in pack.units}


def _upsert_places(session: Session, pack: CityPack, now: datetime, areas: dict[str, Area]) -> int:
    """Upsert gazetteer places by (name, area); places no longer in the pack become inactive
    (never deleted). Returns how many were deactivated."""
    existing = {(p.name, p.area_id): p for p in session.scalars(select(Place))}
    kept: set[tuple[str, int]] = set()
    for row in pack.places:
        area = areas[row.area_code]
        key = (row.name, area.id)
        place = existing.get(key) or Place(name=row.name, area=area)
        place.kind, place.aliases = row.kind, list(row.aliases)
        place.lat, place.lon = row.lat, row.lon
        place.active, place.updated_at = True, now
        session.add(place)
        existing[key] = place
        kept.add(key)
    count = 0
    for key, place in existing.items():
        if place.active and key not in kept:
            place.active, place.updated_at = False, now
            count += 1
    session.flush()
    return count


def _deactivate(session: Session, model: Any, keep: set[str], now: datetime) -> int:
    count = 0
    for row in session.scalars(select(model).where(model.active.is_(True))):
        if row.code not in keep:
            row.active, row.updated_at = False, now
            count += 1
    return count


def save_year(session: Session, spec: YearSpec, *, source: str, now: datetime) -> CalendarYear:
    row = session.get(CalendarYear, spec.year) or CalendarYear(year=spec.year)
    row.holidays = {d.isoformat(): n for d, n in sorted(spec.holidays.items())}
    row.workdays = {d.isoformat(): n for d, n in sorted(spec.workdays.items())}
    row.provisional, row.source, row.loaded_at = spec.provisional, source, now
    session.add(row)
    session.flush()
    _calendar_cache.clear()
    _context_cache.clear()
    return row


# ---------------------------------------------------------------- the city context
@dataclass(frozen=True)
class CityContext:
    """What the rules need to know about the city: zone, calendar and urgency classes."""

    code: str
    name: str
    tz: ZoneInfo
    calendar: WorkCalendar
    urgency_classes: dict[str, dict[str, str]]
    jurisdiction_id: str

    def limits(self, urgency: str, category: Category | None) -> tuple[TimeLimit, TimeLimit]:
        """Response and handling limits: the category's own when its urgency applies, else
        the urgency class defaults (an operator who marks a case urgent shortens its clock)."""
        if category is not None and category.urgency == urgency:
            return TimeLimit.parse(category.response_limit), TimeLimit.parse(
                category.handling_limit
            )
        spec = self.urgency_classes.get(urgency) or self.urgency_classes["general"]
        return TimeLimit.parse(spec["response"]), TimeLimit.parse(spec["handling"])


_calendar_cache: dict[tuple[Any, ...], WorkCalendar] = {}


def _calendar(session: Session) -> WorkCalendar:
    rows = session.scalars(select(CalendarYear).order_by(CalendarYear.year)).all()
    key = tuple((r.year, r.loaded_at) for r in rows)
    cal = _calendar_cache.get(key)
    if cal is None:
        base = WorkCalendar()
        specs = [
            YearSpec(
                year=r.year,
                holidays={date.fromisoformat(d): n for d, n in r.holidays.items()},
                workdays={date.fromisoformat(d): n for d, n in r.workdays.items()},
                provisional=r.provisional,
            )
            for r in rows
        ]
        cal = base.with_years(specs) if specs else base
        _calendar_cache.clear()
        _calendar_cache[key] = cal
    return cal


CONTEXT_TTL_SECONDS = 30.0
_context_cache: PerDatabase[CityContext] = PerDatabase(CONTEXT_TTL_SECONDS)


def forget_city_context() -> None:
    """Drop cached contexts (after the database was replaced underneath, as tests do)."""
    _context_cache.clear()


def city_context(session: Session) -> CityContext:
    return _context_cache.get(session, _load_context)


def _load_context(session: Session) -> CityContext:
    city = session.scalar(select(City))
    if city is None:
        raise ConfigError("no city is loaded yet: run `jiesu city load DIR` (or `jiesu demo`)")
    return CityContext(
        code=city.code,
        name=city.name,
        tz=ZoneInfo(city.timezone),
        calendar=_calendar(session),
        urgency_classes=city.urgency_classes,
        jurisdiction_id=city.jurisdiction_id,
    )


# ---------------------------------------------------------------- look-ups with hints
def _hints(session: Session, model: Any, value: str, limit: int = 5) -> list[str]:
    rows = session.execute(select(model.code, model.name).where(model.active.is_(True))).all()
    names = {f"{name} ({code})": (code, name) for code, name in rows}
    close = difflib.get_close_matches(value, [n for _, n in names.values()], n=limit, cutoff=0.3)
    picked = [k for k, (_, n) in names.items() if n in close][:limit]
    if len(picked) < limit:
        contains = [
            k for k, (c, n) in names.items() if value and (value in n or c.startswith(value))
        ]
        picked += [k for k in contains if k not in picked][: limit - len(picked)]
    return picked or [f"{n} ({c})" for c, n in rows[:limit]]


def _find(session: Session, model: Any, field: str, value: str) -> Any:
    row = session.scalar(select(model).where(model.code == value, model.active.is_(True)))
    if row is None:
        found = session.scalars(
            select(model).where(model.name == value, model.active.is_(True)).limit(2)
        ).all()
        row = found[0] if len(found) == 1 else None
    if row is None:
        raise UnknownReference(field, value, _hints(session, model, value))
    return row


def find_category(session: Session, value: str, field: str = "category") -> Category:
    return _find(session, Category, field, value)  # type: ignore[no-any-return]


def find_area(session: Session, value: str, field: str = "area") -> Area:
    return _find(session, Area, field, value)  # type: ignore[no-any-return]


def find_unit(session: Session, value: str, field: str = "unit") -> HandlingUnit:
    """By code, name or a former name (alias): units are renamed, people keep the old name."""
    try:
        return _find(session, HandlingUnit, field, value)  # type: ignore[no-any-return]
    except UnknownReference:
        by_alias = [
            u
            for u in session.scalars(select(HandlingUnit).where(HandlingUnit.active.is_(True)))
            if value in (u.aliases or [])
        ]
        if len(by_alias) == 1:
            return by_alias[0]
        raise


def counts(session: Session) -> dict[str, int]:
    return {
        name: session.scalar(select(func.count()).select_from(model).where(model.active.is_(True)))
        or 0
        for name, model in (("areas", Area), ("categories", Category), ("units", HandlingUnit))
    }
