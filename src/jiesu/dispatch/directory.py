"""The city as dispatch sees it, in memory: units with their jurisdiction and categories,
the category and area trees as code paths, names and aliases to codes.

Read on every dispatch and every dry-run row, changed a few times a year: built once per
database and kept for a short while (cleared at once by a city pack load).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from jiesu.city.models import AREA_LEVELS, Area, Category, HandlingUnit
from jiesu.kit.cache import PerDatabase


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str
    kind: str
    areas: tuple[str, ...]
    categories: frozenset[str]
    all_categories: bool
    aliases: tuple[str, ...] = ()

    def handles(self, category_path: tuple[str, ...]) -> bool:
        """Whether the unit takes this category (it or any ancestor is on its list)."""
        return self.all_categories or any(c in self.categories for c in category_path)


def _paths(rows: list[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    return {code: tuple(p for p in path.split("/") if p) for code, path in rows}


@dataclass
class Directory:
    units: dict[str, UnitInfo] = field(default_factory=dict)
    unit_ids: dict[int, str] = field(default_factory=dict)
    category_paths: dict[str, tuple[str, ...]] = field(default_factory=dict)
    category_names: dict[str, str] = field(default_factory=dict)
    area_paths: dict[str, tuple[str, ...]] = field(default_factory=dict)
    area_levels: dict[str, str] = field(default_factory=dict)
    area_names: dict[str, str] = field(default_factory=dict)
    # Names (and aliases) that point to exactly one code; ambiguous names are left out so a
    # rule has to say which one it means.
    category_by_name: dict[str, str] = field(default_factory=dict)
    area_by_name: dict[str, str] = field(default_factory=dict)
    unit_by_name: dict[str, str] = field(default_factory=dict)
    # Area code → units whose jurisdiction roots include exactly that area.
    covering: dict[str, list[str]] = field(default_factory=dict)

    # -- look-ups by code, name or alias -------------------------------------------------
    def unit_code(self, value: str) -> str | None:
        return value if value in self.units else self.unit_by_name.get(value)

    def category_code(self, value: str) -> str | None:
        return value if value in self.category_paths else self.category_by_name.get(value)

    def area_code(self, value: str) -> str | None:
        return value if value in self.area_paths else self.area_by_name.get(value)

    def area_depth(self, code: str) -> int:
        """1 for the city … 5 for a grid: deeper areas make more specific rules."""
        return AREA_LEVELS.index(self.area_levels[code]) + 1

    def unit_name(self, code: str) -> str:
        info = self.units.get(code)
        return info.name if info else code


def _unique(pairs: list[tuple[str, str]]) -> dict[str, str]:
    seen: dict[str, set[str]] = defaultdict(set)
    for name, code in pairs:
        if name:
            seen[name].add(code)
    return {name: next(iter(codes)) for name, codes in seen.items() if len(codes) == 1}


def build_directory(session: Session) -> Directory:
    d = Directory()
    cats = session.execute(
        select(Category.code, Category.path, Category.name).where(Category.active.is_(True))
    ).all()
    d.category_paths = _paths([(c, p) for c, p, _ in cats])
    d.category_names = {c: n for c, _, n in cats}
    d.category_by_name = _unique([(n, c) for c, _, n in cats])
    areas = session.execute(
        select(Area.code, Area.path, Area.level, Area.name, Area.aliases).where(
            Area.active.is_(True)
        )
    ).all()
    d.area_paths = _paths([(a.code, a.path) for a in areas])
    d.area_levels = {a.code: a.level for a in areas}
    d.area_names = {a.code: a.name for a in areas}
    d.area_by_name = _unique(
        [(a.name, a.code) for a in areas] + [(al, a.code) for a in areas for al in a.aliases or []]
    )
    units = session.scalars(
        select(HandlingUnit)
        .where(HandlingUnit.active.is_(True))
        .options(selectinload(HandlingUnit.areas), selectinload(HandlingUnit.categories))
        .order_by(HandlingUnit.code)
    ).all()
    covering: dict[str, list[str]] = defaultdict(list)
    names: list[tuple[str, str]] = []
    for u in units:
        info = UnitInfo(
            id=u.id,
            code=u.code,
            name=u.name,
            kind=u.kind,
            areas=tuple(a.code for a in u.areas),
            categories=frozenset(c.code for c in u.categories),
            all_categories=u.all_categories,
            aliases=tuple(u.aliases or []),
        )
        d.units[u.code] = info
        d.unit_ids[u.id] = u.code
        for a in info.areas:
            covering[a].append(u.code)
        names += [(u.name, u.code)] + [(al, u.code) for al in info.aliases]
    d.unit_by_name = _unique(names)
    d.covering = dict(covering)
    return d


DIRECTORY_TTL_SECONDS = 30.0
_cache: PerDatabase[Directory] = PerDatabase(DIRECTORY_TTL_SECONDS)


def directory(session: Session) -> Directory:
    return _cache.get(session, build_directory)


def forget_directory() -> None:
    _cache.clear()
