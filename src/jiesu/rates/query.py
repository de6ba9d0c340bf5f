"""Turn what a person typed (codes, a period, a grouping) into a checked query.

The CLI and the API share this, so both refuse the same input with the same field name:
an unknown unit code is an error about ``unit``, a bad period one about ``period``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from jiesu.city.models import UNIT_KINDS
from jiesu.city.service import city_context, find_area, find_category, find_unit
from jiesu.errors import BadInput
from jiesu.rates.definitions import DEFAULTS, Definitions
from jiesu.rates.groups import GroupBy, check_by, check_level
from jiesu.rates.periods import FIRST_YEAR, LAST_YEAR, Period, parse_period
from jiesu.rates.population import RECORDED, Scope, ScoringHooks, Window


@dataclass(frozen=True)
class Query:
    period: Period
    window: Window
    scope: Scope
    defs: Definitions = DEFAULTS
    by: GroupBy = "unit"
    level: str | int | None = None
    hooks: ScoringHooks = RECORDED
    filters: dict[str, str | None] = field(default_factory=dict)

    def for_period(self, period: Period, session: Session) -> Query:
        """The same question about another period (the previous one, for changes)."""
        start, end = period.bounds(city_context(session).tz)
        window = Window(start, end, self.window.as_of)
        return Query(
            period, window, self.scope, self.defs, self.by, self.level, self.hooks, self.filters
        )


def check_kind(kind: str | None) -> str | None:
    if kind is not None and kind not in UNIT_KINDS:
        raise BadInput("kind", f"{kind!r} is not a unit kind; use one of {', '.join(UNIT_KINDS)}")
    return kind


def check_as_of(as_of: datetime) -> None:
    # Far-off instants are typos, and near the ends of the calendar periods cannot be formed.
    if not FIRST_YEAR <= as_of.year <= LAST_YEAR:
        raise BadInput("as_of", f"must be between {FIRST_YEAR} and {LAST_YEAR}")


def build_query(
    session: Session,
    *,
    as_of: datetime,
    period: str | None = None,
    by: str = "unit",
    level: str | None = None,
    kind: str | None = None,
    unit: str | None = None,
    area: str | None = None,
    category: str | None = None,
    defs: Definitions = DEFAULTS,
    hooks: ScoringHooks = RECORDED,
) -> Query:
    tz = city_context(session).tz
    check_as_of(as_of)
    p = parse_period(period, today=as_of.astimezone(tz).date())
    grouping = check_by(by)
    lvl = check_level(grouping, level)
    scope = Scope(
        unit_id=find_unit(session, unit).id if unit else None,
        unit_kind=check_kind(kind),
        area_path=find_area(session, area).path if area else None,
        category_path=find_category(session, category).path if category else None,
    )
    start, end = p.bounds(tz)
    filters = {"kind": kind, "unit": unit, "area": area, "category": category}
    return Query(p, Window(start, end, as_of), scope, defs, grouping, lvl, hooks, filters)
