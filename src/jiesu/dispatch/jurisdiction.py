"""Who is responsible where: units by role relative to a request's area.

A unit's ``areas`` are the roots of its jurisdiction, so "the street office of the request's
street" is the street office whose roots include the request's area or one of its ancestors.
The nearest root wins: a district housing bureau (rooted at its district) beats the city one
(rooted at the city). Several units at the same distance are equivalent (e.g. grid teams of one
community): the caller balances them by open load or takes the first by code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from jiesu.dispatch.directory import Directory, UnitInfo

# The owner of last resort (区政府兜底): with no unit found for a place, its district answers.
FALLBACK_KIND = "district_government"


@dataclass(frozen=True)
class Found:
    units: tuple[str, ...]  # equivalent candidates, nearest level, ordered by code
    area: str  # the jurisdiction root that matched


def nearest(
    d: Directory,
    area_path: tuple[str, ...],
    *,
    kind: str | None = None,
    handles: tuple[str, ...] | None = None,
    exclude: Iterable[str] = (),
) -> Found | None:
    """Units of ``kind`` (any kind when None) whose jurisdiction covers the area, nearest
    first; with ``handles`` (a category path) only units that take that category."""
    skip = set(exclude)

    def fits(u: UnitInfo) -> bool:
        if u.code in skip or (kind is not None and u.kind != kind):
            return False
        return handles is None or u.handles(handles)

    for area in reversed(area_path):
        here = tuple(c for c in d.covering.get(area, ()) if fits(d.units[c]))
        if here and handles:
            # The unit whose own list names the deepest category takes it: the medical
            # insurance bureau for 医疗救助 rather than civil affairs for 社会救助 at large.
            depth = {c: _depth(d.units[c], handles) for c in here}
            best = max(depth.values())
            here = tuple(c for c in here if depth[c] == best)
        if here:
            return Found(here, area)
    return None


def _depth(unit: UnitInfo, category_path: tuple[str, ...]) -> int:
    return max((i + 1 for i, c in enumerate(category_path) if c in unit.categories), default=0)


def district_of(d: Directory, area_path: tuple[str, ...]) -> str | None:
    return next((a for a in area_path if d.area_levels.get(a) == "district"), None)


def fallback_owner(
    d: Directory, area_path: tuple[str, ...], exclude: Iterable[str] = ()
) -> str | None:
    """The district government of the request's district, when the place is known."""
    found = nearest(d, area_path, kind=FALLBACK_KIND, exclude=exclude)
    return found.units[0] if found else None


def pick(units: tuple[str, ...], load: Callable[[tuple[str, ...]], dict[str, int]] | None) -> str:
    """One of equivalent units: the least loaded when balancing (ties by code), else the first."""
    if load is None or len(units) == 1:
        return units[0]
    open_now = load(units)
    return min(units, key=lambda u: (open_now.get(u, 0), u))


def within(d: Directory, unit: str, area_path_root: str) -> bool:
    """Whether every jurisdiction root of ``unit`` lies inside the area ``area_path_root``
    (a district may re-dispatch only to units inside its own district)."""
    info = d.units.get(unit)
    if info is None or not info.areas:
        return False
    return all(area_path_root in d.area_paths.get(a, ()) for a in info.areas)
