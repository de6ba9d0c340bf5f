"""Group keys: which unit, area or category a request is counted under.

Areas and categories are trees; a request points at a leaf (a community, a third-level
category), and reports are read at one level (street offices, first-level categories).
A request placed above the chosen level (a whole district) is counted under its own node
rather than dropped, so totals always add up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import AREA_LEVELS, Area, Category, HandlingUnit
from jiesu.errors import BadInput

GroupBy = Literal["unit", "department", "area", "category"]
GROUP_BYS: tuple[str, ...] = get_args(GroupBy)
DEFAULT_AREA_LEVEL = "street"
DEFAULT_CATEGORY_LEVEL = 1
NONE_CODE = "-"


class Placed(Protocol):
    @property
    def unit_id(self) -> int | None: ...
    @property
    def area_id(self) -> int | None: ...
    @property
    def category_id(self) -> int | None: ...


@dataclass(frozen=True)
class Group:
    """What a report row is about."""

    code: str
    name: str
    kind: str  # a unit's kind, an area's level, "category level N"; "" for the none-group
    parent: str | None = None  # a unit's parent unit code, or the parent node's code


NO_GROUP = Group(NONE_CODE, "(none)", "")


def check_by(by: str) -> GroupBy:
    if by not in GROUP_BYS:
        raise BadInput("by", f"{by!r} is not a grouping; use one of {', '.join(GROUP_BYS)}")
    return by  # type: ignore[return-value]


def check_level(by: GroupBy, level: str | None) -> str | int | None:
    """The tree level to read areas or categories at; None for units."""
    if by == "area":
        value = level or DEFAULT_AREA_LEVEL
        if value not in AREA_LEVELS:
            raise BadInput("level", f"{value!r} is not an area level; use {', '.join(AREA_LEVELS)}")
        return value
    if by == "category":
        text = level or str(DEFAULT_CATEGORY_LEVEL)
        if text not in ("1", "2", "3"):
            raise BadInput("level", f"{text!r} is not a category level; use 1, 2 or 3")
        return int(text)
    if level:
        raise BadInput("level", "units have no levels; a level applies to area and category")
    return None


@dataclass
class Grouper:
    """Maps a request to its group id, and a group id to what it is."""

    key: Callable[[Placed], int | None]
    groups: dict[int, Group]

    def describe(self, key: int | None) -> Group:
        return NO_GROUP if key is None else self.groups[key]


def unit_groups(session: Session) -> dict[int, Group]:
    rows = session.execute(
        select(
            HandlingUnit.id,
            HandlingUnit.code,
            HandlingUnit.name,
            HandlingUnit.kind,
            HandlingUnit.parent_id,
        )
    ).all()
    codes = {r.id: r.code for r in rows}
    return {
        r.id: Group(r.code, r.name, r.kind, codes.get(r.parent_id) if r.parent_id else None)
        for r in rows
    }


@dataclass(frozen=True)
class Node:
    id: int
    code: str
    name: str
    level: str  # an area level, or a category level as text
    path: str  # codes from the root, "110000/110101/110101001/"

    @property
    def codes(self) -> list[str]:
        return [c for c in self.path.split("/") if c]


def tree_groups(nodes: list[Node], level: str) -> tuple[dict[int, int], dict[int, Group]]:
    """Each node's ancestor at ``level`` (itself when it has none there), and the groups."""
    by_code = {n.code: n for n in nodes}
    up: dict[int, int] = {}
    for n in nodes:
        ancestors = (by_code.get(c) for c in n.codes)
        up[n.id] = next((a.id for a in ancestors if a is not None and a.level == level), n.id)
    groups = {
        n.id: Group(n.code, n.name, n.level, n.codes[-2] if len(n.codes) > 1 else None)
        for n in nodes
    }
    return up, groups


def area_grouper(session: Session, level: str) -> Grouper:
    rows = session.execute(select(Area.id, Area.code, Area.name, Area.level, Area.path))
    up, groups = tree_groups([Node(*r) for r in rows], level)

    def key(p: Placed) -> int | None:
        return up.get(p.area_id) if p.area_id is not None else None

    return Grouper(key, groups)


def category_grouper(session: Session, level: int) -> Grouper:
    rows = session.execute(
        select(Category.id, Category.code, Category.name, Category.level, Category.path)
    )
    nodes = [Node(i, code, name, str(lvl), path) for i, code, name, lvl, path in rows]
    up, groups = tree_groups(nodes, str(level))
    for nid, g in groups.items():
        groups[nid] = Group(g.code, g.name, f"category level {g.kind}", g.parent)

    def key(p: Placed) -> int | None:
        return up.get(p.category_id) if p.category_id is not None else None

    return Grouper(key, groups)


def grouper(session: Session, by: GroupBy, level: str | int | None) -> Grouper:
    if by in ("unit", "department"):

        def unit_key(p: Placed) -> int | None:
            return p.unit_id

        return Grouper(unit_key, unit_groups(session))
    if by == "area":
        return area_grouper(session, str(level or DEFAULT_AREA_LEVEL))
    return category_grouper(session, int(level or DEFAULT_CATEGORY_LEVEL))
