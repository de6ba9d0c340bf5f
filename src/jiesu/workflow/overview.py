"""Live figures over the requests for the supervisors' overview: counts by state, requests per
street for the heat map, and the kinds of problem that are rising.

Every number is a count of rows as they are now; nothing is cached or estimated, so a number on
the page and the list behind it agree at the moment of asking.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category
from jiesu.workflow.access import placed_within
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.transitions import OPEN_STATUSES

OPEN = tuple(sorted(OPEN_STATUSES))
# Not a problem on the street: a duplicate (its original is counted) or a refused request.
NOT_ISSUES = ("merged", "invalid")
HEAT_DAYS = 30
HOT_DAYS = 7


def day_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Local midnight of today in the city, as an aware instant."""
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


@dataclass(frozen=True)
class LiveCounts:
    open: int
    received_today: int
    handling_overdue: int
    response_late: int
    returned: int
    awaiting_callback: int
    merged_today: int


def _count(s: Session, *where: ColumnElement[bool]) -> int:
    return s.scalar(select(func.count(ServiceRequest.id)).where(*where)) or 0


def live_counts(
    s: Session, *, now: datetime, tz: ZoneInfo, area_path: str | None = None
) -> LiveCounts:
    """The counts over the city, or over one area's requests when ``area_path`` is given."""
    R = ServiceRequest
    today = day_start(now, tz)
    is_open = R.status.in_(OPEN)
    inside = placed_within(area_path)
    return LiveCounts(
        open=_count(s, is_open, *inside),
        received_today=_count(s, R.received_at >= today, *inside),
        handling_overdue=_count(s, is_open, R.handling_overdue.is_(True), *inside),
        response_late=_count(s, is_open, R.response_overdue.is_(True), *inside),
        returned=_count(s, R.status == "returned", *inside),
        awaiting_callback=_count(s, R.status == "replied", *inside),
        merged_today=_count(s, R.status == "merged", R.closed_at >= today, *inside),
    )


@dataclass(frozen=True)
class StreetHeat:
    code: str
    name: str
    district: str
    lat: float | None
    lon: float | None
    count: int


def street_heat(
    s: Session, *, now: datetime, days: int = HEAT_DAYS, area_path: str | None = None
) -> list[StreetHeat]:
    """Requests still open or received in the last ``days`` days, per street (街道/乡镇);
    requests placed in a community or grid count for the street they lie in. Most first."""
    R = ServiceRequest
    since = now - timedelta(days=days)
    rows = s.execute(
        select(Area.path, func.count(R.id))
        .join(Area, Area.id == R.area_id)
        .where(R.status.not_in(NOT_ISSUES), (R.status.in_(OPEN)) | (R.received_at >= since))
        .where(*placed_within(area_path))
        .group_by(Area.path)
    ).all()
    streets = {a.code: a for a in s.scalars(select(Area).where(Area.level == "street"))}
    counts: Counter[str] = Counter()
    for path, n in rows:
        street = next((c for c in path.strip("/").split("/") if c in streets), None)
        if street is not None:
            counts[street] += n
    parents = {
        a.id: a.name
        for a in s.scalars(select(Area).where(Area.id.in_({a.parent_id for a in streets.values()})))
    }
    out = [
        StreetHeat(
            code,
            streets[code].name,
            parents.get(streets[code].parent_id or -1, ""),
            streets[code].lat,
            streets[code].lon,
            n,
        )
        for code, n in counts.items()
    ]
    return sorted(out, key=lambda h: (-h.count, h.code))


@dataclass(frozen=True)
class HotIssue:
    code: str
    name: str
    level: int
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous

    @property
    def change_share(self) -> float | None:
        """Growth against the week before; None when there was nothing to grow from."""
        return self.change / self.previous if self.previous else None


@dataclass(frozen=True)
class HotIssues:
    since: datetime
    first_level: list[HotIssue]
    leaves: list[HotIssue]


def hot_issues(
    s: Session, *, now: datetime, days: int = HOT_DAYS, top: int = 10, area_path: str | None = None
) -> HotIssues:
    """Categories with the most requests in the last ``days`` days against the ``days`` before:
    at the first level (e.g. 城乡建设) and at the leaves (e.g. 噪音扰民). Every request counts,
    a merged duplicate too: each is one more person calling about the issue."""
    R = ServiceRequest
    start, mid = now - timedelta(days=2 * days), now - timedelta(days=days)
    # Two windows, two grouped queries: a comparison inside GROUP BY is not portable.
    windows = [
        s.execute(
            select(R.category_id, func.count(R.id))
            .where(R.received_at >= a, R.received_at < b, R.category_id.is_not(None))
            .where(R.status != "invalid", *placed_within(area_path))
            .group_by(R.category_id)
        ).all()
        for a, b in ((mid, now), (start, mid))
    ]
    cats = {c.id: c for c in s.scalars(select(Category))}
    by_code = {c.code: c for c in cats.values()}
    parents = {c.parent_id for c in cats.values() if c.parent_id is not None}
    first: dict[str, list[int]] = {}
    leaf: dict[str, list[int]] = {}
    for slot, rows in enumerate(windows):
        for cat_id, n in rows:
            if cat_id is None:
                continue
            c = cats[cat_id]
            first.setdefault(c.path.strip("/").split("/")[0], [0, 0])[slot] += n
            if c.id not in parents:
                leaf.setdefault(c.code, [0, 0])[slot] += n

    def ranked(found: dict[str, list[int]]) -> list[HotIssue]:
        issues = [
            HotIssue(code, by_code[code].name, by_code[code].level, cur, prev)
            for code, (cur, prev) in found.items()
            if code in by_code
        ]
        issues.sort(key=lambda i: (-i.current, -i.change, i.code))
        return issues[:top]

    return HotIssues(since=mid, first_level=ranked(first), leaves=ranked(leaf))
