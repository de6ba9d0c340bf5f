"""Place suggestions from the loaded area tree and gazetteer (cached per database)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.gazetteer import PlaceRow
from jiesu.city.models import Area, Place
from jiesu.kit.cache import PerDatabase
from jiesu.nlp.place import AreaEntry, Gazetteer, PlaceResult

# Areas and places change a few times a year; a load in this process calls forget().
_cache: PerDatabase[Gazetteer] = PerDatabase(ttl_seconds=30.0)


def forget() -> None:
    _cache.clear()


def build_gazetteer(session: Session) -> Gazetteer:
    """A gazetteer of the active areas and the active places of active areas."""
    rows = session.execute(
        select(
            Area.id,
            Area.code,
            Area.parent_id,
            Area.level,
            Area.name,
            Area.aliases,
            Area.path,
            Area.geometry,
        ).where(Area.active.is_(True))
    ).all()
    code_of = {r.id: r.code for r in rows}
    areas = [
        AreaEntry(
            code=r.code,
            parent_code=code_of.get(r.parent_id) if r.parent_id is not None else None,
            level=r.level,
            name=r.name,
            aliases=tuple(r.aliases or ()),
            path=r.path or "",
            geometry=r.geometry,
        )
        for r in rows
    ]
    places = [
        PlaceRow(r.name, r.kind, r.code, tuple(r.aliases or ()), r.lat, r.lon)
        for r in session.execute(
            select(Place.name, Place.kind, Area.code, Place.aliases, Place.lat, Place.lon)
            .join(Area, Place.area_id == Area.id)
            .where(Place.active.is_(True), Area.active.is_(True))
        )
    ]
    return Gazetteer(areas, places)


def suggest_place(
    session: Session, text: str, lat: float | None = None, lon: float | None = None
) -> PlaceResult:
    return _cache.get(session, build_gazetteer).extract(text, lat, lon)
